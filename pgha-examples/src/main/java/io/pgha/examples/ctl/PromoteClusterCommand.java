package io.pgha.examples.ctl;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code promote-cluster} (Patroni 4): remove {@code standby_cluster}, the standby leader becomes the primary. */
@Command(name = "promote-cluster", description = "Promote cluster, make it run standalone")
final class PromoteClusterCommand extends Verb {
    @Parameters(paramLabel = "CLUSTER", arity = "0..1", description = "Cluster name (default: the config's scope)")
    String cluster;

    @Option(names = "--force", description = "Do not ask for confirmation at any point")
    boolean force;

    @Override
    public Integer call() {
        return ClusterRole.run(this, cluster, force, null);
    }
}
