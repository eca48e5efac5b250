package io.pgha.ha;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Member;
import io.pgha.postgres.PostgresStatus;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * Everything the engine decides on, gathered by the node at the start of a cycle (and completed by
 * the answers to the engine's {@link Action.Inquiry inquiries}). Immutable; build with {@link
 * #builder(String)}.
 *
 * @param name this member
 * @param tags this member's tags
 * @param cluster the DCS snapshot, null when the DCS could not be read
 * @param dcsError why the DCS could not be read (null when it could)
 * @param postgres the local PostgreSQL status
 * @param dataDirectoryEmpty no data directory yet (bootstrap or clone needed)
 * @param canCloneWithoutLeader a replica can be created with no member to copy from (Patroni's
 *     {@code no_leader} replica methods)
 * @param config the dynamic configuration in force
 * @param memberConfig the dynamic configuration with this member's own {@code postgresql} settings laid
 *     over it (use_pg_rewind and the remove_data_directory switches are read from it); null: as
 *     {@code config}
 * @param now the time of the decision
 * @param lockValidUntil until when the lock we hold is proven ours (null: we hold none)
 * @param actionInProgress the long action still running (null: none)
 * @param peers other members' {@code GET /patroni} answers, by name (members that did not answer are
 *     missing); meaningful only when {@code peersAsked}
 * @param peersAsked the node asked the peers in this cycle ({@link Action.ProbePeers}); when false and the
 *     decision depends on them, the engine asks for them first. A builder's input has them asked
 *     (nobody answered) unless told otherwise
 * @param following the member the local replica was last pointed at (null: none)
 * @param primaryDownSince when PostgreSQL was first seen down while this node held the lock
 * @param lockRenewFailed a renewal in this cycle was refused: the lock is lost
 * @param reinitializeRequested an operator asked to re-create this replica
 * @param restartRequested an operator asked for a restart that is due now
 * @param failsafeRound failsafe mode, the DCS unreachable: whether this primary called the members of the
 *     last {@code failsafe} key in this cycle ({@link Action.CallFailsafe}) and whether all agreed
 * @param lastFailsafeKey the {@code failsafe} key as last read from the DCS (null: none read): whom a primary
 *     cut off from the DCS must reach
 * @param failsafeLeaderUntil failsafe mode: until when this replica promised the primary that
 *     called it not to race for the lock (null: no promise)
 * @param syncReadyLsn the local primary's WAL position when its {@code synchronous_standby_names} was
 *     first seen with its current value (0: unknown): a standby newly listed there counts as
 *     synchronous only once it has flushed this far, so it holds every commit acknowledged before
 * @param watchdogFailed the fence's watchdog is required but not usable ({@link Fence#isHealthy}):
 *     this node must not take the lock or promote
 * @param divergence the result of this cycle's divergence check against a leader
 *     ({@link Action.CheckDivergence}); null: not checked
 * @param leaderGone a leader whose REST API and PostgreSQL ports refused connections from a live host
 *     ({@link LeaderWatch}): suspected between cycles, {@code confirmed} once re-checked in this
 *     cycle ({@link Action.ConfirmLeaderGone}); null: no such leader
 * @param rewindFailedFrom the leader a pg_rewind of this data directory last failed against (null: none
 *     since the last successful start)
 * @param formerLeader the record of the last other member this node saw leading the cluster, kept
 *     after its key lapsed with its session (its {@code conn_url} says where the former primary's
 *     PostgreSQL listens); null when none was seen, or since this node itself runs as the leader's
 *     primary
 * @param unlockedSince since when this node has seen the cluster without a leader key, in this
 *     stretch (null: it has a leader, or the DCS could not be read): Patroni's primary_race_backoff
 *     counts from here
 * @param previousLsn the local PostgreSQL's {@link PostgresStatus#lastLsn()} as read in the previous
 *     cycle, -1 when unknown (no previous cycle, or PostgreSQL was not running): whether WAL still
 *     arrives from a primary that lost its key
 * @param promotionVetoedAt when this node's {@code pre_promote} script last vetoed a promotion (its
 *     lock was released then); null: never
 * @param memberSlotsSeen when each member slot name was last seen (a member by that name in the DCS,
 *     or the name in {@code status.retain_slots}): the leader retains the slot of a member gone for
 *     {@code member_slots_ttl} after ({@link SlotPlan#retained})
 * @param failsafeSlots failsafe mode, on a replica: the slot positions the primary sent with its last
 *     call ({@link SlotPlan#failsafeAdvance}); empty when none
 */
record HaInput(
        String name,
        Map<String, Object> tags,
        ClusterState cluster,
        String dcsError,
        PostgresStatus postgres,
        boolean dataDirectoryEmpty,
        boolean canCloneWithoutLeader,
        DynamicConfig config,
        DynamicConfig memberConfig,
        Instant now,
        Instant lockValidUntil,
        String actionInProgress,
        Map<String, PeerStatus> peers,
        boolean peersAsked,
        String following,
        Instant primaryDownSince,
        boolean lockRenewFailed,
        boolean reinitializeRequested,
        boolean restartRequested,
        FailsafeRound failsafeRound,
        Map<String, String> lastFailsafeKey,
        Instant failsafeLeaderUntil,
        long syncReadyLsn,
        boolean watchdogFailed,
        Divergence divergence,
        LeaderGone leaderGone,
        String rewindFailedFrom,
        Member formerLeader,
        Instant unlockedSince,
        long previousLsn,
        Instant promotionVetoedAt,
        Map<String, Instant> memberSlotsSeen,
        Map<String, Long> failsafeSlots) {

    /** Whether a primary cut off from the DCS called the members of the failsafe key in this cycle. */
    enum FailsafeRound {
        /** Not called (yet) in this cycle. */
        NOT_CALLED,
        /** Every member reached agreed: the primary goes on. */
        CONFIRMED,
        /** Not every member agreed, or the key does not name this node. */
        REFUSED
    }

    /**
     * A divergence check's answer.
     *
     * @param leader the leader checked against
     * @param diverged this data directory's history left the leader's
     */
    record Divergence(String leader, boolean diverged) {}

    /**
     * The leader {@code leader}, holding the lock at {@code lockVersion}, refused connections on both
     * its REST API and PostgreSQL ports; {@code confirmed}: again at this cycle's re-check.
     */
    record LeaderGone(String leader, long lockVersion, boolean confirmed) {}

    HaInput {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(postgres, "postgres");
        Objects.requireNonNull(now, "now");
        tags = tags == null ? Map.of() : Map.copyOf(tags);
        peers = peers == null ? Map.of() : Map.copyOf(peers);
        config = config == null ? DynamicConfig.DEFAULTS : config;
        memberConfig = memberConfig == null ? config : memberConfig;
        failsafeRound = failsafeRound == null ? FailsafeRound.NOT_CALLED : failsafeRound;
        lastFailsafeKey = lastFailsafeKey == null ? null : Map.copyOf(lastFailsafeKey);
        memberSlotsSeen = memberSlotsSeen == null ? Map.of() : Map.copyOf(memberSlotsSeen);
        failsafeSlots = failsafeSlots == null ? Map.of() : Map.copyOf(failsafeSlots);
    }

    /** Failsafe mode: every member reached agreed in this cycle that this primary goes on. */
    boolean failsafeConfirmed() {
        return failsafeRound == FailsafeRound.CONFIRMED;
    }

    static Builder builder(String name) {
        return new Builder(name);
    }

    Builder toBuilder() {
        Builder b = new Builder(name);
        b.tags = tags;
        b.cluster = cluster;
        b.dcsError = dcsError;
        b.postgres = postgres;
        b.dataDirectoryEmpty = dataDirectoryEmpty;
        b.canCloneWithoutLeader = canCloneWithoutLeader;
        b.config = config;
        b.memberConfig = memberConfig;
        b.now = now;
        b.lockValidUntil = lockValidUntil;
        b.actionInProgress = actionInProgress;
        b.peers = peers;
        b.peersAsked = peersAsked;
        b.following = following;
        b.primaryDownSince = primaryDownSince;
        b.lockRenewFailed = lockRenewFailed;
        b.reinitializeRequested = reinitializeRequested;
        b.restartRequested = restartRequested;
        b.failsafeRound = failsafeRound;
        b.lastFailsafeKey = lastFailsafeKey;
        b.failsafeLeaderUntil = failsafeLeaderUntil;
        b.syncReadyLsn = syncReadyLsn;
        b.watchdogFailed = watchdogFailed;
        b.divergence = divergence;
        b.leaderGone = leaderGone;
        b.rewindFailedFrom = rewindFailedFrom;
        b.formerLeader = formerLeader;
        b.unlockedSince = unlockedSince;
        b.previousLsn = previousLsn;
        b.promotionVetoedAt = promotionVetoedAt;
        b.memberSlotsSeen = memberSlotsSeen;
        b.failsafeSlots = failsafeSlots;
        return b;
    }

    /** Builder with neutral defaults. Not thread-safe. */
    static final class Builder {
        private final String name;
        private Map<String, Object> tags = Map.of();
        private ClusterState cluster;
        private String dcsError;
        private PostgresStatus postgres;
        private boolean dataDirectoryEmpty;
        private boolean canCloneWithoutLeader;
        private DynamicConfig config = DynamicConfig.DEFAULTS;
        private DynamicConfig memberConfig;
        private Instant now = Instant.EPOCH;
        private Instant lockValidUntil;
        private String actionInProgress;
        private Map<String, PeerStatus> peers = Map.of();
        private boolean peersAsked = true;
        private String following;
        private Instant primaryDownSince;
        private boolean lockRenewFailed;
        private boolean reinitializeRequested;
        private boolean restartRequested;
        private FailsafeRound failsafeRound = FailsafeRound.NOT_CALLED;
        private Map<String, String> lastFailsafeKey;
        private Instant failsafeLeaderUntil;
        private long syncReadyLsn;
        private boolean watchdogFailed;
        private Divergence divergence;
        private LeaderGone leaderGone;
        private String rewindFailedFrom;
        private Member formerLeader;
        private Instant unlockedSince;
        private long previousLsn = -1;
        private Instant promotionVetoedAt;
        private Map<String, Instant> memberSlotsSeen;
        private Map<String, Long> failsafeSlots;

        private Builder(String name) {
            this.name = name;
        }

        Builder tags(Map<String, Object> v) {
            tags = v;
            return this;
        }

        Builder cluster(ClusterState v) {
            cluster = v;
            return this;
        }

        Builder dcsError(String v) {
            dcsError = v;
            return this;
        }

        Builder postgres(PostgresStatus v) {
            postgres = v;
            return this;
        }

        Builder dataDirectoryEmpty(boolean v) {
            dataDirectoryEmpty = v;
            return this;
        }

        Builder canCloneWithoutLeader(boolean v) {
            canCloneWithoutLeader = v;
            return this;
        }

        Builder config(DynamicConfig v) {
            config = v;
            return this;
        }

        Builder memberConfig(DynamicConfig v) {
            memberConfig = v;
            return this;
        }

        Builder now(Instant v) {
            now = v;
            return this;
        }

        Builder lockValidUntil(Instant v) {
            lockValidUntil = v;
            return this;
        }

        Builder actionInProgress(String v) {
            actionInProgress = v;
            return this;
        }

        /** The peers' answers (this also marks them asked). */
        Builder peers(Map<String, PeerStatus> v) {
            peers = v;
            peersAsked = true;
            return this;
        }

        Builder peersAsked(boolean v) {
            peersAsked = v;
            return this;
        }

        Builder following(String v) {
            following = v;
            return this;
        }

        Builder primaryDownSince(Instant v) {
            primaryDownSince = v;
            return this;
        }

        Builder lockRenewFailed(boolean v) {
            lockRenewFailed = v;
            return this;
        }

        Builder reinitializeRequested(boolean v) {
            reinitializeRequested = v;
            return this;
        }

        Builder restartRequested(boolean v) {
            restartRequested = v;
            return this;
        }

        Builder failsafeRound(FailsafeRound v) {
            failsafeRound = v;
            return this;
        }

        Builder lastFailsafeKey(Map<String, String> v) {
            lastFailsafeKey = v;
            return this;
        }

        Builder failsafeLeaderUntil(Instant v) {
            failsafeLeaderUntil = v;
            return this;
        }

        Builder syncReadyLsn(long v) {
            syncReadyLsn = v;
            return this;
        }

        Builder watchdogFailed(boolean v) {
            watchdogFailed = v;
            return this;
        }

        Builder divergence(Divergence v) {
            divergence = v;
            return this;
        }

        Builder leaderGone(LeaderGone v) {
            leaderGone = v;
            return this;
        }

        Builder rewindFailedFrom(String v) {
            rewindFailedFrom = v;
            return this;
        }

        Builder formerLeader(Member v) {
            formerLeader = v;
            return this;
        }

        Builder unlockedSince(Instant v) {
            unlockedSince = v;
            return this;
        }

        Builder previousLsn(long v) {
            previousLsn = v;
            return this;
        }

        Builder promotionVetoedAt(Instant v) {
            promotionVetoedAt = v;
            return this;
        }

        Builder memberSlotsSeen(Map<String, Instant> v) {
            memberSlotsSeen = v;
            return this;
        }

        Builder failsafeSlots(Map<String, Long> v) {
            failsafeSlots = v;
            return this;
        }

        /** Failsafe mode: the members of the last failsafe key all agreed in this cycle (or not). */
        Builder failsafeConfirmed(boolean v) {
            failsafeRound = v ? FailsafeRound.CONFIRMED : FailsafeRound.REFUSED;
            return this;
        }

        HaInput build() {
            return new HaInput(
                    name,
                    tags,
                    cluster,
                    dcsError,
                    postgres,
                    dataDirectoryEmpty,
                    canCloneWithoutLeader,
                    config,
                    memberConfig,
                    now,
                    lockValidUntil,
                    actionInProgress,
                    peers,
                    peersAsked,
                    following,
                    primaryDownSince,
                    lockRenewFailed,
                    reinitializeRequested,
                    restartRequested,
                    failsafeRound,
                    lastFailsafeKey,
                    failsafeLeaderUntil,
                    syncReadyLsn,
                    watchdogFailed,
                    divergence,
                    leaderGone,
                    rewindFailedFrom,
                    formerLeader,
                    unlockedSince,
                    previousLsn,
                    promotionVetoedAt,
                    memberSlotsSeen,
                    failsafeSlots);
        }
    }
}
