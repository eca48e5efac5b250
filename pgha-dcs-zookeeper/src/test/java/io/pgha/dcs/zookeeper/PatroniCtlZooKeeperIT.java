package io.pgha.dcs.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsJson;
import io.pgha.dcs.HistoryEntry;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Patroni's own CLI reads what this adapter writes to ZooKeeper, and this adapter reads what
 * Patroni writes: the layout is Patroni's. Skipped unless patronictl and its ZooKeeper client
 * (kazoo; Debian's python3-kazoo) are installed.
 */
class PatroniCtlZooKeeperIT {
    private static final Path PATRONICTL = Path.of("/usr/bin/patronictl");
    private static ZooKeeperTestServer server;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(PATRONICTL), "patronictl is not installed (Debian package patroni)");
        Assumptions.assumeTrue(
                run(List.of(firstLine(PATRONICTL), "-c", "import kazoo"), null, 30) == 0,
                "patronictl's Python has no kazoo, Patroni's ZooKeeper client (Debian package python3-kazoo)");
        server = new ZooKeeperTestServer();
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void patronictlListsTheClusterThisAdapterWrote() throws Exception {
        String scope = "ctl-" + UUID.randomUUID().toString().substring(0, 8);
        try (Dcs a = server.connect(scope, "pg0", Duration.ofSeconds(10));
                Dcs b = server.connect(scope, "pg1", Duration.ofSeconds(10))) {
            assertThat(a.writeInitialize("7301234567890123456", Dcs.ABSENT)).isTrue();
            assertThat(a.writeConfig(Map.of("ttl", 30L, "loop_wait", 10L), Dcs.ABSENT))
                    .isTrue();
            a.touchMember(memberData("10.0.0.1", "primary"));
            b.touchMember(memberData("10.0.0.2", "replica"));
            assertThat(a.acquireLeader()).isTrue();
            a.writeHistory(List.of(new HistoryEntry(
                    1, 25165984L, "no recovery target specified", "2026-01-02T10:00:00.123456+00:00", "pg0")));

            String out = patronictl(scope, "list", "-f", "json");
            List<Object> rows = DcsJson.readList(out);
            assertThat(rows).hasSize(2);
            Map<String, Map<String, Object>> byName = new LinkedHashMap<>();
            for (Object row : rows) {
                @SuppressWarnings("unchecked")
                Map<String, Object> r = (Map<String, Object>) row;
                byName.put(String.valueOf(r.get("Member")), r);
            }
            assertThat(byName.get("pg0").get("Role")).isEqualTo("Leader");
            assertThat(byName.get("pg0").get("Host")).asString().contains("10.0.0.1");
            assertThat(byName.get("pg1").get("Role")).isEqualTo("Replica");
            assertThat(byName.get("pg1").get("State")).isEqualTo("streaming");

            String history = patronictl(scope, "history", "-f", "json");
            assertThat(history).contains("no recovery target specified").contains("pg0");
        }
    }

    @Test
    void thisAdapterReadsTheConfigPatroniWrote() throws Exception {
        String scope = "ctl-" + UUID.randomUUID().toString().substring(0, 8);
        try (Dcs a = server.connect(scope, "pg0", Duration.ofSeconds(10))) {
            assertThat(a.writeConfig(Map.of("ttl", 30L, "loop_wait", 10L), Dcs.ABSENT))
                    .isTrue();
            a.touchMember(memberData("10.0.0.1", "primary"));
            assertThat(a.acquireLeader()).isTrue();
            long before = a.read().config().version();

            patronictl(scope, "edit-config", "--force", "-s", "ttl=40", "-p", "max_connections=200");

            var config = a.read().config();
            assertThat(config.version()).isNotEqualTo(before);
            assertThat(config.data()).containsEntry("ttl", 40L).containsEntry("loop_wait", 10L);
            assertThat(config.data().get("postgresql"))
                    .isEqualTo(Map.of("parameters", Map.of("max_connections", 200L)));
            // and a CAS write on the version read after Patroni's write goes through
            assertThat(a.writeConfig(Map.of("ttl", 30L), config.version())).isTrue();
        }
    }

    private static Map<String, Object> memberData(String host, String role) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("conn_url", "postgres://" + host + ":5432/postgres");
        m.put("api_url", "http://" + host + ":8008/patroni");
        m.put("state", role.equals("primary") ? "running" : "streaming");
        m.put("role", role);
        m.put("version", "3.0.2");
        m.put("xlog_location", 50331808L);
        m.put("timeline", 2L);
        return m;
    }

    private String patronictl(String scope, String... args) throws Exception {
        Path config = dir.resolve("patronictl.yml");
        Files.writeString(
                config,
                "scope: " + scope + "\nnamespace: /service/\nzookeeper:\n  hosts: ['" + server.connectString()
                        + "']\n");
        List<String> cmd = new ArrayList<>(List.of(PATRONICTL.toString(), "-c", config.toString()));
        cmd.addAll(List.of(args));
        Path out = dir.resolve("out.txt");
        int rc = run(cmd, out, 60);
        String text = Files.readString(out);
        assertThat(rc).as("patronictl " + String.join(" ", args) + ":\n" + text).isZero();
        // patronictl may print warnings before the JSON
        int json = text.indexOf('[');
        return args[0].equals("list") || args[0].equals("history") ? text.substring(Math.max(0, json)) : text;
    }

    private static int run(List<String> cmd, Path out, int seconds) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.redirectOutput(out == null ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.to(out.toFile()));
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process p = pb.start();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + " did not finish in " + seconds + " s");
        }
        return p.exitValue();
    }

    /** The interpreter named by a script's #! line. */
    private static String firstLine(Path script) throws Exception {
        String line = Files.readAllLines(script).get(0);
        return line.startsWith("#!") ? line.substring(2).trim().split("\\s+", 2)[0] : "python3";
    }
}
