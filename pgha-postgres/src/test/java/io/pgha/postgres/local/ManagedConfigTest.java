package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManagedConfigTest {

    private static LocalPostgresConfig config(List<String> hba) {
        return LocalPostgresConfig.builder()
                .name("node-1")
                .dataDir(Path.of("/data/pg"))
                .listen("0.0.0.0:5433")
                .superuser("postgres", "su:pw")
                .replication("repl user", "r\\pw")
                .parameter("wal_keep_size", "1GB")
                .parameter("work_mem", "it's")
                .pgHba(hba)
                .build();
    }

    @Test
    void rendersAPrimaryAndAReplica() {
        LocalPostgresConfig c = config(List.of());
        String primary =
                ManagedConfig.render(c, Path.of("/tmp/pgha-1"), Path.of("/data/pg/pgha.hba.conf"), null, "node_1", "");
        assertThat(primary)
                .contains(
                        "listen_addresses = '0.0.0.0'\n",
                        "port = '5433'\n",
                        "wal_level = 'replica'\n",
                        "hot_standby = 'on'\n",
                        "wal_log_hints = 'on'\n",
                        "wal_keep_size = '1GB'\n",
                        "work_mem = 'it''s'\n",
                        "unix_socket_directories = '/tmp/pgha-1'\n",
                        "hba_file = '/data/pg/pgha.hba.conf'\n",
                        "primary_conninfo = ''\n",
                        "primary_slot_name = ''\n",
                        "synchronous_standby_names = ''\n");
        assertThat(primary).doesNotContain("su:pw");

        String conninfo = ConnInfo.to(
                        new HostPort("10.0.0.1", 5432), c.replicationUser(), "/tmp/pgha-1/pgpass", c.name())
                .toString();
        String replica = ManagedConfig.render(
                c, Path.of("/tmp/pgha-1"), Path.of("/data/pg/pgha.hba.conf"), conninfo, "node_1", "ANY 1 (\"a\", b)");
        assertThat(replica)
                .contains(
                        "primary_conninfo = 'host=10.0.0.1 port=5432 user=''repl user'' "
                                + "passfile=/tmp/pgha-1/pgpass application_name=node-1 sslmode=prefer'\n",
                        "primary_slot_name = 'node_1'\n",
                        "recovery_target_timeline = 'latest'\n",
                        "synchronous_standby_names = 'ANY 1 (\"a\", b)'\n");
    }

    @Test
    void writesPghasOwnHbaLinesFirst() {
        String defaults = ManagedConfig.hba(config(List.of()));
        assertThat(defaults)
                .contains(
                        "host    replication  \"repl user\"  127.0.0.1/32  scram-sha-256",
                        "host    all          postgres  ::1/128  scram-sha-256",
                        "host    replication  \"repl user\"  all  scram-sha-256",
                        "host    all          all  all  scram-sha-256");
        assertThat(defaults).doesNotContain("trust");

        String custom = ManagedConfig.hba(config(List.of("hostssl all all 10.0.0.0/8 scram-sha-256")));
        assertThat(custom.indexOf("127.0.0.1/32")).isLessThan(custom.indexOf("hostssl all all 10.0.0.0/8"));
        assertThat(custom).doesNotContain("host    all          all  all");
    }

    @Test
    void addsTheIncludeLineOnce() {
        String conf = "shared_buffers = 128MB\n#include_if_exists = 'postgresql.pgha.conf'\n";
        assertThat(ManagedConfig.hasInclude(conf)).isFalse();
        String once = ManagedConfig.withInclude(conf);
        assertThat(once).startsWith(conf).endsWith(ManagedConfig.INCLUDE_LINE + "\n");
        assertThat(ManagedConfig.hasInclude(once)).isTrue();
        assertThat(ManagedConfig.withInclude(once)).isEqualTo(once);
        assertThat(ManagedConfig.withInclude("a = 1")).startsWith("a = 1\n");
    }

    @Test
    void escapesThePassfile() {
        assertThat(ManagedConfig.passfile(config(List.of())))
                .isEqualTo("*:*:*:repl user:r\\\\pw\n*:*:*:postgres:su\\:pw\n");
    }
}
