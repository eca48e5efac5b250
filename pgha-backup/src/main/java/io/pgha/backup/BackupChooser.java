package io.pgha.backup;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Member;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Which member takes the cluster's backups, computed from a cluster snapshot alone, so that every
 * member reading the same snapshot reaches the same answer without a DCS key of its own.
 *
 * <p>The choice: the healthiest running replica (streaming from the leader, on the leader's
 * timeline, least lag behind the leader's WAL position, not tagged {@code nofailover}/{@code
 * nobackup}, then by name); when there is none, the leader. No leader: no backups. Two members
 * that briefly read different snapshots may both believe they are chosen; pgBackRest's repository
 * lock then refuses the second backup, so the worst case is a skipped attempt, never two at once.
 * Pure and thread-safe.
 */
public final class BackupChooser {

    private BackupChooser() {}

    /** The chosen member's name, empty when the cluster has no leader. */
    public static Optional<String> choose(ClusterState cluster) {
        if (cluster == null || !cluster.hasLeader() || cluster.isPaused()) {
            return Optional.empty();
        }
        String leaderName = cluster.leader().name();
        Optional<Member> leader = cluster.leaderMember();
        long leaderLsn = leader.map(Member::xlogLocation).orElse(0L);
        long leaderTimeline = leader.map(Member::timeline).orElse(0L);
        List<Member> candidates = cluster.members().stream()
                .filter(m -> !m.name().equals(leaderName))
                .filter(m -> healthyReplica(m, leaderTimeline))
                .sorted(Comparator.<Member>comparingLong(m -> lag(m, leaderLsn)).thenComparing(Member::name))
                .toList();
        if (!candidates.isEmpty()) {
            return Optional.of(candidates.get(0).name());
        }
        return leader.filter(Member::isRunning).map(Member::name).or(() -> Optional.of(leaderName));
    }

    /** True when {@code self} is the member {@link #choose} picks. */
    public static boolean isChosen(ClusterState cluster, String self) {
        return choose(cluster).map(self::equals).orElse(false);
    }

    static boolean healthyReplica(Member m, long leaderTimeline) {
        if (!m.isRunning()
                || !"replica".equals(m.role())
                || m.noFailover()
                || isTrue(m.tags().get("nobackup"))) {
            return false;
        }
        String replication = m.string("replication_state");
        if (replication != null && !replication.equals("streaming")) {
            return false;
        }
        if (replication == null && m.string("receive_lsn") == null) {
            return false; // no sign that it replicates at all
        }
        return leaderTimeline == 0 || m.timeline() == 0 || m.timeline() == leaderTimeline;
    }

    private static long lag(Member m, long leaderLsn) {
        long own = Math.max(m.number("replay_lsn", 0L), m.xlogLocation());
        return leaderLsn <= 0 ? 0 : Math.max(0, leaderLsn - own);
    }

    private static boolean isTrue(Object v) {
        return v instanceof Boolean b ? b : v != null && v.toString().equalsIgnoreCase("true");
    }
}
