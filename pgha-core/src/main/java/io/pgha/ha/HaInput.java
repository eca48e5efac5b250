package io.pgha.ha;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.postgres.PostgresStatus;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * Everything the engine decides on, gathered by the node at the start of a cycle. Immutable; build
 * with {@link #builder(String)}.
 *
 * @param name this member
 * @param tags this member's tags
 * @param cluster the DCS snapshot, null when the DCS could not be read
 * @param dcsError why the DCS could not be read (null when it could)
 * @param postgres the local PostgreSQL status
 * @param dataDirectoryEmpty no data directory yet (bootstrap or clone needed)
 * @param config the dynamic configuration in force
 * @param now the time of the decision
 * @param lockValidUntil until when the lock we hold is proven ours (null: we hold none)
 * @param actionInProgress the long action still running (null: none)
 * @param peers other members' GET /patroni answers (asked for only when the cluster has no leader)
 * @param following the member the local replica was last pointed at (null: none)
 * @param primaryDownSince when PostgreSQL was first seen down while this node held the lock
 * @param lockRenewFailed a renewal in this cycle was refused: the lock is lost
 * @param reinitializeRequested an operator asked to re-create this replica
 * @param restartRequested an operator asked for a restart that is due now
 * @param failsafeConfirmed failsafe mode: the DCS is unreachable and every other member of the
 *     {@code failsafe} key agreed in this cycle that this primary goes on
 * @param failsafeLeaderUntil failsafe mode: until when this replica promised the primary that
 *     called it not to race for the lock (null: no promise)
 * @param syncReadyLsn the local primary's WAL position when its {@code synchronous_standby_names} was
 *     first seen with its current value (0: unknown): a standby newly listed there counts as
 *     synchronous only once it has flushed this far, so it holds every commit acknowledged before
 * @param watchdogFailed the fence's watchdog is required but not usable ({@link Fence#isHealthy}):
 *     this node must not take the lock or promote
 */
public record HaInput(
        String name,
        Map<String, Object> tags,
        ClusterState cluster,
        String dcsError,
        PostgresStatus postgres,
        boolean dataDirectoryEmpty,
        DynamicConfig config,
        Instant now,
        Instant lockValidUntil,
        String actionInProgress,
        Map<String, PeerStatus> peers,
        String following,
        Instant primaryDownSince,
        boolean lockRenewFailed,
        boolean reinitializeRequested,
        boolean restartRequested,
        boolean failsafeConfirmed,
        Instant failsafeLeaderUntil,
        long syncReadyLsn,
        boolean watchdogFailed) {

    public HaInput {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(postgres, "postgres");
        Objects.requireNonNull(now, "now");
        tags = tags == null ? Map.of() : Map.copyOf(tags);
        peers = peers == null ? Map.of() : Map.copyOf(peers);
        config = config == null ? DynamicConfig.DEFAULTS : config;
    }

    public static Builder builder(String name) {
        return new Builder(name);
    }

    public Builder toBuilder() {
        Builder b = new Builder(name);
        b.tags = tags;
        b.cluster = cluster;
        b.dcsError = dcsError;
        b.postgres = postgres;
        b.dataDirectoryEmpty = dataDirectoryEmpty;
        b.config = config;
        b.now = now;
        b.lockValidUntil = lockValidUntil;
        b.actionInProgress = actionInProgress;
        b.peers = peers;
        b.following = following;
        b.primaryDownSince = primaryDownSince;
        b.lockRenewFailed = lockRenewFailed;
        b.reinitializeRequested = reinitializeRequested;
        b.restartRequested = restartRequested;
        b.failsafeConfirmed = failsafeConfirmed;
        b.failsafeLeaderUntil = failsafeLeaderUntil;
        b.syncReadyLsn = syncReadyLsn;
        b.watchdogFailed = watchdogFailed;
        return b;
    }

    /** Builder with neutral defaults. Not thread-safe. */
    public static final class Builder {
        private final String name;
        private Map<String, Object> tags = Map.of();
        private ClusterState cluster;
        private String dcsError;
        private PostgresStatus postgres;
        private boolean dataDirectoryEmpty;
        private DynamicConfig config = DynamicConfig.DEFAULTS;
        private Instant now = Instant.EPOCH;
        private Instant lockValidUntil;
        private String actionInProgress;
        private Map<String, PeerStatus> peers = Map.of();
        private String following;
        private Instant primaryDownSince;
        private boolean lockRenewFailed;
        private boolean reinitializeRequested;
        private boolean restartRequested;
        private boolean failsafeConfirmed;
        private Instant failsafeLeaderUntil;
        private long syncReadyLsn;
        private boolean watchdogFailed;

        private Builder(String name) {
            this.name = name;
        }

        public Builder tags(Map<String, Object> v) {
            tags = v;
            return this;
        }

        public Builder cluster(ClusterState v) {
            cluster = v;
            return this;
        }

        public Builder dcsError(String v) {
            dcsError = v;
            return this;
        }

        public Builder postgres(PostgresStatus v) {
            postgres = v;
            return this;
        }

        public Builder dataDirectoryEmpty(boolean v) {
            dataDirectoryEmpty = v;
            return this;
        }

        public Builder config(DynamicConfig v) {
            config = v;
            return this;
        }

        public Builder now(Instant v) {
            now = v;
            return this;
        }

        public Builder lockValidUntil(Instant v) {
            lockValidUntil = v;
            return this;
        }

        public Builder actionInProgress(String v) {
            actionInProgress = v;
            return this;
        }

        public Builder peers(Map<String, PeerStatus> v) {
            peers = v;
            return this;
        }

        public Builder following(String v) {
            following = v;
            return this;
        }

        public Builder primaryDownSince(Instant v) {
            primaryDownSince = v;
            return this;
        }

        public Builder lockRenewFailed(boolean v) {
            lockRenewFailed = v;
            return this;
        }

        public Builder reinitializeRequested(boolean v) {
            reinitializeRequested = v;
            return this;
        }

        public Builder restartRequested(boolean v) {
            restartRequested = v;
            return this;
        }

        public Builder failsafeConfirmed(boolean v) {
            failsafeConfirmed = v;
            return this;
        }

        public Builder failsafeLeaderUntil(Instant v) {
            failsafeLeaderUntil = v;
            return this;
        }

        public Builder syncReadyLsn(long v) {
            syncReadyLsn = v;
            return this;
        }

        public Builder watchdogFailed(boolean v) {
            watchdogFailed = v;
            return this;
        }

        public HaInput build() {
            return new HaInput(
                    name,
                    tags,
                    cluster,
                    dcsError,
                    postgres,
                    dataDirectoryEmpty,
                    config,
                    now,
                    lockValidUntil,
                    actionInProgress,
                    peers,
                    following,
                    primaryDownSince,
                    lockRenewFailed,
                    reinitializeRequested,
                    restartRequested,
                    failsafeConfirmed,
                    failsafeLeaderUntil,
                    syncReadyLsn,
                    watchdogFailed);
        }
    }
}
