package io.pgha.backup;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgha.dcs.Member;
import io.pgha.postgres.local.LocalPostgresConfig;
import io.pgha.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** What the integration tests share: real PostgreSQL members with archiving into a temp repository. */
final class BackupTestSupport {

    static final String SU_PASSWORD = "su-secret:x";
    static final String REPL_PASSWORD = "repl-secret";

    private BackupTestSupport() {}

    static void assumeTools() {
        Fixtures.assumePostgres();
        assumeTrue(
                Files.isExecutable(Path.of("/usr/bin/pgbackrest")),
                "pgBackRest is missing (/usr/bin/pgbackrest): apt-get install pgbackrest");
    }

    static Path baseDir(String prefix) throws IOException {
        return Fixtures.traversableTempDir(prefix);
    }

    static int freePort() throws IOException {
        return Fixtures.freePort();
    }

    /** A member's backup settings: one shared repository, the member's own work directory. */
    static BackupConfig.Builder backup(String name, Path base, int port) {
        return BackupConfig.builder()
                .memberName(name)
                .stanza("it")
                .repoPath(base.resolve("repo"))
                .dataDir(base.resolve(name))
                .port(port)
                .superuser("postgres", SU_PASSWORD)
                .drillDir(base.resolve("drill-" + name));
    }

    static LocalPostgresConfig postgres(BackupConfig b, Map<String, String> extra) {
        return postgres(b, extra, List.of("basebackup"));
    }

    static LocalPostgresConfig postgres(BackupConfig b, Map<String, String> extra, List<String> createReplicaMethods) {
        return LocalPostgresConfig.builder()
                .name(b.memberName())
                .dataDir(b.dataDir())
                .createReplicaMethods(createReplicaMethods)
                .listen("127.0.0.1:" + b.port())
                .superuser("postgres", SU_PASSWORD)
                .replication("replicator", REPL_PASSWORD)
                .parameter("shared_buffers", "16MB")
                .parameter("max_connections", "20")
                .parameter("wal_keep_size", "64MB")
                .parameter("fsync", "off")
                .parameters(b.postgresParameters())
                .parameters(extra)
                .build();
    }

    static Member member(LocalPostgresConfig c) {
        return new Member(c.name(), 0, Map.of("conn_url", c.connUrl()));
    }

    static Connection connect(int port, String db) throws SQLException {
        return DriverManager.getConnection(
                "jdbc:postgresql://127.0.0.1:" + port + "/" + db + "?connectTimeout=10", "postgres", SU_PASSWORD);
    }

    static void exec(int port, String sql) throws SQLException {
        try (Connection c = connect(port, "postgres");
                Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    static String query(int port, String db, String sql) throws SQLException {
        try (Connection c = connect(port, db);
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    static void await(String what, Duration timeout, Callable<Boolean> condition) throws Exception {
        Fixtures.await(what, timeout, condition);
    }
}
