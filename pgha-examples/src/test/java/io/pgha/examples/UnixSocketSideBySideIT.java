package io.pgha.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.examples.SideBySide.Implementation;
import io.pgha.examples.SideBySide.Member;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Patroni's {@code use_unix_socket} and {@code use_unix_socket_repl}, side by side with Patroni
 * 3.0.2: the file's pg_hba lets the superuser in through the Unix socket only ({@code host all
 * postgres 0.0.0.0/0 reject}), and {@code unix_socket_directories} names a directory of the
 * member's own. Both implementations must bootstrap a leader and a streaming replica, which needs
 * the agent's own connections (state, LSNs, roles) to go through the socket in the first of the
 * directories the user wrote, and local clients to find it there.
 */
class UnixSocketSideBySideIT {

    @ParameterizedTest
    @EnumSource(Implementation.class)
    void withUseUnixSocketTheAgentRunsAClusterWhosePgHbaRejectsTheSuperuserOverTcp(Implementation impl)
            throws Exception {
        SideBySide.assumeMachine(impl);
        try (SideBySide cluster = SideBySide.create(List.of(impl, impl), "etcd3", Map.of())) {
            cluster.pgHba = List.of(
                    "local all all trust",
                    "local replication all trust",
                    "host all postgres 0.0.0.0/0 reject",
                    "host replication replicator 127.0.0.1/32 md5",
                    "host all all 127.0.0.1/32 md5");
            cluster.postgresqlExtra = "  use_unix_socket: true\n  use_unix_socket_repl: true\n";
            for (Member m : cluster.members) {
                // Patroni creates a missing socket directory; pgha does not (docs/migrating-from-patroni.md)
                Path socketDir = socketDir(m);
                Files.createDirectories(socketDir);
                SideBySide.chownToPostgres(socketDir);
                cluster.writeYaml(m, Map.of("unix_socket_directories", "'" + socketDir + ",/run/postgresql'"));
            }
            Member first = cluster.members.get(0);
            Member second = cluster.members.get(1);
            cluster.start(first);
            Member leader = cluster.awaitLeader();
            cluster.start(second);
            Member replica = leader == first ? second : first;
            SideBySide.await(
                    "the replica to answer GET /replica with 200\n" + cluster.log(replica),
                    () -> cluster.status(replica, "/replica") == 200 ? true : null);

            for (Member m : cluster.members) {
                assertThat(socketDir(m).resolve(".s.PGSQL." + m.pgPort))
                        .as("the socket in the first of unix_socket_directories as written")
                        .exists();
                assertThatThrownBy(() -> cluster.psql(m, "SELECT 1"))
                        .as("the superuser over TCP is rejected by the file's pg_hba")
                        .hasMessageContaining("rejects connection");
            }
            assertThat(cluster.psqlSocket(leader, socketDir(leader), "SELECT pg_is_in_recovery()"))
                    .isEqualTo("f");
            cluster.psqlSocket(
                    leader, socketDir(leader), "CREATE TABLE via_socket(id int); INSERT INTO via_socket VALUES (1)");
            SideBySide.await("the row on the replica", () -> {
                try {
                    return "1"
                                    .equals(cluster.psqlSocket(
                                            replica, socketDir(replica), "SELECT count(*) FROM via_socket"))
                            ? true
                            : null;
                } catch (Exception e) {
                    return null;
                }
            });
            assertThat(cluster.patronictl(leader, "list")).contains("Leader").contains("running");
        }
    }

    private static Path socketDir(Member m) {
        return m.yaml.getParent().resolve("socket");
    }
}
