package io.pgha.examples.ctl;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.DcsJson;
import io.pgha.dcs.Member;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * patronictl's {@code toggle_pause}: {@code PATCH /config {"pause": true}} (or {@code null} to
 * resume) on the first member that answers, the leader first; with {@code --wait}, waits until
 * every member reports the new state (its {@code /patroni} {@code pause} field, or the
 * {@code pause} of its member key), for up to loop_wait + 1 seconds as patronictl does.
 */
final class PauseToggle {
    private PauseToggle() {}

    static int run(Verb verb, String clusterArg, boolean paused, boolean wait) {
        Session s = verb.session();
        String name = s.clusterName(clusterArg);
        ClusterState cluster = s.read(name);
        if (cluster.isPaused() == paused) {
            throw new CtlException("Cluster is " + (paused ? "already" : "not") + " paused");
        }
        Map<String, Object> patch = new HashMap<>();
        patch.put("pause", paused ? Boolean.TRUE : null);
        String verbName = paused ? "pause" : "resume";
        for (Member m : leaderFirst(cluster)) {
            PatroniApi.Response r;
            try {
                r = s.api().call(m, "PATCH", "config", patch);
            } catch (PatroniApi.Unreachable e) {
                s.err.println(
                        "warning: member " + m.name() + " is not accessible: " + CtlException.oneLine(e.getMessage()));
                continue;
            }
            if (r.status() != 200) {
                throw new CtlException("Failed: " + verbName + " cluster management status code=" + r.status() + ", ("
                        + r.text() + ")");
            }
            if (wait) {
                waitUntilApplied(s, name, cluster, paused);
            } else {
                s.out.println("Success: cluster management is " + (paused ? "paused" : "resumed"));
            }
            return 0;
        }
        throw new CtlException("Can not find accessible cluster member");
    }

    static List<Member> leaderFirst(ClusterState cluster) {
        List<Member> out = new ArrayList<>();
        cluster.leaderMember().filter(m -> m.apiUrl() != null).ifPresent(out::add);
        for (Member m : cluster.members()) {
            if (m.apiUrl() != null && !out.contains(m)) {
                out.add(m);
            }
        }
        return out;
    }

    private static void waitUntilApplied(Session s, String name, ClusterState old, boolean paused) {
        s.out.println(
                "'" + (paused ? "pause" : "resume") + "' request sent, waiting until it is recognized by all nodes");
        DynamicConfig config = DynamicConfig.from(
                old.config() == null ? Map.of() : old.config().data());
        Duration timeout = config.loopWait().plusSeconds(1);
        Instant deadline = Instant.now().plus(timeout);
        List<String> remaining;
        while (true) {
            remaining = new ArrayList<>();
            ClusterState cluster = s.read(name);
            for (Member m : old.members()) {
                if (m.apiUrl() == null) {
                    continue;
                }
                Member now = cluster.member(m.name()).orElse(null);
                if (now != null && !recognized(s, now, paused)) {
                    remaining.add(m.name());
                }
            }
            if (remaining.isEmpty() || Instant.now().isAfter(deadline)) {
                break;
            }
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CtlException("interrupted while waiting for the members to recognize the pause state");
            }
        }
        if (!remaining.isEmpty()) {
            throw new CtlException(String.join(", ", remaining) + " didn't recognize the pause state after "
                    + timeout.toSeconds() + " seconds");
        }
        s.out.println("Success: cluster management is " + (paused ? "paused" : "resumed"));
    }

    private static boolean recognized(Session s, Member m, boolean paused) {
        if (m.data().containsKey("pause") && Boolean.TRUE.equals(m.data().get("pause")) == paused) {
            return true;
        }
        try {
            PatroniApi.Response r = s.api().get(m, "patroni");
            if (r.status() != 200) {
                return false;
            }
            return Boolean.TRUE.equals(DcsJson.readObject(r.body()).get("pause")) == paused;
        } catch (PatroniApi.Unreachable | IllegalArgumentException e) {
            return false;
        }
    }
}
