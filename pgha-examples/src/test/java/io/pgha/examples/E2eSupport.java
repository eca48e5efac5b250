package io.pgha.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/** Waiting, SQL and measuring helpers for the end-to-end tests. */
final class E2eSupport {

    private E2eSupport() {}

    static <T> T await(String what, Duration timeout, Supplier<Optional<T>> probe) {
        Instant deadline = Instant.now().plus(timeout);
        while (Instant.now().isBefore(deadline)) {
            Optional<T> v = probe.get();
            if (v.isPresent()) {
                return v.get();
            }
            LocalCluster.sleep(100);
        }
        throw new AssertionError("timed out after " + timeout + " waiting for " + what);
    }

    static Connection connect(String url, LocalCluster cluster) throws SQLException {
        java.util.Properties p = new java.util.Properties();
        p.setProperty("user", LocalCluster.SUPERUSER);
        p.setProperty("password", cluster.password());
        p.setProperty("connectTimeout", "3");
        p.setProperty("socketTimeout", "10");
        p.setProperty("hostRecheckSeconds", "1");
        return DriverManager.getConnection(url, p);
    }

    static String queryOne(String url, LocalCluster cluster, String sql) throws SQLException {
        try (Connection c = connect(url, cluster);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    static void exec(String url, LocalCluster cluster, String sql) throws SQLException {
        try (Connection c = connect(url, cluster);
                Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /** Like {@link #queryOne} but null on any error, for polling. */
    static String tryQuery(String url, LocalCluster cluster, String sql) {
        try {
            return queryOne(url, cluster, sql);
        } catch (SQLException e) {
            return null;
        }
    }

    static WriteProbe probe(String url, LocalCluster cluster, String table, long intervalMs) throws SQLException {
        return new WriteProbe(url, LocalCluster.SUPERUSER, cluster.password(), table, intervalMs);
    }

    /** The longest time between two consecutive acks around {@code eventNanos} (the write gap), in ms. */
    static double writeGapMillis(WriteProbe probe, long eventNanos) {
        WriteProbe.Ack before = probe.lastBefore(eventNanos);
        WriteProbe.Ack after = probe.firstAfter(eventNanos);
        assertThat(after).as("an acknowledged write after the event").isNotNull();
        long from = before == null ? eventNanos : before.nanos();
        // the gap is the longest silence between the last ack before and the first steady ack after
        List<WriteProbe.Ack> acks = probe.acks();
        long longest = 0;
        long prev = from;
        for (WriteProbe.Ack a : acks) {
            if (a.nanos() <= from) {
                continue;
            }
            longest = Math.max(longest, a.nanos() - prev);
            prev = a.nanos();
            if (a.nanos() > eventNanos + Duration.ofSeconds(30).toNanos()) {
                break;
            }
        }
        return longest / 1e6;
    }

    static HttpResponse<String> post(LocalCluster cluster, LocalCluster.Member m, String path, String body)
            throws IOException {
        return cluster.send(m, "POST", path, body);
    }

    /** {@code patronictl -c <yaml> list} (Patroni's own CLI), its output; skips the test when Patroni is missing. */
    static String patronictlList(java.nio.file.Path yaml) throws java.io.IOException, InterruptedException {
        java.nio.file.Path patronictl = java.nio.file.Path.of("/usr/bin/patronictl");
        org.junit.jupiter.api.Assumptions.assumeTrue(
                java.nio.file.Files.isExecutable(patronictl),
                "patronictl is missing (/usr/bin/patronictl): apt-get install patroni");
        Process p = new ProcessBuilder(patronictl.toString(), "-c", yaml.toString(), "list")
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        org.assertj.core.api.Assertions.assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS))
                .isTrue();
        System.out.println("patronictl list:\n" + out);
        org.assertj.core.api.Assertions.assertThat(p.exitValue()).as(out).isZero();
        return out;
    }
}
