package io.pgha.ha;

import io.pgha.config.DynamicConfig;
import io.pgha.config.NodeConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.Member;
import io.pgha.postgres.PostgresController;
import io.pgha.postgres.PostgresStatus;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gathers a cycle's input: the DCS snapshot, the dynamic configuration it carries (applied to the
 * DCS session's ttl), the local PostgreSQL status, and what the node remembers from cycle to cycle
 * (when a primary went down under our lock, the last failsafe key, when the local primary's
 * synchronous standby list changed, a failsafe primary's last call, the last other member seen
 * leading). It decides nothing.
 *
 * <p>Threading: {@link #read} runs on the loop thread, which alone owns the remembered fields;
 * {@link #dynamicConfig}, {@link #dcsLastSeen} and {@link #watchdogFailed} are read from any thread;
 * {@link #failsafeCalled} is called by REST API threads.
 */
final class CycleInputs {
    private static final Logger LOG = LoggerFactory.getLogger(CycleInputs.class);

    private final NodeConfig config;
    private final java.util.function.Supplier<Map<String, Object>> tags;
    private final Dcs dcs;
    private final PostgresController postgres;
    private final Clock clock;
    private final Lease lease;
    private final LeaderWatch leaderWatch;

    private volatile DynamicConfig dynamicConfig;
    private volatile DynamicConfig memberConfig;
    private volatile Instant dcsLastSeen;
    /**
     * Failsafe mode: until when this member promised a primary cut off from the DCS not to race for
     * the lock (its last POST /failsafe plus the ttl); kept in {@link #promise} so that a restarted
     * agent keeps it too.
     */
    private volatile Instant failsafePromisedUntil;

    private final FailsafePromise promise;

    /** The slot positions the primary cut off from the DCS last sent with its POST /failsafe. */
    private volatile Map<String, Long> failsafeSlots = Map.of();

    private volatile boolean watchdogFailed;
    // loop thread only
    private Instant primaryDownSince;
    /** Since when the cluster has been seen without a leader key (primary_race_backoff); null: it has one. */
    private Instant unlockedSince;
    /** The local PostgreSQL's last LSN as the previous cycle read it; -1: unknown. */
    private long lastLsnSeen = -1;

    private Duration appliedTtl;
    private Duration appliedRetryTimeout;
    private Map<String, String> lastFailsafeKey;
    private String syncNamesSeen;
    private long syncReadyLsn;
    private Map<String, Object> configSeen;
    /**
     * The last other member seen leading the cluster, kept after its key lapsed: the former primary a
     * promotion fences first ({@link HaInput#formerLeader}).
     */
    private Member formerLeader;
    /** When each member slot name was last seen (loop thread only): {@link HaInput#memberSlotsSeen}. */
    private final Map<String, Instant> memberSlotsSeen = new java.util.HashMap<>();

    /** "key=value" of each rejected DCS config value already logged, while it stays there. */
    private final Set<String> rejectedLogged = new HashSet<>();

    private volatile int rejectedLogCount;

    /** @param tags this member's tags now (a reload of the node's file may change them) */
    CycleInputs(
            NodeConfig config,
            java.util.function.Supplier<Map<String, Object>> tags,
            Dcs dcs,
            PostgresController postgres,
            Clock clock,
            Lease lease,
            LeaderWatch leaderWatch,
            FailsafePromise promise) {
        this.leaderWatch = leaderWatch;
        this.promise = promise;
        this.failsafePromisedUntil = promise.load();
        if (failsafePromisedUntil != null && clock.instant().isBefore(failsafePromisedUntil)) {
            LOG.warn(
                    "[{}] failsafe mode: keeping the promise made before this start not to race for the lock"
                            + " until {} ({})",
                    config.name(),
                    failsafePromisedUntil,
                    promise);
        }
        this.tags = tags;
        this.config = config;
        this.dcs = dcs;
        this.postgres = postgres;
        this.clock = clock;
        this.lease = lease;
        this.dynamicConfig = config.initialDynamicConfig();
        this.configSeen = dynamicConfig.raw();
    }

    /** The dynamic configuration in force (the DCS's, else the bootstrap one). */
    DynamicConfig dynamicConfig() {
        return dynamicConfig;
    }

    /** How many rejected values of the DCS's config key were logged. */
    int rejectedConfigValuesLogged() {
        return rejectedLogCount;
    }

    /** When the DCS last answered a read (null: never). */
    Instant dcsLastSeen() {
        return dcsLastSeen;
    }

    /** The fence's watchdog is required but not usable, as of the last cycle. */
    boolean watchdogFailed() {
        return watchdogFailed;
    }

    /**
     * The leader is about to write the {@code failsafe} key: until the write is confirmed the DCS may
     * hold either value (an answer lost on the way back), so a primary cut off from the DCS must
     * reach the members of both (Patroni keeps the value it wrote, {@code _last_failsafe}).
     */
    void failsafeKeyWriting(Map<String, String> written) {
        if (written != null) {
            Map<String, String> either = new java.util.LinkedHashMap<>(written);
            if (lastFailsafeKey != null) {
                either.putAll(lastFailsafeKey);
            }
            lastFailsafeKey = either;
        }
    }

    /** The {@code failsafe} key write succeeded: the DCS holds {@code written} (null: deleted). */
    void failsafeKeyWritten(Map<String, String> written) {
        lastFailsafeKey = written;
    }

    /**
     * Failsafe mode: a primary cut off from the DCS called this member (a REST API thread), which
     * promises not to race for the lock for a ttl. The promise is saved before the call is answered,
     * so that an agent restarted meanwhile keeps it; if it cannot be saved it is kept in memory and
     * the failure logged.
     */
    void failsafeCalled() {
        failsafeCalled(Map.of());
    }

    /** As {@link #failsafeCalled()}, with the slot positions the primary sent (Patroni's {@code slots}). */
    void failsafeCalled(Map<String, Long> slots) {
        DynamicConfig cfg = dynamicConfig;
        if (cfg.isFailsafeMode()) {
            failsafeSlots = Map.copyOf(slots);
            Instant until = clock.instant().plus(cfg.ttl());
            failsafePromisedUntil = until;
            try {
                promise.save(until);
            } catch (java.io.IOException | RuntimeException e) {
                LOG.warn("[{}] could not save the failsafe promise in {}: {}", config.name(), promise, e.toString());
            }
        }
    }

    /**
     * Failsafe mode, on a member that is not the primary: whether a primary cut off from the DCS
     * called it within the last ttl (Patroni's {@code failsafe_is_active} on a replica).
     */
    boolean failsafeCalledWithinTtl(Instant now, PostgresStatus pg) {
        Instant until = failsafePromisedUntil;
        return until != null && dynamicConfig.isFailsafeMode() && !pg.isPrimary() && now.isBefore(until);
    }

    /**
     * Reads the cycle's input. The peers are not asked here: the engine asks for them ({@link
     * Action.ProbePeers}) when its decision depends on them.
     *
     * @param now the cycle's time
     * @param inProgress the long action still running, or null
     * @param lockRenewFailed a renewal in this cycle was refused
     */
    HaInput.Builder read(Instant now, String inProgress, boolean lockRenewFailed) {
        ClusterState cluster = null;
        String dcsError = null;
        try {
            cluster = dcs.read();
            dcsLastSeen = clock.instant();
            for (String problem : cluster.problems()) {
                LOG.warn("malformed value in the DCS, ignored: {}", problem);
            }
        } catch (DcsException e) {
            dcsError = e.getMessage();
        }
        if (cluster != null) {
            applyConfig(cluster);
            lastFailsafeKey = cluster.failsafe();
            if (!cluster.isLeader(config.name())) {
                lease.lost();
            }
        }
        DynamicConfig cfg = dynamicConfig;
        PostgresStatus pg = postgres.status();
        boolean empty = postgres.isDataDirectoryEmpty();
        if (cluster != null && cluster.isLeader(config.name()) && !pg.isRunning() && inProgress == null) {
            if (primaryDownSince == null) {
                primaryDownSince = now;
            }
        } else if (pg.isRunning()) {
            primaryDownSince = null;
        }
        if (cluster != null && !cluster.hasLeader()) {
            if (unlockedSince == null) {
                unlockedSince = now;
            }
        } else if (cluster != null) {
            unlockedSince = null;
        }
        long previousLsn = lastLsnSeen;
        lastLsnSeen = pg.isRunning() ? pg.lastLsn() : -1;
        Instant until = failsafePromisedUntil;
        Instant failsafeLeaderUntil = until != null && cfg.isFailsafeMode() && !pg.isPrimary() ? until : null;
        trackSynchronousStandbyNames(pg);
        trackFormerLeader(cluster, pg);
        watchdogFailed = !lease.fenceHealthy(cfg);
        leaderWatch.watch(cluster, pg, cfg);
        return HaInput.builder(config.name())
                .tags(tags.get())
                .cluster(cluster)
                .dcsError(dcsError)
                .postgres(pg)
                .dataDirectoryEmpty(empty)
                .canCloneWithoutLeader(empty && postgres.canCreateReplicaWithoutLeader())
                .config(cfg)
                .memberConfig(memberConfig)
                .now(now)
                .lockValidUntil(lease.validUntil())
                .actionInProgress(inProgress)
                .peersAsked(false)
                .primaryDownSince(primaryDownSince)
                .lockRenewFailed(lockRenewFailed)
                .lastFailsafeKey(lastFailsafeKey)
                .failsafeLeaderUntil(failsafeLeaderUntil)
                .syncReadyLsn(syncReadyLsn)
                .watchdogFailed(watchdogFailed)
                .leaderGone(leaderWatch.suspicion())
                .formerLeader(formerLeader)
                .unlockedSince(cluster == null ? null : unlockedSince)
                .previousLsn(previousLsn)
                .memberSlotsSeen(trackMemberSlots(cluster, now, cfg))
                .failsafeSlots(failsafeLeaderUntil == null ? Map.of() : failsafeSlots);
    }

    /**
     * Builds a new DynamicConfig only when the stored one changed (building it warns about bad
     * timings). A value of the wrong type or out of range is logged once per key and value, and the
     * key keeps its last good value.
     */
    private void applyConfig(ClusterState cluster) {
        if (cluster.config() != null && !cluster.config().data().equals(configSeen)) {
            configSeen = cluster.config().data();
            DynamicConfig previous = dynamicConfig;
            Set<String> rejectedNow = new HashSet<>();
            dynamicConfig = DynamicConfig.from(configSeen, previous, p -> {
                String id = p.key() + "=" + p.value();
                rejectedNow.add(id);
                if (rejectedLogged.add(id)) {
                    rejectedLogCount++;
                    Object kept = previous.valueAt(p.path());
                    LOG.warn(
                            "[{}] the DCS config key holds a bad value, ignored: {}; keeping {}",
                            config.name(),
                            p.message(),
                            kept == null ? "the default" : kept);
                }
            });
            rejectedLogged.retainAll(rejectedNow);
            memberConfig = null;
            LOG.info("[{}] dynamic configuration in force: {}", config.name(), dynamicConfig);
        }
        if (memberConfig == null) {
            memberConfig = config.withLocalOverrides(dynamicConfig);
        }
        Duration retryTimeout = dynamicConfig.retryTimeout();
        if (!retryTimeout.equals(appliedRetryTimeout)) {
            // Patroni applies a changed retry_timeout to its DCS client at once; so does pgha
            dcs.setRetryTimeout(retryTimeout);
            appliedRetryTimeout = retryTimeout;
        }
        Duration ttl = dynamicConfig.ttl();
        if (!ttl.equals(appliedTtl)) {
            try {
                dcs.setTtl(ttl);
                appliedTtl = ttl;
            } catch (DcsException e) {
                LOG.warn("could not apply ttl {} to the DCS session: {}", ttl, e.getMessage());
            }
        }
    }

    /**
     * Remembers the record of the leader while another member leads (with the address of its
     * PostgreSQL), and keeps it once the leader key is gone, so that a promotion after its lock
     * lapsed knows whom to fence; forgets it once this node leads as a primary itself.
     */
    private void trackFormerLeader(ClusterState cluster, PostgresStatus pg) {
        if (cluster == null || !cluster.hasLeader()) {
            return;
        }
        if (cluster.isLeader(config.name())) {
            if (pg.isPrimary() && pg.isRunning()) {
                formerLeader = null;
            }
            return;
        }
        cluster.leaderMember().filter(m -> m.connUrl() != null).ifPresent(m -> formerLeader = m);
    }

    /**
     * Remembers when each member slot name was last seen: a member of that name in the DCS, or the
     * name in the leader's {@code status.retain_slots} (first sight only, as Patroni resets the
     * retention of those names when it takes the lock). Names older than twice member_slots_ttl are
     * forgotten, only to bound the memory: the engine decides what is retained.
     */
    private Map<String, Instant> trackMemberSlots(ClusterState cluster, Instant now, DynamicConfig cfg) {
        if (cluster != null) {
            for (Member m : cluster.members()) {
                if (!io.pgha.dcs.Tags.isTrue(m.tags().get(io.pgha.dcs.Tags.NOSTREAM))) {
                    memberSlotsSeen.put(io.pgha.postgres.SlotNames.fromMemberName(m.name()), now);
                }
            }
            if (cluster.status() != null) {
                cluster.status().retainSlots().forEach(n -> memberSlotsSeen.putIfAbsent(n, now));
            }
        }
        Instant forget = now.minus(cfg.memberSlotsTtl().multipliedBy(2));
        memberSlotsSeen.values().removeIf(t -> t.isBefore(forget));
        return memberSlotsSeen;
    }

    /**
     * Remembers the local primary's WAL position when its synchronous_standby_names changed: every
     * commit acknowledged under the former value is at or below it ({@link HaInput#syncReadyLsn}).
     */
    private void trackSynchronousStandbyNames(PostgresStatus pg) {
        if (pg.isPrimary() && pg.isRunning() && !Objects.equals(pg.synchronousStandbyNames(), syncNamesSeen)) {
            syncNamesSeen = pg.synchronousStandbyNames();
            syncReadyLsn = pg.writeLsn();
        } else if (!pg.isPrimary()) {
            syncNamesSeen = null;
            syncReadyLsn = 0;
        }
    }
}
