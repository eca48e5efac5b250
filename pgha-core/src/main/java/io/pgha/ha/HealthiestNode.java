package io.pgha.ha;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Failover;
import io.pgha.dcs.Member;
import io.pgha.dcs.Tags;
import io.pgha.postgres.PostgresStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Patroni's {@code is_healthiest_node}: whether this member may take a free leader lock, and the
 * checks around it (who may be promoted in synchronous and quorum mode, whether a failover is
 * possible at all). Pure and stateless; part of {@link HaEngine}'s decision, split out so that each
 * reads in one sitting. docs/engine.md lists the rules in order.
 */
final class HealthiestNode {

    private HealthiestNode() {}

    /** Null when this node may take the lock, else why not. */
    static String whyNotHealthiest(HaInput in, ClusterState c) {
        if (Tags.noFailover(in.tags())) {
            return "I am tagged nofailover";
        }
        if (in.watchdogFailed()) {
            return "watchdog device is not usable"; // Patroni's words; watchdog.mode is required
        }
        PostgresStatus pg = in.postgres();
        if (in.promotionVetoedAt() != null
                && in.now().isBefore(in.promotionVetoedAt().plus(in.config().ttl()))) {
            // Patroni's backoff: the script said no a moment ago, let another member take the lock
            return "backoff: skip leader race after pre_promote script failure and releasing the lock voluntarily";
        }
        if (!pg.isPrimary() && in.failsafeLeaderUntil() != null && in.now().isBefore(in.failsafeLeaderUntil())) {
            return "failsafe mode: the primary called me and I promised not to race for the lock for "
                    + HaEngine.seconds(Duration.between(in.now(), in.failsafeLeaderUntil())) + " more";
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
        Failover f = ManualFailover.effective(c);
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
        long clusterTimeline = c.timeline();
        if (in.config().checkTimeline() && !pg.isPrimary() && clusterTimeline > 0 && pg.timeline() < clusterTimeline) {
            // Patroni's check_timeline: a replica still on an older timeline missed the last promotion
            return "my timeline " + pg.timeline() + " is behind the last known cluster timeline " + clusterTimeline;
        }
        int myPriority = Tags.failoverPriority(in.tags());
        for (PeerStatus p : in.peers().values()) {
            if (p.name().equals(in.name())) {
                continue;
            }
            if (p.isPrimary()) {
                return "primary (" + p.name() + ") is still alive";
            }
            // a member outside the failsafe key may not lead: being ahead, it would block everyone (seed
            // 424); so in synchronous mode a member the sync key does not name, which Patroni leaves out
            // of the comparison too (seed 2074573013: a former primary's diverged WAL kept the only
            // synchronous standby deferring to it, while it could not race: no leader for good)
            if (p.noFailover()
                    || p.name().equals(formerLeader)
                    || outsideFailsafeKey(in, c, p.name())
                    || (syncOnly && !quorum && !maySyncPromote(in, c, p.name()))) {
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
    static boolean isSyncStandby(HaInput in, ClusterState c, String member) {
        return !in.config().isSynchronousMode() || (c.sync() != null && c.sync().isSynchronous(member));
    }

    static boolean isFailoverPossible(HaInput in, ClusterState c) {
        int candidates = 0;
        for (Member m : c.members()) {
            if (m.name().equals(in.name()) || !m.isRunning() || m.noFailover()) {
                continue;
            }
            // a member outside the failsafe key cannot race either: the former leader standing aside for
            // it would leave the cluster without a leader (seed 2586808329)
            if (!isSyncStandby(in, c, m.name()) || outsideFailsafeKey(in, c, m.name())) {
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
}
