package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManagedConfigTest {

    /** PostgreSQL 15 whose compiled-in socket directory the PostgreSQL user cannot write. */
    private static final ServerFacts NO_SOCKET_DEFAULT = new ServerFacts(15, false);

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
        String primary = ManagedConfig.render(
                c,
                c.parameters(),
                NO_SOCKET_DEFAULT,
                Path.of("/tmp/pgha-1"),
                Path.of("/data/pg/pgha.hba.conf"),
                null,
                "node_1",
                "");
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
                        new HostPort("10.0.0.1", 5432),
                        c.replicationUser(),
                        "/tmp/pgha-1/pgpass",
                        c.name(),
                        ClientSsl.DEFAULT)
                .toString();
        String replica = ManagedConfig.render(
                c,
                c.parameters(),
                NO_SOCKET_DEFAULT,
                Path.of("/tmp/pgha-1"),
                Path.of("/data/pg/pgha.hba.conf"),
                conninfo,
                "node_1",
                "ANY 1 (\"a\", b)");
        assertThat(replica)
                .contains(
                        "primary_conninfo = 'host=10.0.0.1 port=5432 user=''repl user'' "
                                + "passfile=/tmp/pgha-1/pgpass application_name=node-1 sslmode=prefer'\n",
                        "primary_slot_name = 'node_1'\n",
                        "recovery_target_timeline = 'latest'\n",
                        "synchronous_standby_names = 'ANY 1 (\"a\", b)'\n");
    }

    @Test
    void leavesTheSocketDirectoryToPostgresWhenItsDefaultIsUsable() {
        LocalPostgresConfig plain = config(List.of());
        String conf = ManagedConfig.render(
                plain,
                plain.parameters(),
                new ServerFacts(15, true),
                Path.of("/tmp/pgha-1"),
                Path.of("/h"),
                null,
                null,
                "");
        assertThat(conf).doesNotContain("unix_socket_directories");
        LocalPostgresConfig own = LocalPostgresConfig.builder()
                .name("n")
                .dataDir(Path.of("/d"))
                .superuser("postgres", "x")
                .replication("rep", "y")
                .parameter("unix_socket_directories", "/run/mine")
                .build();
        assertThat(ManagedConfig.render(
                        own,
                        own.parameters(),
                        NO_SOCKET_DEFAULT,
                        Path.of("/tmp/pgha-1"),
                        Path.of("/h"),
                        null,
                        null,
                        ""))
                .contains("unix_socket_directories = '/run/mine'\n")
                .doesNotContain("/tmp/pgha-1");
    }

    @Test
    void convertsWalKeepSegmentsAndWalKeepSizeByMajorVersionAsPatroni() {
        java.util.Map<String, String> p = new java.util.LinkedHashMap<>(ManagedConfig.defaults());
        java.util.Map<String, String> user = java.util.Map.of("wal_keep_segments", "8");
        p.putAll(user);
        ManagedConfig.convertWalKeep(p, user, 15);
        assertThat(p).containsEntry("wal_keep_size", "128MB").doesNotContainKey("wal_keep_segments");

        java.util.Map<String, String> both = java.util.Map.of("wal_keep_segments", "8", "wal_keep_size", "1GB");
        p = new java.util.LinkedHashMap<>(both);
        ManagedConfig.convertWalKeep(p, both, 15);
        assertThat(p).containsOnly(java.util.Map.entry("wal_keep_size", "1GB"));

        java.util.Map<String, String> size = java.util.Map.of("wal_keep_size", "1GB");
        p = new java.util.LinkedHashMap<>(size);
        ManagedConfig.convertWalKeep(p, size, 12);
        assertThat(p).containsOnly(java.util.Map.entry("wal_keep_segments", "64"));

        java.util.Map<String, String> bad = java.util.Map.of("wal_keep_segments", "lots");
        assertThat(org.assertj.core.api.Assertions.catchThrowable(
                        () -> ManagedConfig.convertWalKeep(new java.util.LinkedHashMap<>(bad), bad, 15)))
                .hasMessageContaining("postgresql.parameters.wal_keep_segments");
    }

    @Test
    void writesTheUsersPgHbaExactlyAndNothingElse() {
        String defaults = ManagedConfig.hba(config(List.of()), List.of());
        assertThat(defaults)
                .contains(
                        "local   all          all  scram-sha-256",
                        "host    replication  \"repl user\"  all  scram-sha-256",
                        "host    all          all  all  scram-sha-256");
        assertThat(defaults).doesNotContain("trust");

        List<String> users = List.of(
                "local all all trust", "host all all 127.0.0.1/32 trust", "host replication all 127.0.0.1/32 trust");
        String custom = ManagedConfig.hba(config(users), users);
        List<String> rules =
                custom.lines().filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
        assertThat(rules).containsExactlyElementsOf(users);
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
