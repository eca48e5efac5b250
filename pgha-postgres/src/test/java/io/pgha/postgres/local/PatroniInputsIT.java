package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A member bootstrapped from the {@code postgresql} and {@code bootstrap} sections as Patroni's
 * own acceptance features write them (features/environment.py at v3.0.2): initdb's
 * {@code auth}/{@code auth-host} options, {@code wal_keep_segments}, a {@code data_dir} whose
 * parent does not exist yet, and trust lines in {@code pg_hba}. Clients then connect exactly as
 * those lines allow, with psql, as a Patroni user's scripts do: over TCP without a password, and
 * over the default unix socket.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PatroniInputsIT {

    private static final Path PSQL = Path.of("/usr/lib/postgresql/15/bin/psql");

    private Path base;
    private LocalPostgresController member;
    private int port;

    @BeforeAll
    void setUp() throws Exception {
        PgTestSupport.assumePostgres();
        base = PgTestSupport.baseDir("pgha-patroni-inputs-");
        port = PgTestSupport.freePort();
        Map<String, Object> postgresql = new LinkedHashMap<>();
        postgresql.put("listen", "127.0.0.1:" + port);
        postgresql.put("connect_address", "127.0.0.1:" + port);
        postgresql.put("data_dir", base.resolve("not/yet/there/data").toString());
        postgresql.put(
                "authentication",
                Map.of(
                        "superuser", Map.of("username", "postgres", "password", "zalando"),
                        "replication", Map.of("username", "replicator", "password", "rep-pass")));
        postgresql.put("parameters", Map.of("wal_keep_segments", 8, "shared_buffers", "16MB", "fsync", "off"));
        postgresql.put(
                "pg_hba",
                List.of(
                        "local all all trust",
                        "host all all 127.0.0.1/32 trust",
                        "host replication all 127.0.0.1/32 trust"));
        Map<String, Object> bootstrap = Map.of(
                "initdb", List.of(Map.of("encoding", "UTF8"), Map.of("auth", "md5"), Map.of("auth-host", "md5")));
        member = new LocalPostgresController(PatroniPostgresSection.read("batman", "postgres0", postgresql, bootstrap));
        member.bootstrap();
    }

    @AfterAll
    void tearDown() throws Exception {
        if (member != null) {
            member.close();
            PgTestSupport.deleteTree(member.runtimeDir());
        }
        if (base != null) {
            PgTestSupport.deleteTree(base);
        }
    }

    @Test
    void bootstrapsIntoTheMissingParentWithTheUsersInitdbOptions() {
        assertThat(member.status().isPrimary()).isTrue();
        assertThat(base.resolve("not/yet/there/data/PG_VERSION")).exists();
    }

    @Test
    void aClientConnectsOverTcpAsTheUsersPgHbaAllowsWithoutAPassword() throws Exception {
        assertThat(psql("-h", "127.0.0.1", "-p", String.valueOf(port), "-U", "postgres", "-Atc", "SELECT 1"))
                .isEqualTo("1");
        String hba = Files.readString(member.config().dataDir().resolve(ManagedConfig.HBA_FILE));
        assertThat(hba.lines().filter(l -> !l.isBlank() && !l.startsWith("#")))
                .containsExactly(
                        "local all all trust",
                        "host all all 127.0.0.1/32 trust",
                        "host replication all 127.0.0.1/32 trust");
    }

    @Test
    void convertsWalKeepSegmentsForPostgres13AndLater() throws Exception {
        assertThat(psql("-h", "127.0.0.1", "-p", String.valueOf(port), "-U", "postgres", "-Atc", "SHOW wal_keep_size"))
                .isEqualTo("128MB");
    }

    @Test
    void localClientsFindTheSocketWherePostgresPutsItByDefault() throws Exception {
        // Debian's PostgreSQL looks in /var/run/postgresql; pgha leaves the setting alone when the
        // PostgreSQL user can write there (the postgresql package makes it so)
        String dir = psql(
                "-h",
                "127.0.0.1",
                "-p",
                String.valueOf(port),
                "-U",
                "postgres",
                "-Atc",
                "SHOW unix_socket_directories");
        if (!dir.equals(member.runtimeDir().toString())) {
            assertThat(psql("-h", dir, "-p", String.valueOf(port), "-U", "postgres", "-Atc", "SELECT 2"))
                    .isEqualTo("2");
            assertThat(psql("-p", String.valueOf(port), "-U", "postgres", "-Atc", "SELECT 3"))
                    .as("psql without -h: the compiled-in socket directory")
                    .isEqualTo("3");
        }
    }

    @Test
    void appliesTheClustersDynamicParametersWithAReloadAndShowsWhatNeedsARestart() throws Exception {
        Map<String, Object> dynamic = Map.of(
                "parameters", Map.of("work_mem", "7MB", "max_connections", 42, "shared_buffers", "32MB"),
                "pg_hba", List.of("host all all 127.0.0.1/32 reject"));
        assertThat(member.applyDynamicConfig(dynamic)).isTrue();
        assertThat(sql("SHOW work_mem")).isEqualTo("7MB");
        // the member's own shared_buffers wins; max_connections is the cluster's and needs a restart
        assertThat(sql("SELECT string_agg(name, ',' ORDER BY name) FROM pg_settings WHERE pending_restart"))
                .isEqualTo("max_connections");
        assertThat(member.status().pendingRestart()).isTrue();
        // the member's own pg_hba wins over the dynamic one
        assertThat(sql("SELECT 1")).isEqualTo("1");
        assertThat(member.applyDynamicConfig(dynamic))
                .as("unchanged: no reload")
                .isFalse();

        member.restart(java.time.Duration.ofMinutes(1));
        assertThat(sql("SHOW max_connections")).isEqualTo("42");
        assertThat(member.status().pendingRestart()).isFalse();

        assertThat(member.applyDynamicConfig(Map.of())).isTrue();
        assertThat(sql("SHOW work_mem")).isEqualTo("4MB");
    }

    private String sql(String query) throws Exception {
        return psql("-h", "127.0.0.1", "-p", String.valueOf(port), "-U", "postgres", "-Atc", query);
    }

    /** psql with no password anywhere (no PGPASSWORD, no passfile): only pg_hba's trust lets it in. */
    private static String psql(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(PSQL.toString());
        cmd.add("-w");
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
        pb.environment().put("PGPASSFILE", "/nonexistent/pgha-no-passfile");
        pb.environment().put("PGDATABASE", "postgres");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("psql %s: %s", cmd, out).isZero();
        return out;
    }
}
