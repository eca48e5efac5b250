package io.pgha.examples.ctl;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Member;
import java.net.URI;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code dsn}: a libpq connection string for the leader, a member with a role, or a named member. */
@Command(name = "dsn", description = "Print a DSN for a member (default: the leader)")
final class DsnCommand extends Verb {
    @Parameters(paramLabel = "CLUSTER", arity = "0..1", description = "Cluster name (default: the config's scope)")
    String cluster;

    @Option(
            names = {"-r", "--role"},
            paramLabel = "ROLE",
            description = "A member with this role")
    String role;

    @Option(
            names = {"-m", "--member"},
            paramLabel = "NAME",
            description = "This member")
    String member;

    @Override
    public Integer call() {
        if (role != null && member != null) {
            throw new CtlException("--role and --member are mutually exclusive options", Ctl.EXIT_USAGE);
        }
        Session s = session();
        String name = s.clusterName(cluster);
        ClusterState state = s.read(name);
        Role r = member != null ? Role.any : role == null ? Role.leader : Role.parse(role);
        Member m = membersWithRole(state, r).stream()
                .filter(x -> member == null || x.name().equals(member))
                .findFirst()
                .orElseThrow(() -> new CtlException("Can not find a suitable member in cluster " + name
                        + (member != null ? " named " + member : " with role " + r)));
        URI conn;
        try {
            conn = URI.create(m.connUrl() == null ? "" : m.connUrl());
        } catch (IllegalArgumentException e) {
            conn = null;
        }
        if (conn == null || conn.getHost() == null) {
            throw new CtlException("member " + m.name() + " has no usable conn_url in the DCS: " + m.connUrl());
        }
        s.out.println("host=" + conn.getHost() + " port=" + (conn.getPort() > 0 ? conn.getPort() : 5432));
        return 0;
    }
}
