package io.pgha.examples.ctl;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.DcsException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code remove}: wipes the cluster's keys from the DCS after three confirmations (the cluster
 * name, "Yes I am aware", and the leader's name when there is a leader). There is no --force.
 */
@Command(name = "remove", description = "Remove the cluster's keys from the DCS")
final class RemoveCommand extends Verb {
    static final String AWARE = "Yes I am aware";

    @Parameters(paramLabel = "CLUSTER", arity = "0..1", description = "Cluster name (default: the config's scope)")
    String cluster;

    @Option(
            names = {"-f", "--format"},
            paramLabel = "FMT",
            defaultValue = "pretty",
            description = "Format of the member table shown first: pretty, tsv, json or yaml")
    String format;

    @Override
    public Integer call() {
        Output.checkFormat(format);
        Session s = session();
        String name = s.clusterName(cluster);
        ClusterState state = s.read(name);
        MemberTable.print(s.out, state, name, false, format);
        if (!name.equals(s.prompter.prompt("Please confirm the cluster name to remove", null))) {
            throw new CtlException("Cluster names specified do not match; nothing was removed");
        }
        if (!AWARE.equals(s.prompter.prompt(
                "You are about to remove all information in DCS for " + name + ", please type: \"" + AWARE + "\"",
                null))) {
            throw new CtlException("You did not exactly type \"" + AWARE + "\"; nothing was removed");
        }
        if (state.hasLeader()
                && !state.leader()
                        .name()
                        .equals(s.prompter.prompt(
                                "This cluster currently is healthy. Please specify the leader name to continue",
                                null))) {
            throw new CtlException("You did not specify the current leader of the cluster; nothing was removed");
        }
        try {
            s.dcs(name).deleteCluster();
        } catch (DcsException e) {
            throw new CtlException("could not remove cluster " + name + " from the DCS: " + e.getMessage());
        }
        return 0;
    }
}
