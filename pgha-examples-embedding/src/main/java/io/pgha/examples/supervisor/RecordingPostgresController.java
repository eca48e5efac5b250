package io.pgha.examples.supervisor;

import io.pgha.dcs.Member;
import io.pgha.postgres.PostgresController;
import io.pgha.postgres.PostgresException;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.SlotChanges;
import io.pgha.postgres.StopMode;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link PostgresController} decorator that records every action the HA loop takes on
 * PostgreSQL — the seam a custom supervisor uses to audit, veto or extend what pgha does (for
 * example: notify an orchestrator before a promote, or refuse to remove a data directory).
 * Status reads are passed through unrecorded. Thread-safe.
 */
public final class RecordingPostgresController implements PostgresController {
    private static final Logger LOG = LoggerFactory.getLogger(RecordingPostgresController.class);

    /** One action: when it started, what it was, and whether it succeeded. */
    public record Entry(Instant at, String action, boolean ok) {}

    private final PostgresController delegate;
    private final List<Entry> entries = new CopyOnWriteArrayList<>();

    public RecordingPostgresController(PostgresController delegate) {
        this.delegate = delegate;
    }

    /** The actions so far, oldest first. */
    public List<Entry> entries() {
        return List.copyOf(entries);
    }

    /** The action names so far, oldest first. */
    public List<String> actions() {
        return entries.stream().map(Entry::action).toList();
    }

    @FunctionalInterface
    private interface Call<T> {
        T run() throws PostgresException;
    }

    private <T> T record(String action, Call<T> call) throws PostgresException {
        Instant at = Instant.now();
        try {
            T result = call.run();
            entries.add(new Entry(at, action, true));
            LOG.info("postgres action: {}", action);
            return result;
        } catch (PostgresException | RuntimeException e) {
            entries.add(new Entry(at, action, false));
            LOG.warn("postgres action failed: {}: {}", action, e.getMessage());
            throw e;
        }
    }

    @Override
    public PostgresStatus status() {
        return delegate.status();
    }

    @Override
    public boolean isDataDirectoryEmpty() {
        return delegate.isDataDirectoryEmpty();
    }

    @Override
    public String bootstrap() throws PostgresException {
        return record("bootstrap", delegate::bootstrap);
    }

    @Override
    public void cloneFrom(Member source) throws PostgresException {
        record(source == null ? "clone without a leader" : "clone from " + source.name(), () -> {
            delegate.cloneFrom(source);
            return null;
        });
    }

    @Override
    public boolean canCreateReplicaWithoutLeader() {
        return delegate.canCreateReplicaWithoutLeader();
    }

    @Override
    public void startStandby(Duration timeout) throws PostgresException {
        record("start as standby with no upstream", () -> {
            delegate.startStandby(timeout);
            return null;
        });
    }

    @Override
    public void start(Member leader, Duration timeout) throws PostgresException {
        record(leader == null ? "start as primary" : "start as replica of " + leader.name(), () -> {
            delegate.start(leader, timeout);
            return null;
        });
    }

    @Override
    public void stop(StopMode mode, boolean checkpointFirst, Duration timeout) throws PostgresException {
        record("stop " + mode.name().toLowerCase(java.util.Locale.ROOT), () -> {
            delegate.stop(mode, checkpointFirst, timeout);
            return null;
        });
    }

    @Override
    public void promote(Duration timeout) throws PostgresException {
        record("promote", () -> {
            delegate.promote(timeout);
            return null;
        });
    }

    @Override
    public void follow(Member leader, Duration timeout) throws PostgresException {
        record(leader == null ? "follow nobody (nostream)" : "follow " + leader.name(), () -> {
            delegate.follow(leader, timeout);
            return null;
        });
    }

    @Override
    public boolean rewind(Member leader) throws PostgresException {
        return record("rewind from " + leader.name(), () -> delegate.rewind(leader));
    }

    @Override
    public boolean needsRewind(Member leader) throws PostgresException {
        return delegate.needsRewind(leader);
    }

    @Override
    public void removeDataDirectory() throws PostgresException {
        record("remove data directory", () -> {
            delegate.removeDataDirectory();
            return null;
        });
    }

    @Override
    public void restart(Duration timeout) throws PostgresException {
        record("restart", () -> {
            delegate.restart(timeout);
            return null;
        });
    }

    @Override
    public void reload() throws PostgresException {
        record("reload", () -> {
            delegate.reload();
            return null;
        });
    }

    @Override
    public void setSynchronousStandbyNames(String value) throws PostgresException {
        record("synchronous_standby_names = '" + value + "'", () -> {
            delegate.setSynchronousStandbyNames(value);
            return null;
        });
    }

    @Override
    public void changeReplicationSlots(SlotChanges changes) throws PostgresException {
        // runs every cycle: pass through without recording
        delegate.changeReplicationSlots(changes);
    }

    @Override
    public void copyLogicalSlots(Member leader, Map<String, SlotChanges.NewSlot> wanted, Duration timeout)
            throws PostgresException {
        record("copy logical slots " + wanted.keySet() + " from " + leader.name(), () -> {
            delegate.copyLogicalSlots(leader, wanted, timeout);
            return null;
        });
    }

    @Override
    public void close() {
        delegate.close();
    }
}
