package io.pgha.examples.ctl;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code list}: the member table of each named cluster (the config's scope by default); in the
 * pretty format, a line under it for each member whose last restore drill failed ({@link BackupFlags}).
 */
@Command(name = "list", description = "List the members of a cluster")
final class ListCommand extends Verb {
    @Parameters(paramLabel = "CLUSTER", arity = "0..*", description = "Cluster names (default: the config's scope)")
    List<String> clusters = new ArrayList<>();

    @Option(
            names = {"-e", "--extended"},
            description = "Show pending restart, scheduled restart and tags")
    boolean extended;

    @Option(
            names = {"-t", "--timestamp"},
            description = "Print a timestamp first")
    boolean timestamp;

    @Option(
            names = {"-f", "--format"},
            paramLabel = "FMT",
            defaultValue = "pretty",
            description = "pretty, tsv, json or yaml (default: ${DEFAULT-VALUE})")
    String format;

    String effectiveFormat() {
        return Output.checkFormat(format);
    }

    @Override
    public Integer call() {
        String fmt = effectiveFormat();
        Session s = session();
        List<String> names = clusters.isEmpty() ? List.of(s.clusterName(null)) : clusters;
        if (timestamp) {
            s.out.println(timestamp().substring(0, 19));
        }
        for (String name : names) {
            io.pgha.dcs.ClusterState cluster = s.read(name);
            MemberTable.print(s.out, cluster, name, extended, fmt);
            if (fmt.equals("pretty")) {
                BackupFlags.print(s.out, s, cluster);
            }
        }
        return 0;
    }
}
