package io.pgha.postgres.local;

import static io.pgha.postgres.local.PgTestSupport.await;
import static io.pgha.postgres.local.PgTestSupport.column;
import static io.pgha.postgres.local.PgTestSupport.member;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Patroni's authentication TLS keys end to end: a primary with {@code ssl = on} and a self-signed
 * certificate (openssl, with 127.0.0.1 as its subject alternative name) whose pg_hba lets
 * replication in over {@code hostssl} only; a replica clones (pg_basebackup) and streams with
 * {@code sslmode=verify-full}, and pgha's own superuser connections (pgjdbc) verify the server too.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TlsReplicationIT {

    private static final Duration T = Duration.ofSeconds(90);

    private Path base;
    private LocalPostgresController primary;
    private LocalPostgresController replica;

    @BeforeAll
    void setUp() throws Exception {
        PgTestSupport.assumePostgres();
        base = PgTestSupport.baseDir("pgha-tls-repl-");
        Path tls = Files.createDirectory(base.resolve("tls"));
        Path crt = tls.resolve("server.crt");
        Path key = tls.resolve("server.key");
        Process p = new ProcessBuilder(
                        "openssl",
                        "req",
                        "-x509",
                        "-newkey",
                        "rsa:2048",
                        "-nodes",
                        "-days",
                        "2",
                        "-subj",
                        "/CN=127.0.0.1",
                        "-addext",
                        "subjectAltName=IP:127.0.0.1",
                        "-keyout",
                        key.toString(),
                        "-out",
                        crt.toString())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        Files.setPosixFilePermissions(crt, PosixFilePermissions.fromString("rw-r--r--"));
        if ("root".equals(System.getProperty("user.name"))) {
            // the postmaster runs as postgres and must own its key (0600)
            Process chown = new ProcessBuilder("chown", "postgres", key.toString())
                    .inheritIO()
                    .start();
            assertThat(chown.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(chown.exitValue()).isZero();
        }
        ClientSsl verify = new ClientSsl("verify-full", crt.toString(), null, null, null, null, null, null, null);
        List<String> hba = List.of(
                "local all all scram-sha-256",
                "hostssl replication replicator 127.0.0.1/32 scram-sha-256",
                "hostnossl replication all all reject",
                "host all all 127.0.0.1/32 scram-sha-256");
        primary = new LocalPostgresController(PgTestSupport.config("tls-a", base)
                .useSlots(false)
                .parameter("ssl", "on")
                .parameter("ssl_cert_file", crt.toString())
                .parameter("ssl_key_file", key.toString())
                .pgHba(hba)
                .superuserSsl(verify)
                .replicationSsl(verify)
                .build());
        primary.bootstrap();
        replica = new LocalPostgresController(PgTestSupport.config("tls-b", base)
                .useSlots(false)
                .parameter("ssl", "on")
                .parameter("ssl_cert_file", crt.toString())
                .parameter("ssl_key_file", key.toString())
                .pgHba(hba)
                .superuserSsl(verify)
                .replicationSsl(verify)
                .build());
    }

    @AfterAll
    void tearDown() throws Exception {
        for (LocalPostgresController c : new LocalPostgresController[] {replica, primary}) {
            if (c != null) {
                c.close();
                PgTestSupport.deleteTree(c.runtimeDir());
            }
        }
        if (base != null) {
            PgTestSupport.deleteTree(base);
        }
    }

    @Test
    void aReplicaClonesAndStreamsOverVerifiedTls() throws Exception {
        // pgha's own superuser connection (pgjdbc, sslmode=verify-full against the self-signed certificate)
        try (java.sql.Connection c =
                        Sql.local(primary.config(), primary.config().dataDir());
                java.sql.Statement st = c.createStatement();
                java.sql.ResultSet rs = st.executeQuery("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getBoolean(1)).isTrue();
        }

        replica.cloneFrom(member(primary.config()));
        replica.start(member(primary.config()), T);
        await("the replica to stream", T, () -> replica.status().isStreaming());
        assertThat(column(
                        primary.config(),
                        "SELECT s.ssl::text FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)"
                                + " WHERE r.application_name = 'tls-b'"))
                .containsExactly("true");
        assertThat(column(replica.config(), "SHOW primary_conninfo").get(0))
                .contains("sslmode=verify-full")
                .contains("sslrootcert=" + base.resolve("tls/server.crt"))
                .doesNotContain("password");
    }
}
