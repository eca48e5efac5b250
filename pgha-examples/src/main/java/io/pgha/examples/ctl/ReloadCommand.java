package io.pgha.examples.ctl;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Member;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code reload}: members re-read their configuration and reload PostgreSQL. */
@Command(name = "reload", description = "Reload the configuration of cluster members")
final class ReloadCommand extends Verb {
    @Parameters(
            paramLabel = "[CLUSTER] [MEMBER...]",
            arity = "0..*",
            description = "Cluster name (default: the config's scope) and the members to reload (default: all)")
    List<String> words = new ArrayList<>();

    @Option(
            names = {"-r", "--role"},
            paramLabel = "ROLE",
            defaultValue = "any",
            description = "Reload only members with this role: leader, primary, standby-leader, replica, standby, any")
    String role;

    @Option(names = "--force", description = "Do not ask for confirmation at any point")
    boolean force;

    @Override
    public Integer call() {
        Session s = session();
        String[] cm = splitClusterAndMembers(words);
        String name = cm[0];
        ClusterState cluster = s.read(name);
        List<Member> members = selectMembers(
                cluster, name, List.of(cm).subList(1, cm.length), Role.parse(role), force, "reload", true);
        long loopWait = DynamicConfig.from(
                        cluster.config() == null ? Map.of() : cluster.config().data())
                .loopWait()
                .toSeconds();
        List<String> failed = new ArrayList<>();
        for (Member m : members) {
            try {
                PatroniApi.Response r = s.api().call(m, "POST", "reload", null);
                if (r.status() == 200) {
                    s.out.println("No changes to apply on member " + m.name());
                } else if (r.status() == 202) {
                    s.out.println("Reload request received for member " + m.name() + " and will be processed within "
                            + loopWait + " seconds");
                } else {
                    s.out.println("Failed: reload for member " + m.name() + ", status code=" + r.status() + ", ("
                            + r.text() + ")");
                    failed.add(m.name() + ": " + r.status() + " " + r.text());
                }
            } catch (PatroniApi.Unreachable e) {
                s.out.println("Failed: reload for member " + m.name() + ", " + CtlException.oneLine(e.getMessage()));
                failed.add(CtlException.oneLine(e.getMessage()));
            }
        }
        if (!failed.isEmpty()) {
            throw new CtlException("reload failed on " + failed.size() + " of " + members.size() + " member(s): "
                    + String.join("; ", failed));
        }
        return 0;
    }
}
