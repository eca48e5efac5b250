package io.pgha.examples.ctl;

import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code demote-cluster} (Patroni 4): make the cluster a standby cluster of a remote primary. */
@Command(name = "demote-cluster", description = "Demote cluster to a standby cluster")
final class DemoteClusterCommand extends Verb {
    @Parameters(paramLabel = "CLUSTER", arity = "0..1", description = "Cluster name (default: the config's scope)")
    String cluster;

    @Option(names = "--force", description = "Do not ask for confirmation at any point")
    boolean force;

    @Option(names = "--host", description = "Address of the remote node")
    String host;

    @Option(names = "--port", description = "Port of the remote node")
    Integer port;

    @Option(names = "--restore-command", description = "Command to restore WAL records from the remote primary")
    String restoreCommand;

    @Option(names = "--primary-slot-name", description = "Name of the slot on the remote node to use for replication")
    String primarySlotName;

    @Override
    public Integer call() {
        if (isBlank(host) && port == null && isBlank(restoreCommand)) {
            throw new CtlException("At least --host, --port or --restore-command should be specified");
        }
        if (port != null && (port < 1 || port > 65535)) {
            throw new CtlException("--port must be from 1 to 65535, found " + port);
        }
        Map<String, Object> section = new LinkedHashMap<>();
        if (!isBlank(host)) {
            section.put("host", host);
        }
        if (port != null) {
            section.put("port", port);
        }
        if (!isBlank(primarySlotName)) {
            section.put("primary_slot_name", primarySlotName);
        }
        if (!isBlank(restoreCommand)) {
            section.put("restore_command", restoreCommand);
        }
        return ClusterRole.run(this, cluster, force, section);
    }

    private static boolean isBlank(String s) {
        return s == null || s.isEmpty();
    }
}
