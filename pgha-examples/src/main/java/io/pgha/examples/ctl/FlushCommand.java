package io.pgha.examples.ctl;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.Failover;
import io.pgha.dcs.Member;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code flush}: discards scheduled restarts ({@code DELETE /restart} on the members) or a
 * scheduled switchover ({@code DELETE /switchover} on the first member that answers, the leader
 * first; when none answers, the {@code failover} key is deleted with compare-and-set).
 */
@Command(name = "flush", description = "Discard a scheduled restart or switchover")
final class FlushCommand extends Verb {
    @Parameters(
            paramLabel = "[CLUSTER] [MEMBER...] restart|switchover",
            arity = "1..*",
            description = "Cluster name (default: the config's scope), members (restart only), and what to discard")
    List<String> words = new ArrayList<>();

    @Option(
            names = {"-r", "--role"},
            paramLabel = "ROLE",
            defaultValue = "any",
            description = "Flush only members with this role: leader, primary, standby-leader, replica, standby, any")
    String role;

    @Option(names = "--force", description = "Do not ask for confirmation")
    boolean force;

    @Override
    public Integer call() {
        String target = words.get(words.size() - 1);
        if (!target.equals("restart") && !target.equals("switchover")) {
            throw new CtlException(
                    "flush what? The last argument must be 'restart' or 'switchover', got '" + target + "'",
                    Ctl.EXIT_USAGE);
        }
        String[] cm = splitClusterAndMembers(words.subList(0, words.size() - 1));
        String name = cm[0];
        ClusterState cluster = session().read(name);
        return target.equals("restart")
                ? flushRestarts(cluster, name, List.of(cm).subList(1, cm.length))
                : flushSwitchover(cluster, name);
    }

    private int flushRestarts(ClusterState cluster, String name, List<String> names) {
        Session s = session();
        List<String> failed = new ArrayList<>();
        for (Member m : selectMembers(cluster, name, names, Role.parse(role), force, "flush", true)) {
            try {
                PatroniApi.Response r = s.api().call(m, "DELETE", "restart", null);
                if (r.status() == 404) {
                    s.out.println("No scheduled restart for member " + m.name());
                } else if (r.ok()) {
                    s.out.println("Success: flush scheduled restart for member " + m.name());
                } else {
                    s.out.println("Failed: flush scheduled restart for member " + m.name() + ", status code="
                            + r.status() + ", (" + r.text() + ")");
                    failed.add(m.name() + ": " + r.status() + " " + r.text());
                }
            } catch (PatroniApi.Unreachable e) {
                failed.add(CtlException.oneLine(e.getMessage()));
            }
        }
        if (!failed.isEmpty()) {
            throw new CtlException("flush failed on " + failed.size() + " member(s): " + String.join("; ", failed));
        }
        return 0;
    }

    private int flushSwitchover(ClusterState cluster, String name) {
        Session s = session();
        Failover failover = cluster.failover();
        if (failover == null || failover.scheduledAt() == null) {
            s.out.println("No pending scheduled switchover");
            return 0;
        }
        for (Member m : PauseToggle.leaderFirst(cluster)) {
            try {
                PatroniApi.Response r = s.api().call(m, "DELETE", "switchover", null);
                if (r.status() == 200) {
                    s.out.println("Success: " + r.text());
                    return 0;
                }
                if (r.status() == 404) {
                    throw new CtlException("Failed: " + r.text());
                }
                s.out.println("Failed: member=" + m.name() + ", status_code=" + r.status() + ", (" + r.text() + ")");
            } catch (PatroniApi.Unreachable e) {
                s.err.println(
                        "warning: member " + m.name() + " is not accessible: " + CtlException.oneLine(e.getMessage()));
            }
        }
        s.out.println(timestamp() + " Could not find any accessible member of cluster " + name);
        try {
            Dcs dcs = s.dcs(name);
            if (!dcs.writeFailover(null, failover.version())) {
                throw new CtlException("the failover key changed in the DCS meanwhile; nothing was deleted,"
                        + " check 'list' and try again");
            }
        } catch (DcsException e) {
            throw new CtlException("could not delete the failover key from the DCS: " + e.getMessage());
        }
        s.out.println("Success: scheduled switchover deleted from the DCS");
        return 0;
    }
}
