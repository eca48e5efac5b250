package io.pgha.ha;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Failover;
import io.pgha.dcs.Member;
import io.pgha.postgres.StopMode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Patroni's manual failover (a switchover, scheduled or not, or a failover naming a candidate) from
 * the leader's side: wait for the scheduled time, clear a request that cannot be carried out, or
 * demote gracefully in favour of a healthy candidate. In pause, as Patroni, only to a named candidate,
 * and the old primary comes back as its replica at once. Pure and stateless; part of {@link HaEngine}.
 */
final class ManualFailover {

    private ManualFailover() {}

    /** Patroni's manual failover from the leader's side; null when nothing to do this cycle. */
    static Decision fromLeader(HaInput in, ClusterState c, Failover f, List<Action> base) {
        Instant now = in.now();
        if (f.scheduledAt() != null) {
            if (now.isBefore(f.scheduledAt())) {
                Duration left = Duration.between(now, f.scheduledAt());
                return new Decision(
                        base,
                        "Awaiting failover at " + f.scheduledAt() + " (in " + HaEngine.seconds(left) + ")",
                        HaEngine.min(left, in.config().loopWait()));
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
        boolean paused = in.config().isPaused();
        if (paused && f.member() == null) {
            return clear(base, f, "Failover is possible only to a specific candidate in a paused state");
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
            if (ok && in.config().checkTimeline() && c.timeline() > 0 && p.timeline() < c.timeline()) {
                ok = false; // Patroni's check_timeline: behind the cluster's timeline
            }
            if (ok && !HealthiestNode.isSyncStandby(in, c, m.name())) {
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
        // graceful: checkpoint, stop (walsenders ship the last WAL), then release the lock; in pause no
        // later cycle starts PostgreSQL, so the demote itself restarts it as the candidate's replica
        Member rejoin = paused ? c.member(f.member()).orElse(null) : null;
        List<Action> a = List.of(
                new Action.RenewLock(),
                HaEngine.boundStop(
                        in, new Action.Demote(StopMode.FAST, true, true, Action.DemoteCause.SWITCHOVER, rejoin)));
        return new Decision(
                a,
                "manual failover: demoting myself in favour of "
                        + (f.member() == null ? String.join(", ", healthy) : f.member()),
                null);
    }

    /** The failover request, or null when there is none or it names nobody (Patroni clears with "{}"). */
    static Failover effective(ClusterState c) {
        Failover f = c.failover();
        return f == null || (f.leader() == null && f.member() == null) ? null : f;
    }

    private static Decision clear(List<Action> base, Failover f, String reason) {
        List<Action> a = new ArrayList<>(base);
        a.add(new Action.ClearFailover(f));
        return new Decision(a, reason, null);
    }
}
