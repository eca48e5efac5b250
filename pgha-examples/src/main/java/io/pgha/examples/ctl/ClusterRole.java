package io.pgha.examples.ctl;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Member;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * Patroni 4's {@code change_cluster_role}, behind {@code demote-cluster} and {@code promote-cluster}:
 * {@code PATCH /config {"standby_cluster": {...}}} (or {@code null}) on the leader, then a line a
 * second until its member key shows the target role ({@code standby_leader}, or a primary) and
 * {@code running}, and the member table.
 */
final class ClusterRole {
    /** How long the verb watches for the change before it gives up (Patroni watches until interrupted). */
    static final Duration WATCH_LIMIT = Duration.ofMinutes(5);

    private ClusterRole() {}

    static int run(Verb verb, String clusterArg, boolean force, Map<String, Object> standbyConfig) {
        boolean demote = standbyConfig != null;
        String action = demote ? "demot" : "promot";
        Session s = verb.session();
        String name = s.clusterName(clusterArg);
        ClusterState cluster = s.read(name);
        Member leader = cluster.leaderMember().orElse(null);
        if (!cluster.hasLeader() || leader == null) {
            throw new CtlException("Cluster has no leader, " + action + "ion is not possible");
        }
        if (demote ? "standby_leader".equals(leader.role()) : isPrimary(leader.role())) {
            throw new CtlException("Cluster is already in the required state");
        }
        s.out.println("Current cluster topology");
        MemberTable.print(s.out, cluster, name, false, "pretty");
        if (!force && !s.prompter.confirm("Are you sure you want to " + action + "e " + name + " cluster?")) {
            throw new CtlException("Aborted cluster " + action + "ion");
        }
        Map<String, Object> patch = new HashMap<>();
        patch.put("standby_cluster", standbyConfig);
        PatroniApi.Response r;
        try {
            r = s.api().call(leader, "PATCH", "config", patch);
        } catch (PatroniApi.Unreachable e) {
            throw new CtlException("Failed to " + action + "e " + name + " cluster: " + e.getMessage());
        }
        if (r.status() != 200) {
            throw new CtlException("Failed to " + action + "e " + name + " cluster: /config PATCH status code="
                    + r.status() + ", (" + r.text() + ")");
        }
        Instant deadline = Instant.now().plus(WATCH_LIMIT);
        while (true) {
            ClusterState now = s.read(name);
            Member l = now.leaderMember().orElse(null);
            String role = l == null ? null : l.role();
            String state = l == null ? null : l.state();
            boolean done =
                    l != null && (demote ? "standby_leader".equals(role) : isPrimary(role)) && "running".equals(state);
            if (done) {
                s.out.println(verb.timestamp().substring(0, 19) + " cluster is successfully " + action + "ed");
                MemberTable.print(s.out, now, name, false, "pretty");
                return 0;
            }
            s.out.println(verb.timestamp().substring(0, 19) + " cluster is unlocked: " + !now.hasLeader()
                    + ", leader role: " + role + ", leader state: " + state);
            if (Instant.now().isAfter(deadline)) {
                throw new CtlException("the cluster was not " + action + "ed within " + WATCH_LIMIT.toMinutes()
                        + " minutes; the configuration change stays");
            }
            sleepSecond();
        }
    }

    private static boolean isPrimary(String role) {
        return "primary".equals(role) || "master".equals(role);
    }

    private static void sleepSecond() {
        try {
            Thread.sleep(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CtlException("interrupted");
        }
    }
}
