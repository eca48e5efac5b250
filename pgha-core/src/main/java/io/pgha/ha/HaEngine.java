package io.pgha.ha;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsJson;
import io.pgha.dcs.Failover;
import io.pgha.dcs.HistoryEntry;
import io.pgha.dcs.Member;
import io.pgha.dcs.SyncState;
import io.pgha.dcs.Tags;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.SlotChanges;
import io.pgha.postgres.StopMode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Patroni's HA cycle as a pure function: {@code decide(input) -> Decision}. No I/O, no clock, no
 * state: the same input always gives the same decision, which is what lets the tests and the
 * deterministic simulation check it exhaustively. Thread-safe (stateless).
 *
 * <p>The order of the checks follows Patroni's {@code _run_cycle}: DCS unavailable, a lost lock,
 * a long action in progress, a foreign system identifier, an empty data directory, pause,
 * PostgreSQL not running, no leader (the race), the leader's own cycle (switchover, status), and
 * a replica following the leader. docs/engine.md has the decision table.
 *
 * <p>It is the only place a decision is made: whom to ask before deciding ({@link Action.Inquiry}:
 * the peers, the failsafe members, the divergence from the leader), whether a stopped member starts
 * as it is, is rewound, re-cloned or left alone, what happens at shutdown, whether a requested
 * restart applies. The node gathers inputs and carries out actions.
 */
final class HaEngine {

    /** The failover_priority a member without the tag has. */
    private static final int DEFAULT_PRIORITY = 1;

    /** How soon the leader looks again whether a standby it added became synchronous. */
    private static final Duration SYNC_RECHECK = Duration.ofSeconds(1);

    /**
     * How long before the lock's proven expiry a primary that cannot renew it stops PostgreSQL:
     * a quarter of the ttl, between 1 and 5 seconds.
     */
    static Duration safetyMargin(DynamicConfig config) {
        long quarter = config.ttl().toMillis() / 4;
        return Duration.ofMillis(Math.max(1000, Math.min(5000, quarter)));
    }

    /** Whether the decision depends on the other members' REST APIs (the node then asks them first). */
    private static boolean needsPeers(ClusterState cluster, String name, DynamicConfig config, PostgresStatus pg) {
        Failover f = ManualFailover.effective(cluster);
        if (!cluster.hasLeader()) {
            // the named candidate of a manual failover wins without comparing: no need to ask (saves
            // a round of HTTP calls in the middle of a switchover's write gap), except for the votes
            // quorum commit needs
            return f == null || !name.equals(f.member()) || QuorumCommit.isActive(config, cluster);
        }
        // the leader asks only to check a switchover's candidate while it runs as the primary; a new
        // leader about to promote does not (the others' APIs may be slow while the old primary stops,
        // and this pass sits in the switchover's write gap)
        return cluster.isLeader(name) && f != null && pg != null && pg.isPrimary();
    }

    Decision decide(HaInput in) {
        if (in.cluster() == null) {
            return dcsUnavailable(in);
        }
        ClusterState c = in.cluster();
        PostgresStatus pg = in.postgres();
        boolean haveLock = c.isLeader(in.name());

        if (in.lockRenewFailed()) {
            if (pg.isPrimary() && in.config().isPaused()) {
                // as Patroni: in pause the operator owns PostgreSQL
                return Decision.of("PAUSE: continue to run as primary after failing to update leader lock in DCS");
            }
            if (pg.isPrimary()) {
                return Decision.of(
                        "failed to update leader lock, demoting myself",
                        new Action.Demote(StopMode.IMMEDIATE, false, false));
            }
            return Decision.of("failed to update leader lock");
        }

        if (in.actionInProgress() != null) {
            if (haveLock) {
                return Decision.of("updated leader lock during " + in.actionInProgress(), new Action.RenewLock());
            }
            return Decision.of("no action. " + in.actionInProgress() + " in progress");
        }
        if (!in.peersAsked() && needsPeers(c, in.name(), in.config(), pg)) {
            return Decision.of("asking the other members for their status", new Action.ProbePeers(peersToAsk(in, c)));
        }

        String sysid = pg.systemIdentifier();
        String init = c.initialize();
        if (!in.dataDirectoryEmpty() && sysid != null && init != null && !init.isEmpty() && !init.equals(sysid)) {
            String why = "system ID mismatch, node " + in.name() + " belongs to a different cluster: " + init + " != "
                    + sysid;
            return Decision.of(why, new Action.Shutdown(why));
        }

        if (in.dataDirectoryEmpty() && !pg.isRunning()) {
            return bootstrapOrClone(in, c, haveLock);
        }
        if (in.config().isPaused()) {
            return paused(in, c, haveLock);
        }
        if (!pg.isRunning()) {
            return postgresNotRunning(in, c, haveLock);
        }
        if (!c.hasLeader()) {
            return unlocked(in, c);
        }
        if (haveLock) {
            return leaderCycle(in, c);
        }
        return followLeader(in, c);
    }

    // ---- DCS unreachable ----------------------------------------------------------------------

    private Decision dcsUnavailable(HaInput in) {
        PostgresStatus pg = in.postgres();
        String err = in.dcsError() == null ? "" : " (" + in.dcsError() + ")";
        if (!pg.isPrimary()) {
            String reason = "DCS is not accessible" + err + "; no action as " + describe(pg);
            SlotChanges advance = SlotPlan.failsafeAdvance(pg, in.failsafeSlots());
            return advance.isEmpty() || !pg.isReplica()
                    ? Decision.of(reason)
                    : Decision.of(reason + " (failsafe mode: advancing slots)", new Action.ChangeSlots(advance));
        }
        if (in.config().isPaused()) {
            // as Patroni: in pause nothing is demoted, the operator owns PostgreSQL (the last
            // configuration read said so; the lock guard is off in pause too)
            return Decision.of("PAUSE: DCS is not accessible" + err + "; continue to run as primary");
        }
        String failsafeNote = "";
        if (in.failsafeRound() == HaInput.FailsafeRound.NOT_CALLED
                && in.actionInProgress() == null
                && !in.lockRenewFailed()
                && in.config().isFailsafeMode()
                && !in.config().isPaused()) {
            Map<String, String> others = Failsafe.toReach(in.name(), in.lastFailsafeKey());
            if (others != null) {
                return Decision.of(
                        "DCS is not accessible" + err + "; failsafe mode: asking the members of the failsafe key",
                        new Action.CallFailsafe(others));
            }
            failsafeNote = " (failsafe mode: the last failsafe key read does not name me)";
        }
        if (in.failsafeConfirmed()) {
            // every member of the failsafe key promised not to race for the lock: see Failsafe
            return Decision.of("DCS is not accessible" + err + "; continue to run as a leader because failsafe"
                            + " mode is enabled and all members are accessible")
                    .wakeWithin(in.config().loopWait());
        }
        if (in.failsafeRound() == HaInput.FailsafeRound.REFUSED) {
            // As Patroni: in failsafe mode a member of the key that did not agree (gone, or
            // unreachable) ends the primary at once, rather than riding the lock's validity as below;
            // operators and Patroni's own acceptance feature ("check primary is demoted when one
            // replica is shut down and DCS is down") expect the demotion within a few loop_waits.
            return Decision.of(
                    "demoting self because DCS is not accessible and not every member of the failsafe key agreed" + err,
                    new Action.Demote(StopMode.IMMEDIATE, false, false, Action.DemoteCause.DCS_UNREACHABLE));
        }
        Instant valid = in.lockValidUntil();
        Duration margin = safetyMargin(in.config());
        if (valid != null) {
            Instant stopBy = valid.minus(margin);
            if (in.now().isBefore(stopBy)) {
                // Better than Patroni's immediate demotion: nobody can take the lock before it
                // expires, so the primary keeps serving until just before then (the lock guard
                // fences at that instant even if this loop is stuck).
                Duration left = Duration.between(in.now(), stopBy);
                return Decision.of("DCS is not accessible" + err + "; the leader lock is valid for " + seconds(left)
                                + " more: keeping the primary running" + failsafeNote)
                        .wakeWithin(min(left, in.config().loopWait()));
            }
        }
        return Decision.of(
                "demoting self because DCS is not accessible and I was a leader" + err + failsafeNote,
                new Action.Demote(StopMode.IMMEDIATE, false, false, Action.DemoteCause.DCS_UNREACHABLE));
    }

    // ---- empty data directory -----------------------------------------------------------------

    private Decision bootstrapOrClone(HaInput in, ClusterState c, boolean haveLock) {
        if (haveLock) {
            return Decision.of("data directory is empty: releasing the leader lock", new Action.ReleaseLock());
        }
        if (c.initialize() == null && !c.hasLeader()) {
            if (Tags.noFailover(in.tags())) {
                return Decision.of("waiting for a member to bootstrap the cluster (I am tagged nofailover)");
            }
            Member remote = StandbyCluster.remote(in.config());
            if (remote != null) {
                // Patroni's bootstrap_standby_leader: a copy of the remote primary, not initdb
                return Decision.of(
                        "trying to bootstrap a new standby leader",
                        new Action.ClaimInitialize(),
                        new Action.BootstrapStandbyLeader(remote));
            }
            if (in.watchdogFailed()) {
                return Decision.of("waiting for a member to bootstrap the cluster (watchdog device is not usable)");
            }
            return Decision.of(
                    "trying to bootstrap a new cluster", new Action.ClaimInitialize(), new Action.Bootstrap());
        }
        Optional<Member> source = cloneSource(in, c);
        if (source.isPresent()) {
            Member s = source.get();
            boolean fromLeader = c.isLeader(s.name());
            return Decision.of(
                    "trying to bootstrap from " + (fromLeader ? "leader" : "replica") + " '" + s.name() + "'",
                    new Action.CloneFrom(
                            StandbyCluster.upstream(in.config(), s),
                            !Tags.isTrue(in.tags().get(Tags.NOSTREAM))));
        }
        if (c.hasLeader()) {
            return Decision.of("waiting for the leader (" + c.leader().name() + ") to publish its member record");
        }
        if (in.canCloneWithoutLeader()
                && c.initialize() != null
                && !c.initialize().isEmpty()) {
            // Patroni: the cluster exists, nobody leads it, and a replica method needs no member
            return Decision.of("trying to bootstrap (without leader)", new Action.CloneFrom(null));
        }
        return Decision.of(
                StandbyCluster.isActive(in.config())
                        ? "waiting for standby_leader to bootstrap"
                        : "waiting for leader to bootstrap");
    }

    /** Patroni's choice: a running member tagged clonefrom, else the running leader. */
    private Optional<Member> cloneSource(HaInput in, ClusterState c) {
        for (Member m : c.members()) {
            if (!m.name().equals(in.name())
                    && m.isRunning()
                    && Tags.isTrue(m.tags().get(Tags.CLONEFROM))
                    && m.connUrl() != null) {
                return Optional.of(m);
            }
        }
        return c.leaderMember().filter(m -> m.connUrl() != null && !m.name().equals(in.name()));
    }

    // ---- pause ----------------------------------------------------------------------------------

    /**
     * Pause, as Patroni: PostgreSQL is the operator's, nothing starts, stops or fails over by itself.
     * The leader keeps its lock, its slots and its synchronous standbys; running replicas follow
     * the leader; a switchover to a named candidate is carried out (the leader demotes and restarts
     * as the candidate's replica, the candidate takes the lock and promotes).
     */
    private Decision paused(HaInput in, ClusterState c, boolean haveLock) {
        PostgresStatus pg = in.postgres();
        Failover f = ManualFailover.effective(c);
        boolean candidate = f != null && in.name().equals(f.member()) && f.scheduledAt() == null;
        if (haveLock && StandbyCluster.isActive(in.config()) && !pg.isPrimary()) {
            return standbyLeaderCycle(in, c, "PAUSE: ");
        }
        if (haveLock) {
            if (pg.isReplica() && candidate) {
                return promoteWithLock(in, c, "PAUSE: manual failover: promoting self as the candidate");
            }
            List<Action> a = new ArrayList<>();
            a.add(new Action.RenewLock());
            Duration wake = null;
            if (pg.isPrimary()) {
                SlotPlan.Plan slots = SlotPlan.plan(in.name(), in.tags(), true, c, in.config(), pg);
                a.add(new Action.WriteStatus(
                        pg.writeLsn(),
                        slots.publish(),
                        SlotPlan.retained(in.memberSlotsSeen(), in.now(), in.config())));
                // slots and synchronous standbys stay managed in pause, as in Patroni
                wake = replicationHousekeeping(in, c, slots, a);
                if (f != null) {
                    Decision d = ManualFailover.fromLeader(in, c, f, a);
                    if (d != null) {
                        return new Decision(d.actions(), "PAUSE: " + d.reason(), d.wakeWithin());
                    }
                }
            }
            return new Decision(a, "PAUSE: no action. I am (" + in.name() + "), the leader with the lock", wake);
        }
        if (in.reinitializeRequested() && c.hasLeader()) {
            // as Patroni, whose POST /reinitialize runs at once in pause too: the operator asked for it
            Optional<Member> leader = c.leaderMember();
            if (leader.isPresent() && leader.get().connUrl() != null) {
                return Decision.of(
                        "PAUSE: reinitializing from leader '" + leader.get().name() + "' as requested",
                        new Action.Reinitialize(leader.get()));
            }
        }
        if (!c.hasLeader() && pg.isPrimary()) {
            return Decision.of("PAUSE: acquiring session lock as a leader", new Action.AcquireLock());
        }
        if (!c.hasLeader() && candidate && pg.isReplica() && pg.isRunning()) {
            // Patroni: the named candidate of a switchover in pause races without the health checks
            // (the leader made them before it stepped down)
            return Decision.of(
                    "PAUSE: manual failover: acquiring the leader lock as its candidate", new Action.AcquireLock());
        }
        if (pg.isPrimary()) {
            return Decision.of("PAUSE: continue to run as primary without lock");
        }
        if (!pg.isRunning()) {
            return Decision.of("PAUSE: postgres is not running");
        }
        Optional<Member> leader = c.leaderMember();
        Optional<Member> upstream = Upstream.of(in.name(), in.tags(), c);
        if (leader.isPresent()
                && leader.get().connUrl() != null
                && !Upstream.nameOf(upstream).equals(in.following())) {
            return pausedFollow(in, leader.get(), upstream.orElse(null));
        }
        return Decision.of("PAUSE: no action. I am (" + in.name() + "), a secondary"
                + (c.hasLeader() ? ", and following a leader (" + c.leader().name() + ")" : ""));
    }

    /**
     * A running replica in pause points itself at the leader (Patroni rewrites primary_conninfo in
     * pause too), but a replica whose history diverged from it is left alone: a rewind stops
     * PostgreSQL, which pause leaves to the operator.
     */
    private Decision pausedFollow(HaInput in, Member leader, Member upstream) {
        String reason = "PAUSE: following the leader (" + leader.name() + ")"
                + (upstream == null || upstream.name().equals(leader.name()) ? "" : " through " + upstream.name());
        if (!isPrimaryRole(leader)) {
            return Decision.of(reason + "; it is not a primary yet", new Action.Follow(upstream, false));
        }
        HaInput.Divergence d = in.divergence();
        if (d == null || !d.leader().equals(leader.name())) {
            return Decision.of(
                    "PAUSE: checking whether my history diverged from the leader (" + leader.name() + ")",
                    new Action.CheckDivergence(leader));
        }
        if (d.diverged()) {
            return Decision.of("PAUSE: my history diverged from the leader (" + leader.name()
                    + "); not rewinding in pause: resume, or reinitialize this member");
        }
        return Decision.of(reason, new Action.Follow(upstream, true));
    }

    // ---- PostgreSQL not running ------------------------------------------------------------------

    private Decision postgresNotRunning(HaInput in, ClusterState c, boolean haveLock) {
        PostgresStatus pg = in.postgres();
        if (haveLock) {
            Duration timeout = in.config().primaryStartTimeout();
            Duration down =
                    in.primaryDownSince() == null ? Duration.ZERO : Duration.between(in.primaryDownSince(), in.now());
            if (HealthiestNode.isFailoverPossible(in, c) && (timeout.isZero() || down.compareTo(timeout) > 0)) {
                return Decision.of(
                        "primary is not running and primary_start_timeout (" + seconds(timeout)
                                + ") is over: releasing the leader lock so that a healthy replica takes over",
                        new Action.ReleaseLock());
            }
            Member remote = StandbyCluster.remote(in.config());
            if (remote != null) {
                // never StartPrimary in a standby cluster: the lock holder starts as the standby leader
                return startStandbyLeader(in, remote);
            }
            return Decision.of("starting primary after failure", new Action.RenewLock(), new Action.StartPrimary());
        }
        if (c.hasLeader()) {
            Optional<Member> leader = c.leaderMember();
            if (leader.isEmpty() || leader.get().connUrl() == null) {
                return Decision.of("waiting for the leader (" + c.leader().name() + ") to publish its member record");
            }
            if (in.reinitializeRequested()) {
                return Decision.of(
                        "reinitializing from leader '" + leader.get().name() + "'",
                        new Action.Reinitialize(leader.get()));
            }
            return startAsReplica(
                    in,
                    leader.get(),
                    Upstream.of(in.name(), in.tags(), c)
                            .map(m -> StandbyCluster.upstream(in.config(), m))
                            .orElse(null));
        }
        String unhealthy = HealthiestNode.whyNotHealthiest(in, c);
        Member remote = StandbyCluster.remote(in.config());
        if (remote != null) {
            if (unhealthy == null) {
                // the lock first; the next pass starts this member as the standby leader
                return Decision.of(
                        "no standby leader and postgres is not running: I am the healthiest node, acquiring the"
                                + " leader lock to start as the standby leader",
                        new Action.AcquireLock());
            }
            // Patroni: a member that may not lead follows the remote primary while nobody leads
            return Decision.of(
                    "trying to follow a remote member because standby cluster is unhealthy: " + unhealthy,
                    new Action.StartReplica(remote, remote, Action.Preparation.NONE, false));
        }
        if (unhealthy == null) {
            return Decision.of(
                    "no leader and postgres is not running: I am the healthiest node, acquiring the leader lock",
                    new Action.AcquireLock(),
                    new Action.StartPrimary());
        }
        // as Patroni: a stopped member that may not lead starts as a secondary, read-only, and waits
        return Decision.of("starting as a secondary with no leader to follow: " + unhealthy, new Action.StartStandby());
    }

    /**
     * A stopped member rejoins the leader: as it is when its history is part of the leader's, else
     * rewound (use_pg_rewind), else re-cloned where the configuration allows, else left alone with the
     * reason. A leader still being promoted is followed unchecked: its timeline is not final yet (a
     * replica's pg_control names the timeline of its last restartpoint), so a check now could find a
     * divergence that is not there and rewind a cleanly stopped former primary for nothing (seen after
     * a switchover in pgha bench); {@link #followLeader} checks once it publishes itself a primary.
     */
    private Decision startAsReplica(HaInput in, Member leader, Member upstream) {
        String starting = (in.postgres().role() == PostgresStatus.Role.PRIMARY
                        ? "starting former primary as a replica of the leader ("
                        : "starting as a secondary of the leader (")
                + leader.name() + ")"
                + (upstream == null
                        ? ", streaming from nobody (nostream)"
                        : upstream.name().equals(leader.name()) ? "" : ", streaming from " + upstream.name());
        if (!isPrimaryRole(leader)) {
            return Decision.of(
                    starting + "; it is not a primary yet: the divergence check follows once it is",
                    new Action.StartReplica(leader, upstream, Action.Preparation.NONE, false));
        }
        HaInput.Divergence d = in.divergence();
        if (d == null || !d.leader().equals(leader.name())) {
            return Decision.of(
                    "checking whether my history diverged from the leader (" + leader.name() + ")",
                    new Action.CheckDivergence(leader));
        }
        if (!d.diverged()) {
            return Decision.of(starting, new Action.StartReplica(leader, upstream, Action.Preparation.NONE, true));
        }
        DynamicConfig cfg = in.memberConfig();
        boolean rewindFailed = leader.name().equals(in.rewindFailedFrom());
        if (cfg.usePgRewind() && !(rewindFailed && cfg.removeDataDirectoryOnRewindFailure())) {
            // a failed rewind is tried again each cycle unless re-cloning is allowed (the leader may have
            // been out of reach)
            return Decision.of(
                    starting + ": my history diverged from it, rewinding",
                    new Action.StartReplica(leader, upstream, Action.Preparation.REWIND, true));
        }
        boolean mayRemove = cfg.usePgRewind()
                ? cfg.removeDataDirectoryOnRewindFailure()
                : cfg.removeDataDirectoryOnDivergedTimelines();
        if (mayRemove) {
            return Decision.of(
                    starting + ": my history diverged from it"
                            + (cfg.usePgRewind() ? " and pg_rewind failed" : " and use_pg_rewind is off")
                            + ", removing the data directory and cloning again",
                    new Action.StartReplica(leader, upstream, Action.Preparation.RECLONE, true));
        }
        return Decision.of("the data directory has diverged from the leader " + leader.name()
                + " and use_pg_rewind is off; set postgresql.remove_data_directory_on_diverged_timelines to"
                + " re-clone, or reinitialize by hand");
    }

    // ---- no leader: the race ---------------------------------------------------------------------

    private Decision unlocked(HaInput in, ClusterState c) {
        PostgresStatus pg = in.postgres();
        Decision backoff = raceBackoff(in, c);
        if (backoff != null) {
            return backoff;
        }
        String unhealthy = HealthiestNode.whyNotHealthiest(in, c);
        if (unhealthy == null) {
            return Decision.of(
                    pg.isPrimary()
                            ? "acquiring session lock as a leader"
                            : "I am the healthiest node: acquiring the leader lock to promote",
                    new Action.AcquireLock());
        }
        if (pg.isPrimary()) {
            return Decision.of(
                    "demoting self because I am not the healthiest node: " + unhealthy,
                    new Action.Demote(StopMode.IMMEDIATE, false, false));
        }
        return Decision.of("following a different leader because I am not the healthiest node: " + unhealthy);
    }

    /**
     * Patroni's {@code primary_race_backoff} (Patroni 4.2): a replica that still receives WAL from a
     * primary whose key lapsed (its agent froze, or lost its DCS session, while PostgreSQL went on)
     * waits before racing, up to the backoff from the first cycle without a leader; for the first
     * loop_wait of it in any case, since the key may have lapsed just after the last cycle saw
     * WAL arrive. Off when 0 (the default), without the previous cycle's LSN, and for the named
     * candidate of a manual failover. Unlike Patroni, a running primary without the key does not
     * wait: retaking its own lock is what the backoff is for.
     */
    private static Decision raceBackoff(HaInput in, ClusterState c) {
        Duration backoff = in.config().primaryRaceBackoff();
        PostgresStatus pg = in.postgres();
        Failover f = ManualFailover.effective(c);
        if (backoff.isZero()
                || pg.isPrimary()
                || in.unlockedSince() == null
                || in.previousLsn() < 0
                || (f != null && f.member() != null)) {
            return null;
        }
        Duration left = Duration.between(in.now(), in.unlockedSince().plus(backoff));
        boolean walMoves = pg.isStreaming() && pg.lastLsn() > in.previousLsn();
        boolean justLapsed = left.compareTo(backoff.minus(in.config().loopWait())) > 0;
        if ((!left.isNegative() && !left.isZero() && walMoves) || justLapsed) {
            Duration shown = left.isNegative() ? Duration.ZERO : left;
            return Decision.of("My (" + in.name() + ") wal position moved since last heart beat loop, " + seconds(shown)
                            + " until leader race (primary_race_backoff)")
                    .wakeWithin(min(
                            left.isNegative() || left.isZero() ? in.config().loopWait() : left,
                            in.config().loopWait()));
        }
        return null;
    }

    // ---- the leader's cycle ----------------------------------------------------------------------

    private Decision leaderCycle(HaInput in, ClusterState c) {
        PostgresStatus pg = in.postgres();
        if (StandbyCluster.isActive(in.config())) {
            return standbyLeaderCycle(in, c, "");
        }
        if (in.watchdogFailed()) { // Patroni's enforce_primary_role with watchdog.mode required
            return pg.isReplica()
                    ? Decision.of(
                            "Not promoting self because watchdog could not be activated", new Action.ReleaseLock())
                    : Decision.of(
                            "Demoting self because watchdog could not be activated",
                            new Action.Demote(StopMode.IMMEDIATE, false, true));
        }
        if (pg.isReplica()) {
            return promoteWithLock(in, c, "promoted self to leader because I had the session lock");
        }
        List<Action> a = new ArrayList<>();
        a.add(new Action.RenewLock());
        // a running primary with the lock
        if (c.initialize() == null || c.initialize().isEmpty()) {
            if (pg.systemIdentifier() != null) {
                a.add(new Action.WriteInitialize(
                        pg.systemIdentifier(), c.initialize() == null ? Dcs.ABSENT : c.initializeVersion()));
            }
        }
        if (c.config() == null) {
            a.add(new Action.WriteBootstrapConfig());
        }
        SlotPlan.Plan slots = SlotPlan.plan(in.name(), in.tags(), true, c, in.config(), pg);
        a.add(new Action.WriteStatus(
                pg.writeLsn(), slots.publish(), SlotPlan.retained(in.memberSlotsSeen(), in.now(), in.config())));
        a.addAll(Failsafe.leaderActions(in, c));
        Duration wake = replicationHousekeeping(in, c, slots, a);
        Failover f = ManualFailover.effective(c);
        if (f != null) {
            Decision d = ManualFailover.fromLeader(in, c, f, a);
            if (d != null) {
                return d;
            }
        }
        if (in.restartRequested()) {
            a.add(new Action.Restart());
            return new Decision(a, "restarting postgresql as requested", null);
        }
        return new Decision(a, "no action. I am (" + in.name() + "), the leader with the lock", wake);
    }

    // ---- the standby leader's cycle ----------------------------------------------------------------

    /**
     * The lock holder of a standby cluster (Patroni's {@code enforce_follow_remote_member}): it never
     * promotes. A running primary demotes (the key was added: Patroni's "demote cluster"), stopping
     * after a checkpoint, and keeps the lock: the next cycle starts it as the remote primary's
     * replica (rewound when it diverged). A running replica is the standby leader: it renews the
     * lock, records its position, keeps a slot for each member that cascades from it, and follows
     * the remote primary. A switchover request is cleared: the standby leader has nothing to hand
     * over that the ttl does not.
     */
    private Decision standbyLeaderCycle(HaInput in, ClusterState c, String prefix) {
        PostgresStatus pg = in.postgres();
        Member remote = StandbyCluster.remote(in.config());
        if (pg.isPrimary()) {
            return Decision.of(
                    prefix + "cannot be a real primary in standby cluster: demoting myself to follow the remote"
                            + " primary",
                    new Action.RenewLock(),
                    new Action.Demote(StopMode.FAST, true, false));
        }
        if (!pg.isRunning()) {
            return startStandbyLeader(in, remote);
        }
        List<Action> a = new ArrayList<>();
        a.add(new Action.RenewLock());
        if ((c.initialize() == null || c.initialize().isEmpty()) && pg.systemIdentifier() != null) {
            a.add(new Action.WriteInitialize(
                    pg.systemIdentifier(), c.initialize() == null ? Dcs.ABSENT : c.initializeVersion()));
        }
        if (c.config() == null) {
            a.add(new Action.WriteBootstrapConfig());
        }
        if (pg.lastLsn() > 0) {
            a.add(new Action.WriteStatus(pg.lastLsn()));
        }
        // its slots as a replica's (SlotPlan): physical ones for the members that may stream from it;
        // no logical slot, which PostgreSQL 15 cannot keep in recovery; nothing published
        SlotPlan.Plan slots = SlotPlan.plan(in.name(), in.tags(), false, c, in.config(), pg);
        if (!slots.changes().isEmpty()) {
            a.add(new Action.ChangeSlots(slots.changes()));
        }
        if (ManualFailover.effective(c) != null) {
            a.add(new Action.ClearFailover(c.failover()));
            return new Decision(
                    a, prefix + "manual failover is not possible in a standby cluster: clearing the request", null);
        }
        if (!remote.name().equals(in.following())) {
            a.add(new Action.Follow(remote, true));
            return new Decision(
                    a,
                    prefix + "promoted self to a standby leader: following the remote primary " + where(remote),
                    null);
        }
        if (in.restartRequested() && prefix.isEmpty()) {
            a.add(new Action.Restart());
            return new Decision(a, "restarting postgresql as requested", null);
        }
        return new Decision(a, prefix + "no action. I am (" + in.name() + "), the standby leader with the lock", null);
    }

    /**
     * The lock holder of a standby cluster with PostgreSQL stopped starts as the remote primary's
     * replica: as it is when its history is part of the remote's (checked where the remote streams),
     * else rewound or re-cloned as {@link #startAsReplica} decides. With {@code restore_command}
     * alone there is nothing to check against: it starts and replays the archive.
     */
    private Decision startStandbyLeader(HaInput in, Member remote) {
        Decision d = remote.connUrl() == null
                ? Decision.of(
                        "starting as a standby leader because i had the session lock",
                        new Action.StartReplica(remote, remote, Action.Preparation.NONE, true))
                : startAsReplica(in, remote, remote);
        if (d.actions().stream().anyMatch(x -> x instanceof Action.Inquiry)) {
            return d;
        }
        List<Action> a = new ArrayList<>();
        a.add(new Action.RenewLock());
        a.addAll(d.actions());
        return new Decision(
                a,
                d.reason()
                        .replace(
                                "starting as a secondary of the leader",
                                "starting as a standby" + " leader following the remote primary"),
                d.wakeWithin());
    }

    private static String where(Member remote) {
        return remote.connUrl() == null ? "(restore_command only)" : "(" + remote.connUrl() + ")";
    }

    /** The lock holder is a replica: promote it (the winner of a manual failover clears the request first). */
    private Decision promoteWithLock(HaInput in, ClusterState c, String reason) {
        if (StandbyCluster.isActive(in.config())) {
            return standbyLeaderCycle(in, c, ""); // never a writable primary in a standby cluster
        }
        PostgresStatus pg = in.postgres();
        List<Action> a = new ArrayList<>();
        a.add(new Action.RenewLock());
        if (ManualFailover.effective(c) != null) {
            a.add(new Action.ClearFailover(c.failover()));
        }
        Member former = formerPrimaryToFence(in);
        if (former != null) {
            a.add(new Action.FenceFormerPrimary(former));
        }
        if (QuorumCommit.isRequested(in.config())) {
            // Patroni 4: wait for enough of the former quorum that the key it wrote stays true; the
            // key moves to this node once it is primary (QuorumCommit.plan)
            a.add(new Action.SetSynchronousStandbyNames(QuorumCommit.beforePromote(in.name(), c, in.config())));
        } else if (in.config().isSynchronousMode()) {
            // Patroni: the new leader first makes itself the sync key's owner with no standby
            // (the race for that write is lost if the lock was), then waits for none / any one
            a.add(new Action.WriteSync(
                    new SyncState(in.name(), List.of(), null, 0),
                    c.sync() == null ? Dcs.ABSENT : c.sync().version()));
            a.add(new Action.SetSynchronousStandbyNames(
                    in.config().isSynchronousModeStrict() ? SyncStandbys.ANY_STANDBY : ""));
        }
        // the DCS learns of the new timeline before PostgreSQL can accept a write on it: a former
        // quorum leader whose voters are out of sight would otherwise take the lock without votes
        // and drop the commits acknowledged here (seed 1366440224: this promotion took 6 s, the DCS
        // went down meanwhile and a history written afterwards never got there)
        a.add(new Action.WriteHistory(historyWithPromotion(in, c)));
        a.add(new Action.Promote());
        return new Decision(a, reason, null);
    }

    /**
     * The former primary to fence before this promotion (rows 26a–26b), or null: the leader this
     * node saw last ({@link HaInput#formerLeader}), since its member key has usually lapsed with its
     * session by now. Not in pause, where the operator owns every PostgreSQL; nor when the former
     * leader's last record still shows pause: its agent stopped (or was lost) in maintenance mode
     * and has not run since the cluster resumed, so, as Patroni leaves it, its PostgreSQL is the
     * operator's (Patroni's own acceptance scenario "check rejoin of the former primary with
     * pg_rewind" stops the leader's agent in pause, resumes, and writes to that PostgreSQL after a
     * failover to make it diverge).
     *
     * <p>A {@code failover} key does not spare it. The engine cannot tell a lock released from one
     * that lapsed: the former leader of a switchover stopped its PostgreSQL before it released the
     * lock, so the fence finds it refusing connections or back in recovery and leaves it alone; but
     * a switchover or failover whose leader froze instead lets the lock lapse like any other, and
     * its PostgreSQL runs on (simulation seed 127: a failover request while the leader's agent was
     * frozen left two primaries taking writes for 30 s when the key spared it). Likewise after the
     * takeover of a crashed leader's lock (row 36b): its PostgreSQL refused connections already and
     * refuses this one too.
     */
    private static Member formerPrimaryToFence(HaInput in) {
        Member former = in.formerLeader();
        if (former == null
                || former.name().equals(in.name())
                || former.connUrl() == null
                || in.config().isPaused()
                || former.isPaused()) {
            return null;
        }
        return former;
    }

    /**
     * The {@code history} key with the entry of the timeline this replica leaves by promoting (at its
     * position now), replacing the entry of an earlier attempt at the same promotion, and trimmed to
     * Patroni's {@code max_timelines_history} (0 keeps every entry).
     */
    private static List<HistoryEntry> historyWithPromotion(HaInput in, ClusterState c) {
        PostgresStatus pg = in.postgres();
        List<HistoryEntry> history = new ArrayList<>(c.history());
        history.removeIf(h -> h.timeline() == pg.timeline());
        history.add(new HistoryEntry(
                pg.timeline(),
                pg.lastLsn(),
                "no recovery target specified",
                DcsJson.formatTimestamp(in.now()),
                in.name()));
        long keep = in.config().maxTimelinesHistory();
        if (keep > 0 && history.size() > keep) {
            history = new ArrayList<>(history.subList(history.size() - (int) keep, history.size()));
        }
        return history;
    }

    /**
     * What a running primary with the lock keeps doing, in pause too (as Patroni): its replication
     * slots ({@link SlotPlan}: the members', the permanent ones), and the synchronous standbys or the
     * quorum. Adds the actions to {@code a}; returns when to look again (a standby about to count as
     * synchronous, a quorum step waiting), null for the usual loop_wait.
     */
    private static Duration replicationHousekeeping(HaInput in, ClusterState c, SlotPlan.Plan slots, List<Action> a) {
        PostgresStatus pg = in.postgres();
        if (!slots.changes().isEmpty()) {
            a.add(new Action.ChangeSlots(slots.changes()));
        }
        List<Action> sync = QuorumCommit.isRequested(in.config())
                ? QuorumCommit.plan(in.name(), c, pg, in.config(), in.syncReadyLsn())
                : SyncStandbys.plan(in.name(), c, pg, in.config(), in.syncReadyLsn());
        a.addAll(sync);
        boolean soon = QuorumCommit.isRequested(in.config())
                ? !sync.isEmpty()
                : sync.stream()
                        .anyMatch(x -> x instanceof Action.SetSynchronousStandbyNames s
                                && !s.value().isEmpty());
        return soon ? min(SYNC_RECHECK, in.config().loopWait()) : null;
    }

    // ---- a replica of another leader ---------------------------------------------------------------

    private Decision followLeader(HaInput in, ClusterState c) {
        PostgresStatus pg = in.postgres();
        String leaderName = c.leader().name();
        if (pg.isPrimary()) {
            return Decision.of(
                    "demoting self because I do not have the lock and I was a leader",
                    new Action.Demote(StopMode.IMMEDIATE, false, false));
        }
        Optional<Member> leader = c.leaderMember();
        if (leader.isEmpty() || leader.get().connUrl() == null) {
            return Decision.of("no action. I am (" + in.name() + "), a secondary, and the leader (" + leaderName
                    + ") has not published its member record yet");
        }
        Decision crashed = leaderGone(in, c, leader.get());
        if (crashed != null) {
            return crashed;
        }
        if (in.reinitializeRequested()) {
            return Decision.of(
                    "reinitializing from leader '" + leaderName + "'", new Action.Reinitialize(leader.get()));
        }
        if (in.restartRequested()) {
            return Decision.of("restarting postgresql as requested", new Action.Restart());
        }
        Optional<Member> upstream =
                Upstream.of(in.name(), in.tags(), c).map(m -> StandbyCluster.upstream(in.config(), m));
        if (!Upstream.nameOf(upstream).equals(in.following())) {
            String what = StandbyCluster.isActive(in.config()) ? "standby leader" : "leader";
            String reason = upstream.isPresent() && upstream.get().name().equals(leaderName)
                    ? "following new " + what + " (" + leaderName + ")"
                    : "replicating from " + Upstream.describe(upstream, in.tags(), c);
            return follow(in, leader.get(), upstream.orElse(null), reason);
        }
        long leaderTimeline = leader.get().timeline();
        if (upstream.isPresent()
                && !pg.isStreaming()
                && leaderTimeline > 0
                && pg.timeline() > 0
                && leaderTimeline != pg.timeline()) {
            // the same leader name on another timeline: it lost and regained the lock while this node
            // could not see it (cut off from the DCS, paused), and its history may have left this one
            return follow(
                    in,
                    leader.get(),
                    upstream.get(),
                    "not streaming from the leader (" + leaderName + ") on its timeline " + leaderTimeline
                            + " (mine is " + pg.timeline() + "): following it again");
        }
        String following =
                "no action. I am (" + in.name() + "), a secondary, and following a leader (" + leaderName + ")";
        return withReplicaSlots(in, c, leader.get(), following);
    }

    /**
     * A running replica's slots ({@link SlotPlan}): its copies of the member and permanent slots,
     * advanced to the leader's published positions; a permanent logical slot it lacks is copied from
     * the leader, which restarts PostgreSQL (as Patroni; not while failsafe mode keeps the cluster
     * going without the DCS).
     */
    private static Decision withReplicaSlots(HaInput in, ClusterState c, Member leader, String reason) {
        SlotPlan.Plan slots = SlotPlan.plan(in.name(), in.tags(), false, c, in.config(), in.postgres());
        List<Action> a = new ArrayList<>();
        if (!slots.changes().isEmpty()) {
            a.add(new Action.ChangeSlots(slots.changes()));
        }
        if (!slots.copy().isEmpty() && !in.config().isPaused() && isPrimaryRole(leader)) {
            a.add(new Action.CopyLogicalSlots(leader, slots.copy()));
            return new Decision(a, "copying logical slots " + slots.copy().keySet() + " from the primary", null);
        }
        return new Decision(a, reason, null);
    }

    /**
     * A confirmed crash (rows 36a–36c): the leader's REST API and PostgreSQL both refused connections
     * from a live host, twice between cycles and again now. Its agent cannot renew the lock and its
     * PostgreSQL takes no writes, so the healthiest replica need not wait for the ttl: it takes the
     * lock over as it was read (a live old agent then only loses its next renewal) and promotes.
     * Null when the leader is not suspected or the suspicion is about another lock.
     */
    private Decision leaderGone(HaInput in, ClusterState c, Member leader) {
        HaInput.LeaderGone gone = in.leaderGone();
        if (gone == null
                || !gone.leader().equals(leader.name())
                || gone.lockVersion() != c.leader().version()) {
            return null;
        }
        String what = "the leader (" + leader.name() + ") refuses connections on its REST API and PostgreSQL ports";
        if (!gone.confirmed()) {
            return Decision.of(what + ": checking again", new Action.ConfirmLeaderGone(leader));
        }
        if (!in.peersAsked()) {
            return Decision.of(
                    what + ": asking the other members for their status", new Action.ProbePeers(peersToAsk(in, c)));
        }
        String unhealthy = HealthiestNode.whyNotHealthiest(in, c);
        if (unhealthy != null) {
            return Decision.of(what + ", but I am not the healthiest node: " + unhealthy);
        }
        return Decision.of(
                what + ": its agent and PostgreSQL are gone from a live host; I am the healthiest node,"
                        + " taking over its lock",
                new Action.TakeOverLock(leader.name(), c.leader().version()));
    }

    /**
     * Points the running replica at its {@link Upstream} (the leader, a {@code replicatefrom}
     * member, or nobody), once it is known not to have diverged from the leader: a
     * replica that received WAL the new leader never had (it was ahead when the leader was promoted)
     * cannot stream from it, and stops so that the next pass rewinds or re-clones it. A leader still
     * being promoted is followed and checked again once it is a primary.
     */
    private Decision follow(HaInput in, Member leader, Member upstream, String reason) {
        if (!isPrimaryRole(leader)) {
            return Decision.of(reason, new Action.Follow(upstream, false));
        }
        HaInput.Divergence d = in.divergence();
        if (d == null || !d.leader().equals(leader.name())) {
            return Decision.of(
                    "checking whether my history diverged from the leader (" + leader.name() + ")",
                    new Action.CheckDivergence(leader));
        }
        if (d.diverged()) {
            return Decision.of(
                    "diverged from the new leader (" + leader.name() + "): stopping to rewind",
                    new Action.StopToRewind(leader));
        }
        return Decision.of(reason, new Action.Follow(upstream, true));
    }

    /** Patroni's primary_stop_timeout, in synchronous mode only: the graceful stop's bound. */
    static Action.Demote boundStop(HaInput in, Action.Demote d) {
        Duration t = in.config() == null ? Duration.ZERO : in.config().primaryStopTimeout();
        return in.config() != null && in.config().isSynchronousMode() && !t.isZero() ? d.withStopTimeout(t) : d;
    }

    // ---- the agent shuts down ----------------------------------------------------------------------

    /**
     * What a node does when its agent stops ({@code HaNode.close()}): a leader checkpoints, stops
     * (its walsenders ship the last WAL), records its last position in {@code status} and releases
     * the lock, so that a replica takes over without waiting for the ttl; any other member stops
     * PostgreSQL. In pause nothing is done: PostgreSQL keeps running and the lock is not released
     * (it lapses with the DCS session). {@code in} needs only the dynamic configuration, the
     * PostgreSQL status and whether the lock is proven ours.
     */
    Decision decideShutdown(HaInput in) {
        PostgresStatus pg = in.postgres();
        boolean leader = in.lockValidUntil() != null;
        if (in.config() != null && in.config().isPaused()) {
            // as Patroni: in pause the operator owns PostgreSQL; an agent stop changes nothing of it
            return Decision.of("shutting down in pause: the leader key is not released and PostgreSQL is not stopped");
        }
        if (leader && pg.isRunning()) {
            return Decision.of(
                    "shutting down: stopping the primary and releasing the leader lock",
                    boundStop(in, new Action.Demote(StopMode.FAST, true, true, Action.DemoteCause.SHUTDOWN)));
        }
        if (leader) {
            List<Action> a = new ArrayList<>();
            if (pg.lastLsn() > 0) {
                a.add(new Action.WriteStatus(pg.lastLsn()));
            }
            a.add(new Action.ReleaseLock());
            return new Decision(a, "shutting down: releasing the leader lock", null);
        }
        if (pg.isRunning()) {
            return Decision.of("shutting down: stopping postgres", new Action.Stop());
        }
        return Decision.of("shutting down");
    }

    /**
     * Whether the stopping agent leaves its DCS session to lapse with the ttl instead of ending it:
     * in pause, so that the leader key stays as Patroni leaves it (on etcd; ZooKeeper and Consul
     * clients end their session when closed).
     */
    static boolean keepsSessionAtShutdown(HaInput in) {
        return in.config() != null && in.config().isPaused();
    }

    // ---- operator requests ----------------------------------------------------------------------

    /**
     * Whether a restart request applies to this member now: its {@code role} filter ({@code master}
     * read as {@code primary}) matches the local PostgreSQL's role, and with {@code restart_pending}
     * only when a restart is pending.
     */
    static boolean restartApplies(RestartRequest r, PostgresStatus pg) {
        if (r.role() != null) {
            String want = "master".equals(r.role()) ? "primary" : r.role();
            boolean primary = pg.isRunning() ? pg.isPrimary() : pg.role() == PostgresStatus.Role.PRIMARY;
            if (!want.equals(primary ? "primary" : "replica")) {
                return false;
            }
        }
        return !r.restartPending() || pg.pendingRestart();
    }

    // ---- helpers ----------------------------------------------------------------------------------

    /**
     * The members whose status the race and a switchover compare against: every other member and,
     * in failsafe mode, the members of the {@code failsafe} key too, so that a primary cut off from
     * the DCS (its member key gone) answers "still alive" (as Patroni).
     */
    private static List<Member> peersToAsk(HaInput in, ClusterState c) {
        List<Member> others = new ArrayList<>();
        for (Member m : c.members()) {
            if (!m.name().equals(in.name())) {
                others.add(m);
            }
        }
        if (in.config().isFailsafeMode() && c.failsafe() != null) {
            c.failsafe().forEach((name, url) -> {
                if (!name.equals(in.name())
                        && others.stream().noneMatch(m -> m.name().equals(name))) {
                    others.add(new Member(name, -1, Map.of("api_url", url)));
                }
            });
        }
        return others;
    }

    /** Whether a member record says its PostgreSQL runs out of recovery (Patroni 2 wrote "master"). */
    static boolean isPrimaryRole(Member m) {
        if (StandbyCluster.isRemote(m)) {
            return true; // the remote primary of a standby cluster (or the standby leader it cascades from)
        }
        String role = m.role();
        return "primary".equals(role) || "master".equals(role) || "standby_leader".equals(role);
    }

    private static String describe(PostgresStatus pg) {
        if (!pg.isRunning()) {
            return "postgres is " + pg.state();
        }
        return pg.isPrimary() ? "a primary" : "a secondary";
    }

    static String seconds(Duration d) {
        return String.format(java.util.Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
    }

    static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
