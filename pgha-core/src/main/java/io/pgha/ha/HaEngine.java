package io.pgha.ha;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.Failover;
import io.pgha.dcs.Member;
import io.pgha.dcs.SyncState;
import io.pgha.dcs.Tags;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.StopMode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Patroni's HA cycle as a pure function: {@code decide(input) -> Decision}. No I/O, no clock, no
 * state: the same input always gives the same decision, which is what lets the tests and the
 * deterministic simulation check it exhaustively. Thread-safe (stateless).
 *
 * <p>The order of the checks follows Patroni's {@code _run_cycle}: DCS unavailable, a lost lock,
 * a long action in progress, a foreign system identifier, an empty data directory, pause,
 * PostgreSQL not running, no leader (the race), the leader's own cycle (switchover, status), and
 * a replica following the leader. docs/engine.md has the decision table.
 */
public final class HaEngine {

    /** The failover_priority a member without the tag has. */
    private static final int DEFAULT_PRIORITY = 1;

    /** How soon the leader looks again whether a standby it added became synchronous. */
    private static final Duration SYNC_RECHECK = Duration.ofSeconds(1);

    /**
     * How long before the lock's proven expiry a primary that cannot renew it stops PostgreSQL:
     * a quarter of the ttl, between 1 and 5 seconds.
     */
    public static Duration safetyMargin(DynamicConfig config) {
        long quarter = config.ttl().toMillis() / 4;
        return Duration.ofMillis(Math.max(1000, Math.min(5000, quarter)));
    }

    /** Whether the node should ask the other members' REST APIs before deciding. */
    public static boolean needsPeers(ClusterState cluster, String name, DynamicConfig config, PostgresStatus pg) {
        if (cluster == null) {
            return false;
        }
        Failover f = effectiveFailover(cluster);
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

    public Decision decide(HaInput in) {
        if (in.cluster() == null) {
            return dcsUnavailable(in);
        }
        ClusterState c = in.cluster();
        PostgresStatus pg = in.postgres();
        boolean haveLock = c.isLeader(in.name());

        if (in.lockRenewFailed()) {
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
            return Decision.of("DCS is not accessible" + err + "; no action as " + describe(pg));
        }
        if (in.failsafeConfirmed()) {
            // every member of the failsafe key promised not to race for the lock: see Failsafe
            return Decision.of("DCS is not accessible" + err + "; continue to run as a leader because failsafe"
                            + " mode is enabled and all members are accessible")
                    .wakeWithin(in.config().loopWait());
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
                                + " more: keeping the primary running")
                        .wakeWithin(min(left, in.config().loopWait()));
            }
        }
        return Decision.of(
                "demoting self because DCS is not accessible and I was a leader" + err,
                new Action.Demote(StopMode.IMMEDIATE, false, false));
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
                    new Action.CloneFrom(s));
        }
        if (c.hasLeader()) {
            return Decision.of("waiting for the leader (" + c.leader().name() + ") to publish its member record");
        }
        return Decision.of("waiting for leader to bootstrap");
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

    private Decision paused(HaInput in, ClusterState c, boolean haveLock) {
        PostgresStatus pg = in.postgres();
        if (haveLock) {
            List<Action> a = new ArrayList<>();
            a.add(new Action.RenewLock());
            if (pg.isPrimary()) {
                a.add(new Action.WriteStatus(pg.writeLsn()));
            }
            return new Decision(a, "PAUSE: no action. I am (" + in.name() + "), the leader with the lock", null);
        }
        if (!c.hasLeader() && pg.isPrimary()) {
            return Decision.of("PAUSE: acquiring session lock as a leader", new Action.AcquireLock());
        }
        if (pg.isPrimary()) {
            return Decision.of("PAUSE: continue to run as primary without lock");
        }
        if (!pg.isRunning()) {
            return Decision.of("PAUSE: postgres is not running");
        }
        return Decision.of("PAUSE: no action. I am (" + in.name() + "), a secondary"
                + (c.hasLeader() ? ", and following a leader (" + c.leader().name() + ")" : ""));
    }

    // ---- PostgreSQL not running ------------------------------------------------------------------

    private Decision postgresNotRunning(HaInput in, ClusterState c, boolean haveLock) {
        PostgresStatus pg = in.postgres();
        if (haveLock) {
            Duration timeout = in.config().primaryStartTimeout();
            Duration down =
                    in.primaryDownSince() == null ? Duration.ZERO : Duration.between(in.primaryDownSince(), in.now());
            if (isFailoverPossible(in, c) && (timeout.isZero() || down.compareTo(timeout) > 0)) {
                return Decision.of(
                        "primary is not running and primary_start_timeout (" + seconds(timeout)
                                + ") is over: releasing the leader lock so that a healthy replica takes over",
                        new Action.ReleaseLock());
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
            boolean formerPrimary = pg.role() == PostgresStatus.Role.PRIMARY;
            return Decision.of(
                    (formerPrimary
                                    ? "starting former primary as a replica of the leader ("
                                    : "starting as a secondary of the leader (")
                            + leader.get().name() + ")",
                    new Action.StartReplica(leader.get(), true));
        }
        String unhealthy = whyNotHealthiest(in, c);
        if (unhealthy == null) {
            return Decision.of(
                    "no leader and postgres is not running: I am the healthiest node, acquiring the leader lock",
                    new Action.AcquireLock(),
                    new Action.StartPrimary());
        }
        return Decision.of("waiting for leader: postgres is not running and " + unhealthy);
    }

    // ---- no leader: the race ---------------------------------------------------------------------

    private Decision unlocked(HaInput in, ClusterState c) {
        PostgresStatus pg = in.postgres();
        String unhealthy = whyNotHealthiest(in, c);
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

    /** Null when this node may take the lock, else why not. */
    String whyNotHealthiest(HaInput in, ClusterState c) {
        if (Tags.noFailover(in.tags())) {
            return "I am tagged nofailover";
        }
        if (in.watchdogFailed()) {
            return "watchdog device is not usable"; // Patroni's words; watchdog.mode is required
        }
        PostgresStatus pg = in.postgres();
        if (!pg.isPrimary() && in.failsafeLeaderUntil() != null && in.now().isBefore(in.failsafeLeaderUntil())) {
            return "failsafe mode: the primary called me and I promised not to race for the lock for "
                    + seconds(Duration.between(in.now(), in.failsafeLeaderUntil())) + " more";
        }
        // Patroni: a member missing from the failsafe key was never asked by a primary cut off from
        // the DCS, which may still run on the others' promises (found by the simulation, seed 65)
        if (outsideFailsafeKey(in, c, in.name())) {
            return "failsafe mode: I am not in the failsafe key";
        }
        // before any failover request: in synchronous mode only a member PostgreSQL waited for has every
        // acknowledged commit, whoever a request names (found by the simulation, SimSafetyTest seed 12)
        boolean syncOnly = in.config().isSynchronousMode();
        boolean quorum = QuorumCommit.isRequested(in.config());
        if (quorum ? !QuorumCommit.isActive(in.config(), c) : !maySyncPromote(in, c, in.name())) {
            return c.sync() == null || c.sync().leader() == null
                    ? "synchronous mode is on and no sync key names a standby yet"
                    : "I am not a synchronous standby";
        }
        if (quorum) {
            // only quorum + 1 of the voters and the former leader together hold every acknowledged commit
            String noQuorum = QuorumCommit.whyNoQuorum(
                    selfStatus(in),
                    pg.role() == PostgresStatus.Role.PRIMARY,
                    c,
                    in.peers().values());
            if (noQuorum != null) {
                return noQuorum;
            }
        }
        Failover f = effectiveFailover(c);
        String formerLeader = null;
        if (f != null && (f.scheduledAt() == null || !in.now().isBefore(f.scheduledAt()))) {
            // as in Patroni, the former leader of a switchover is not a rival in the race: were it
            // ahead (it stopped after its replicas received its last WAL, or died with some unsent),
            // comparing against it would leave nobody to take the lock while it declines to
            formerLeader = f.leader();
            if (in.name().equals(f.member())) {
                return null;
            }
            boolean candidateMayLead = (!syncOnly
                            || f.member() == null
                            || (quorum ? candidateHasQuorum(in, c, f.member()) : maySyncPromote(in, c, f.member())))
                    && (f.member() == null || !outsideFailsafeKey(in, c, f.member())); // seed 107
            if (f.member() != null && candidateMayLead) {
                PeerStatus candidate = in.peers().get(f.member());
                if (candidate != null && "running".equals(candidate.state()) && !candidate.noFailover()) {
                    return "the failover candidate (" + f.member() + ") is healthy and takes over";
                }
            }
            // the former leader stands aside only while another member can take over (as in Patroni):
            // were none left, a switchover request would leave the cluster without a leader for good
            if (in.name().equals(f.leader()) && isFailoverPossible(in, c)) {
                return "I am the former leader of a switchover";
            }
        }
        long mine = pg.lastLsn();
        long optime = c.status().optime();
        long maxLag = in.config().maximumLagOnFailover();
        if (!pg.isPrimary() && optime - mine > maxLag) {
            return "my wal position " + mine + " is behind the last known leader position " + optime
                    + " by more than maximum_lag_on_failover (" + maxLag + ")";
        }
        int myPriority = Tags.failoverPriority(in.tags());
        for (PeerStatus p : in.peers().values()) {
            if (p.name().equals(in.name())) {
                continue;
            }
            if (p.isPrimary()) {
                return "primary (" + p.name() + ") is still alive";
            }
            // a member outside the failsafe key may not lead: being ahead, it would block everyone (seed 424)
            if (p.noFailover() || p.name().equals(formerLeader) || outsideFailsafeKey(in, c, p.name())) {
                continue;
            }
            if (p.walPosition() > mine) {
                return p.name() + " is ahead of me (" + p.walPosition() + " > " + mine + ")";
            }
            if (p.walPosition() == mine && p.failoverPriority() > myPriority) {
                return p.name() + " has the same wal position and a higher failover_priority";
            }
        }
        return null;
    }

    /**
     * Synchronous mode: whether {@code member} may take the lock. Only the sync key's leader and the
     * standbys it names have every acknowledged commit; an absent key names nobody (as an empty one),
     * so a leader lost before its first sync cycle is not replaced by a member that may lack commits.
     */
    private static boolean maySyncPromote(HaInput in, ClusterState c, String member) {
        if (!in.config().isSynchronousMode()) {
            return true;
        }
        return c.sync() != null && (member.equals(c.sync().leader()) || c.sync().isSynchronous(member));
    }

    /** Failsafe mode: a non-empty {@code failsafe} key that does not name {@code member}, who may not lead. */
    private static boolean outsideFailsafeKey(HaInput in, ClusterState c, String member) {
        Map<String, String> failsafe = c.failsafe();
        return in.config().isFailsafeMode() && failsafe != null && !failsafe.isEmpty() && !failsafe.containsKey(member);
    }

    /** This node as the peers see it, for counting quorum votes. */
    private static PeerStatus selfStatus(HaInput in) {
        PostgresStatus pg = in.postgres();
        return new PeerStatus(
                in.name(),
                pg.isPrimary() ? "primary" : "replica",
                pg.isRunning() ? "running" : "stopped",
                pg.lastLsn(),
                pg.timeline(),
                Tags.noFailover(in.tags()),
                Tags.failoverPriority(in.tags()));
    }

    /**
     * Quorum commit: whether the named candidate of a failover has the votes it needs, as far as this
     * node sees: deferring to one that has not would leave the cluster without a leader (seed 11).
     */
    private static boolean candidateHasQuorum(HaInput in, ClusterState c, String candidate) {
        PeerStatus cand = in.peers().get(candidate);
        if (cand == null) {
            return false;
        }
        List<PeerStatus> others = new ArrayList<>(in.peers().values());
        others.remove(cand);
        others.add(selfStatus(in));
        return QuorumCommit.whyNoQuorum(cand, "primary".equals(cand.role()), c, others) == null;
    }

    /** Outside synchronous mode any member; in it, only a standby the sync key names. */
    private static boolean isSyncStandby(HaInput in, ClusterState c, String member) {
        return !in.config().isSynchronousMode() || (c.sync() != null && c.sync().isSynchronous(member));
    }

    private boolean isFailoverPossible(HaInput in, ClusterState c) {
        int candidates = 0;
        for (Member m : c.members()) {
            if (m.name().equals(in.name()) || !m.isRunning() || m.noFailover()) {
                continue;
            }
            if (!isSyncStandby(in, c, m.name())) {
                continue;
            }
            candidates++;
        }
        // quorum commit (as Patroni): one candidate and enough others to vouch for it
        int needed = QuorumCommit.isActive(in.config(), c) && c.sync().quorum() != null
                ? c.sync().quorum() + 1
                : 1;
        return candidates >= needed;
    }

    // ---- the leader's cycle ----------------------------------------------------------------------

    private Decision leaderCycle(HaInput in, ClusterState c) {
        PostgresStatus pg = in.postgres();
        if (in.watchdogFailed()) { // Patroni's enforce_primary_role with watchdog.mode required
            return pg.isReplica()
                    ? Decision.of(
                            "Not promoting self because watchdog could not be activated", new Action.ReleaseLock())
                    : Decision.of(
                            "Demoting self because watchdog could not be activated",
                            new Action.Demote(StopMode.IMMEDIATE, false, true));
        }
        List<Action> a = new ArrayList<>();
        a.add(new Action.RenewLock());
        if (pg.isReplica()) {
            // the winner of a manual failover clears the request before promoting
            if (effectiveFailover(c) != null) {
                a.add(new Action.ClearFailover(c.failover()));
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
            a.add(new Action.Promote());
            return new Decision(a, "promoted self to leader because I had the session lock", null);
        }
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
        a.add(new Action.WriteStatus(pg.writeLsn()));
        a.addAll(Failsafe.leaderActions(in, c));
        if (in.config().useSlots()) {
            Set<String> slots = new LinkedHashSet<>();
            for (Member m : c.members()) {
                if (!m.name().equals(in.name()) && !Tags.isTrue(m.tags().get(Tags.NOSTREAM))) {
                    slots.add(m.name());
                }
            }
            a.add(new Action.SyncSlots(slots));
        }
        List<Action> sync = QuorumCommit.isRequested(in.config())
                ? QuorumCommit.plan(in.name(), c, pg, in.config(), in.syncReadyLsn())
                : SyncStandbys.plan(in.name(), c, pg, in.config(), in.syncReadyLsn());
        a.addAll(sync);
        // look again soon while a standby may be about to count as synchronous, or a quorum step waits
        boolean soon = QuorumCommit.isRequested(in.config())
                ? !sync.isEmpty()
                : sync.stream()
                        .anyMatch(x -> x instanceof Action.SetSynchronousStandbyNames s
                                && !s.value().isEmpty());
        Duration wake = soon ? min(SYNC_RECHECK, in.config().loopWait()) : null;
        Failover f = effectiveFailover(c);
        if (f != null) {
            Decision d = switchoverFromLeader(in, c, f, a);
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

    /** Patroni's manual failover from the leader's side; null when nothing to do this cycle. */
    private Decision switchoverFromLeader(HaInput in, ClusterState c, Failover f, List<Action> base) {
        Instant now = in.now();
        if (f.scheduledAt() != null) {
            if (now.isBefore(f.scheduledAt())) {
                Duration left = Duration.between(now, f.scheduledAt());
                return new Decision(
                        base,
                        "Awaiting failover at " + f.scheduledAt() + " (in " + seconds(left) + ")",
                        min(left, in.config().loopWait()));
            }
            if (Duration.between(f.scheduledAt(), now)
                                    .compareTo(in.config().loopWait().multipliedBy(2))
                            > 0
                    && Duration.between(f.scheduledAt(), now).getSeconds() > 60) {
                return clear(base, f, "Found a stale failover value, cleaning up");
            }
        }
        if (f.leader() != null && !f.leader().equals(in.name())) {
            return clear(base, f, "manual failover: leader name does not match: " + f.leader() + " != " + in.name());
        }
        if (in.name().equals(f.member())) {
            return clear(base, f, "manual failover: I am already the leader, no need to failover");
        }
        long myLsn = in.postgres().writeLsn();
        long maxLag = in.config().maximumLagOnFailover();
        List<String> healthy = new ArrayList<>();
        for (Member m : c.members()) {
            if (m.name().equals(in.name()) || (f.member() != null && !f.member().equals(m.name()))) {
                continue;
            }
            PeerStatus p = in.peers().get(m.name());
            boolean ok = p != null
                    && "running".equals(p.state())
                    && !p.isPrimary()
                    && !p.noFailover()
                    && myLsn - p.walPosition() <= maxLag;
            if (ok && !isSyncStandby(in, c, m.name())) {
                ok = false;
            }
            if (ok) {
                healthy.add(m.name());
            }
        }
        if (f.member() != null && c.member(f.member()).isEmpty()) {
            return clear(base, f, "manual failover: candidate " + f.member() + " does not exist");
        }
        if (healthy.isEmpty()) {
            return clear(
                    base,
                    f,
                    f.member() == null
                            ? "manual failover: no healthy members found, failover is not possible"
                            : "manual failover: candidate " + f.member() + " is not healthy, failover is not possible");
        }
        // graceful: checkpoint, stop (walsenders ship the last WAL), then release the lock
        List<Action> a = List.of(new Action.RenewLock(), new Action.Demote(StopMode.FAST, true, true));
        return new Decision(
                a,
                "manual failover: demoting myself in favour of "
                        + (f.member() == null ? String.join(", ", healthy) : f.member()),
                null);
    }

    /** The failover request, or null when there is none or it names nobody (Patroni clears with "{}"). */
    private static Failover effectiveFailover(ClusterState c) {
        Failover f = c.failover();
        return f == null || (f.leader() == null && f.member() == null) ? null : f;
    }

    private static Decision clear(List<Action> base, Failover f, String reason) {
        List<Action> a = new ArrayList<>(base);
        a.add(new Action.ClearFailover(f));
        return new Decision(a, reason, null);
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
        if (in.reinitializeRequested()) {
            return Decision.of(
                    "reinitializing from leader '" + leaderName + "'", new Action.Reinitialize(leader.get()));
        }
        if (in.restartRequested()) {
            return Decision.of("restarting postgresql as requested", new Action.Restart());
        }
        if (!leaderName.equals(in.following())) {
            return Decision.of("following new leader (" + leaderName + ")", new Action.Follow(leader.get()));
        }
        long leaderTimeline = leader.get().timeline();
        if (!pg.isStreaming() && leaderTimeline > 0 && pg.timeline() > 0 && leaderTimeline != pg.timeline()) {
            // the same leader name on another timeline: it lost and regained the lock while this node
            // could not see it (cut off from the DCS, paused), and its history may have left this one
            return Decision.of(
                    "not streaming from the leader (" + leaderName + ") on its timeline " + leaderTimeline
                            + " (mine is " + pg.timeline() + "): following it again",
                    new Action.Follow(leader.get()));
        }
        return Decision.of(
                "no action. I am (" + in.name() + "), a secondary, and following a leader (" + leaderName + ")");
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private static String describe(PostgresStatus pg) {
        if (!pg.isRunning()) {
            return "postgres is " + pg.state();
        }
        return pg.isPrimary() ? "a primary" : "a secondary";
    }

    static String seconds(Duration d) {
        return String.format(java.util.Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** For tests and tools: the peers map keyed by member name. */
    static Map<String, PeerStatus> byName(List<PeerStatus> peers) {
        Map<String, PeerStatus> map = new java.util.LinkedHashMap<>();
        peers.forEach(p -> map.put(p.name(), p));
        return map;
    }
}
