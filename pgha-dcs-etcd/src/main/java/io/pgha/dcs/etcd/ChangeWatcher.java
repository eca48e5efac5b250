package io.pgha.dcs.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.spi.Change;
import io.pgha.dcs.spi.ChangeListener;
import java.io.Closeable;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One etcd watch on the cluster prefix, reporting every event to a {@link ChangeListener} (which
 * decides what is news: see {@code io.pgha.dcs.spi.PatroniDcs#awaitChange}).
 *
 * <p>Keeping the watch alive: jetcd resumes a watch by itself after a transient stream error, but
 * ends it for good when etcd cancels it, notably after a compaction of the revision it wanted to
 * resume from (jetcd #951), and a watch is tied to a client that {@link EtcdConnection} may
 * replace. A maintenance task on this class's own thread (never a jetcd callback thread, which may
 * be an event loop) checks every second and re-creates the watch: from the next revision it
 * expected when nothing can have been missed, otherwise from the current revision, telling the
 * listener that events may have been lost so that the HA loop re-reads.
 *
 * <p>Thread-safe: jetcd's threads report events, the maintenance thread re-creates the watch, and
 * {@link #close()} may come from any thread.
 */
final class ChangeWatcher implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(ChangeWatcher.class);

    private final EtcdConnection connection;
    private final ByteSequence prefix;
    private final ChangeListener listener;
    private final ScheduledExecutorService maintenance;

    // maintenance-thread state
    private volatile Watch.Watcher watcher;
    private long watcherGeneration;
    private volatile long nextRevision;
    private volatile boolean mustRestart;
    private volatile boolean eventsMayBeLost;
    private volatile boolean closed;
    private volatile long restarts;

    ChangeWatcher(EtcdConnection connection, ByteSequence prefix, ChangeListener listener, String threadName) {
        this.connection = connection;
        this.prefix = prefix;
        this.listener = listener;
        this.maintenance = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts watching now, and checks the watch every second from then on. */
    void start() {
        maintenance.scheduleWithFixedDelay(this::maintain, 0, 1, TimeUnit.SECONDS);
    }

    /** A listener like the one the watch feeds; for tests that replay watch events. */
    Watch.Listener newListener() {
        return new Listener();
    }

    /** How many times the watch was re-created (for tests and logs). */
    long restarts() {
        return restarts;
    }

    /** Test hook: re-creates the watch from the given revision (e.g. a compacted one). */
    void restartFrom(long revision) {
        nextRevision = revision;
        mustRestart = true;
        maintenance.execute(this::maintain);
    }

    @Override
    public void close() {
        closed = true;
        maintenance.shutdownNow();
        Watch.Watcher w = watcher;
        if (w != null) {
            try {
                w.close();
            } catch (RuntimeException e) {
                LOG.debug("closing the etcd watch failed", e);
            }
        }
    }

    private void maintain() {
        if (closed) {
            return;
        }
        try {
            boolean stale = watcher == null
                    || watcher.isClosed()
                    || mustRestart
                    || connection.generation() != watcherGeneration;
            if (!stale) {
                return;
            }
            Client client = connection.client();
            long generation = connection.generation();
            if (watcher != null) {
                watcher.close();
                restarts++;
            }
            mustRestart = false;
            boolean lost = eventsMayBeLost;
            eventsMayBeLost = false;
            long from = lost ? 0 : nextRevision;
            // requireLeader: an etcd member cut off from its quorum cancels the watch instead of keeping it
            // silently open, so that it is re-created, on another endpoint if there is one
            WatchOption.Builder option =
                    WatchOption.builder().isPrefix(true).withPrevKV(false).withRequireLeader(true);
            if (from > 0) {
                option.withRevision(from);
            }
            watcher = client.getWatchClient().watch(prefix, option.build(), new Listener());
            watcherGeneration = generation;
            LOG.debug("watching {} from revision {}", prefix, from > 0 ? from : "now");
            if (lost || restarts > 0 && from == 0) {
                // events between the old watch and the new one are unknown: let the loop re-read
                listener.eventsMayBeLost();
            }
        } catch (DcsException | RuntimeException e) {
            LOG.debug("cannot (re-)create the etcd watch on {}: {}", prefix, e.getMessage());
        }
    }

    private void schedule() {
        if (closed) {
            return;
        }
        try {
            maintenance.schedule(this::maintain, 200, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    /** What an event did; a put is a creation when the key's create revision is the event's own. */
    private static Change.Kind kind(WatchEvent e) {
        if (e.getEventType() == WatchEvent.EventType.DELETE) {
            return Change.Kind.DELETED;
        }
        KeyValue kv = e.getKeyValue();
        return kv.getCreateRevision() == kv.getModRevision() ? Change.Kind.CREATED : Change.Kind.UPDATED;
    }

    private static String value(WatchEvent e) {
        return e.getEventType() == WatchEvent.EventType.DELETE
                ? null
                : EtcdStore.text(e.getKeyValue().getValue());
    }

    /** Runs on jetcd's threads: hands each event on, never blocks beyond the listener's short lock. */
    private final class Listener implements Watch.Listener {
        @Override
        public void onNext(WatchResponse response) {
            for (WatchEvent e : response.getEvents()) {
                KeyValue kv = e.getKeyValue();
                long revision = kv.getModRevision();
                nextRevision = Math.max(nextRevision, revision + 1);
                listener.changed(new Change(EtcdStore.text(kv.getKey()), kind(e), value(e), revision));
            }
        }

        @Override
        public void onError(Throwable t) {
            if (t instanceof CompactedException c) {
                LOG.info(
                        "etcd watch on {} cancelled by compaction at revision {}: re-watching from now",
                        prefix,
                        c.getCompactedRevision());
                eventsMayBeLost = true;
                mustRestart = true;
                schedule();
            } else {
                LOG.debug("etcd watch on {}: {}", prefix, t.getMessage());
            }
        }

        @Override
        public void onCompleted() {
            // jetcd ended the watch (cancelled by etcd, or closed): re-create it unless we are closing
            if (!closed) {
                schedule();
            }
        }
    }
}
