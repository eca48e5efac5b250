package io.pgha.postgres.local;

import io.pgha.dcs.Member;
import io.pgha.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** What the integration tests share: a base directory, free ports, configs, members, SQL, waiting. */
final class PgTestSupport {

    static final String SU_PASSWORD = "su-secret 'x'";
    static final String REPL_PASSWORD = "repl:secret\\y";

    private PgTestSupport() {}

    /** Skips the test class when this machine has no PostgreSQL server binaries. */
    static void assumePostgres() {
        Fixtures.assumePostgres();
    }

    /** A temporary base directory that an unprivileged run_as user can traverse (0755). */
    static Path baseDir(String prefix) throws IOException {
        return Fixtures.traversableTempDir(prefix);
    }

    static int freePort() throws IOException {
        return Fixtures.freePort();
    }

    static LocalPostgresConfig.Builder config(String name, Path base) throws IOException {
        return LocalPostgresConfig.builder()
                .name(name)
                .dataDir(base.resolve(name))
                .listen("127.0.0.1:" + freePort())
                .superuser("postgres", SU_PASSWORD)
                .replication("replicator", REPL_PASSWORD)
                .usePgRewind(true)
                .parameter("shared_buffers", "16MB")
                .parameter("max_connections", "20")
                .parameter("wal_keep_size", "64MB")
                .parameter("fsync", "off");
    }

    static Member member(LocalPostgresConfig c) {
        return new Member(c.name(), 0, Map.of("conn_url", c.connUrl()));
    }

    static Connection connect(LocalPostgresConfig c) throws SQLException {
        return Sql.connect("127.0.0.1", c.port(), c.superuser(), SU_PASSWORD, ClientSsl.DEFAULT, 10);
    }

    static void exec(LocalPostgresConfig c, String sql) throws SQLException {
        try (Connection conn = connect(c);
                Statement st = conn.createStatement()) {
            st.execute(sql);
        }
    }

    static List<String> column(LocalPostgresConfig c, String sql) throws SQLException {
        try (Connection conn = connect(c);
                Statement st = conn.createStatement();
                var rs = st.executeQuery(sql)) {
            List<String> out = new ArrayList<>();
            while (rs.next()) {
                out.add(rs.getString(1));
            }
            return out;
        }
    }

    /** Waits (generously: the machine may be slow and shared) until {@code condition} holds. */
    static void await(String what, Duration timeout, Callable<Boolean> condition) throws Exception {
        Fixtures.await(what, timeout, condition);
    }

    static void deleteTree(Path root) throws IOException {
        Fixtures.deleteTree(root);
    }
}
