package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Patroni's {@code postgresql.authentication.rewind}: bootstrap creates the rewind user with
 * LOGIN and its password and grants it the functions pg_rewind calls on its source (as Patroni
 * 3.0.2's post_bootstrap).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RewindUserIT {

    private Path base;
    private LocalPostgresController member;
    private LocalPostgresConfig config;

    @BeforeAll
    void setUp() throws Exception {
        PgTestSupport.assumePostgres();
        base = PgTestSupport.baseDir("pgha-rewind-user-");
        int port = PgTestSupport.freePort();
        Map<String, Object> postgresql = new LinkedHashMap<>();
        postgresql.put("listen", "127.0.0.1:" + port);
        postgresql.put("data_dir", base.resolve("data").toString());
        postgresql.put(
                "authentication",
                Map.of(
                        "superuser", Map.of("username", "postgres", "password", "zalando"),
                        "replication", Map.of("username", "replicator", "password", "rep-pass"),
                        "rewind", Map.of("username", "rewind_user", "password", "rewind 'pass'")));
        postgresql.put("parameters", Map.of("shared_buffers", "16MB", "fsync", "off"));
        config = PatroniPostgresSection.read("batman", "postgres0", postgresql, null);
        member = new LocalPostgresController(config);
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
    void theRewindUserLogsInAndMayCallWhatPgRewindNeeds() throws Exception {
        try (Connection c = Sql.superuser(config, new HostPort("127.0.0.1", config.port()));
                PreparedStatement ps = c.prepareStatement(
                        "SELECT rolcanlogin, rolsuper, rolreplication FROM pg_roles WHERE rolname = 'rewind_user'");
                ResultSet rs = ps.executeQuery()) {
            assertThat(rs.next()).as("the rewind role exists").isTrue();
            assertThat(rs.getBoolean(1)).isTrue();
            assertThat(rs.getBoolean(2)).isFalse();
            assertThat(rs.getBoolean(3)).isFalse();
        }
        try (Connection c =
                        Sql.connect("127.0.0.1", config.port(), "rewind_user", "rewind 'pass'", ClientSsl.DEFAULT, 10);
                Statement st = c.createStatement()) {
            for (String f : Bootstrap.REWIND_FUNCTIONS) {
                try (ResultSet rs =
                        st.executeQuery("SELECT has_function_privilege('" + f.replace("'", "''") + "', 'EXECUTE')")) {
                    rs.next();
                    assertThat(rs.getBoolean(1)).as(f).isTrue();
                }
            }
            // what pg_rewind does first on its source
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_catalog.pg_ls_dir('global', true, false)")) {
                rs.next();
                assertThat(rs.getLong(1)).isPositive();
            }
            try (ResultSet rs = st.executeQuery("SELECT length(pg_catalog.pg_read_binary_file('global/pg_control'))")) {
                rs.next();
                assertThat(rs.getLong(1)).isPositive();
            }
        }
    }
}
