package io.pgha.examples.ctl;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code switchover}: a planned handover from the leader to a replica, now or at a set time. */
@Command(name = "switchover", description = "Switch over to a replica")
final class SwitchoverCommand extends Verb {
    @Parameters(paramLabel = "CLUSTER", arity = "0..1", description = "Cluster name (default: the config's scope)")
    String cluster;

    @Option(
            names = {"--leader", "--primary"},
            paramLabel = "NAME",
            description = "The name of the current leader")
    String leader;

    @Option(
            names = "--candidate",
            paramLabel = "NAME",
            description = "The name of the candidate (default: any healthy replica)")
    String candidate;

    @Option(
            names = "--scheduled",
            paramLabel = "TIME",
            description = "When to switch over, ISO 8601 (e.g. 2026-01-31T10:00+00:00), or 'now'")
    String scheduled;

    @Option(names = "--force", description = "Do not ask for confirmation at any point")
    boolean force;

    @Override
    public Integer call() {
        return new ManualFailover(this, "switchover").run(cluster, leader, candidate, scheduled, force);
    }
}
