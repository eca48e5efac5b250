package io.pgha.examples.ctl;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.DcsJson;
import io.pgha.dcs.Member;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code reinit}: replicas throw their data directory away and clone it again. */
@Command(name = "reinit", description = "Reinitialize replicas (a fresh copy of the data directory)")
final class ReinitCommand extends Verb {
    @Parameters(
            paramLabel = "[CLUSTER] MEMBER...",
            arity = "0..*",
            description = "Cluster name (default: the config's scope) and the replicas to reinitialize")
    List<String> words = new ArrayList<>();

    @Option(names = "--force", description = "Do not ask for confirmation; cancel a reinitialization in progress")
    boolean force;

    @Option(names = "--from-leader", description = "Take the base backup from the leader")
    boolean fromLeader;

    @Option(names = "--wait", description = "Wait until the reinitialization completes")
    boolean await;

    @Override
    public Integer call() throws InterruptedException {
        Session s = session();
        String[] cm = splitClusterAndMembers(words);
        String name = cm[0];
        ClusterState cluster = s.read(name);
        List<Member> members = selectMembers(
                cluster, name, List.of(cm).subList(1, cm.length), Role.replica, force, "reinitialize", true);
        List<Member> waitOn = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        for (Member m : members) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("force", force);
            body.put("from_leader", fromLeader);
            while (true) {
                PatroniApi.Response r;
                try {
                    r = s.api().call(m, "POST", "reinitialize", body);
                } catch (PatroniApi.Unreachable e) {
                    s.out.println("Failed: reinitialize for member " + m.name() + ", "
                            + CtlException.oneLine(e.getMessage()));
                    failed.add(CtlException.oneLine(e.getMessage()));
                    break;
                }
                if (r.ok()) {
                    s.out.println("Success: reinitialize for member " + m.name());
                    if (await) {
                        waitOn.add(m);
                    }
                    break;
                }
                s.out.println("Failed: reinitialize for member " + m.name() + ", status code=" + r.status() + ", ("
                        + r.text() + ")");
                if (r.text().endsWith(" already in progress")
                        && !force
                        && s.prompter.confirm("Do you want to cancel it and reinitialize anyway?")) {
                    body.put("force", true);
                    continue;
                }
                failed.add(m.name() + ": " + r.status() + " " + r.text());
                break;
            }
        }
        List<Member> shown = new ArrayList<>();
        while (!waitOn.isEmpty()) {
            if (!waitOn.equals(shown)) {
                s.out.println("Waiting for reinitialize to complete on: "
                        + String.join(", ", waitOn.stream().map(Member::name).toList()));
                shown = new ArrayList<>(waitOn);
            }
            Thread.sleep(2000);
            for (Member m : new ArrayList<>(waitOn)) {
                try {
                    PatroniApi.Response r = s.api().get(m, "patroni");
                    if (r.status() == 200
                            && !"creating replica"
                                    .equals(DcsJson.readObject(r.body()).get("state"))) {
                        s.out.println("Reinitialize is completed on: " + m.name());
                        waitOn.remove(m);
                    }
                } catch (PatroniApi.Unreachable | IllegalArgumentException e) {
                    // the member restarts during a reinit; ask again on the next round
                }
            }
        }
        if (!failed.isEmpty()) {
            throw new CtlException("reinitialize failed on " + failed.size() + " of " + members.size() + " member(s): "
                    + String.join("; ", failed));
        }
        return 0;
    }
}
