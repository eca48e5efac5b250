package io.pgha.dcs.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgha.dcs.ClusterStatus;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsSettings;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Patroni's own CLI reads a cluster that pgha wrote: Debian's {@code patronictl} (Patroni 3.0.2)
 * lists the members and the leader of a cluster written through the etcd adapter.
 */
class PatroniCompatibilityIT {
    private static final Path PATRONICTL = Path.of(System.getProperty("pgha.patronictl", "/usr/bin/patronictl"));

    private static EtcdServer etcd;
    private final List<Dcs> opened = new ArrayList<>();

    @BeforeAll
    static void startEtcd() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(PATRONICTL), "patronictl not installed (Debian package patroni)");
        EtcdServer.assumeInstalled();
        etcd = EtcdServer.start();
    }

    @AfterAll
    static void stopEtcd() throws Exception {
        if (etcd != null) {
            etcd.close();
        }
    }

    @Test
    void patronictlListsTheMembersAndTheLeader(@TempDir Path tmp) throws Exception {
        String scope = "pgha-compat";
        try {
            Map<String, Dcs> members = new LinkedHashMap<>();
            for (String name : List.of("pg0", "pg1", "pg2")) {
                members.put(
                        name,
                        new EtcdDcsProvider()
                                .create(new DcsSettings(
                                        "/service/",
                                        scope,
                                        name,
                                        Duration.ofSeconds(30),
                                        Duration.ofSeconds(5),
                                        Map.of("hosts", etcd.hostPort()))));
            }
            opened.addAll(members.values());
            Dcs leader = members.get("pg0");
            int port = 0;
            for (Map.Entry<String, Dcs> e : members.entrySet()) {
                String name = e.getKey();
                boolean primary = name.equals("pg0");
                Map<String, Object> data = new LinkedHashMap<>();
                data.put("conn_url", "postgres://127.0.0.1:" + (5432 + port) + "/postgres");
                // closed loopback ports: patronictl must not find a real API there
                data.put("api_url", "http://127.0.0.1:" + closedPort() + "/patroni");
                data.put("state", "running");
                data.put("role", primary ? "primary" : "replica");
                data.put("version", "3.0.2");
                data.put("xlog_location", primary ? 67393608L : 67393000L);
                data.put("timeline", 1L);
                e.getValue().touchMember(data);
                port++;
            }
            assertThat(leader.acquireLeader()).isTrue();
            assertThat(leader.writeInitialize("7301234567890123456", Dcs.ABSENT))
                    .isTrue();
            Map<String, Object> config = new LinkedHashMap<>();
            config.put("ttl", 30L);
            config.put("loop_wait", 10L);
            config.put("retry_timeout", 10L);
            config.put("maximum_lag_on_failover", 1048576L);
            assertThat(leader.writeConfig(config, Dcs.ABSENT)).isTrue();
            leader.writeStatus(new ClusterStatus(67393608L, Map.of(), List.of()));

            Path file = tmp.resolve("patronictl.yaml");
            Files.writeString(
                    file,
                    "scope: " + scope + "\nnamespace: /service/\netcd3:\n  hosts: " + etcd.hostPort() + "\n",
                    StandardCharsets.UTF_8);
            String out = run(tmp, PATRONICTL.toString(), "-c", file.toString(), "list", "-f", "json");
            List<Map<String, Object>> rows = new ObjectMapper().readValue(out, new TypeReference<>() {});

            Map<String, String> roles = new LinkedHashMap<>();
            for (Map<String, Object> row : rows) {
                assertThat(row.get("Cluster")).isEqualTo(scope);
                assertThat(row.get("State")).as("state of " + row.get("Member")).isEqualTo("running");
                roles.put(String.valueOf(row.get("Member")), String.valueOf(row.get("Role")));
            }
            assertThat(roles)
                    .containsExactlyInAnyOrderEntriesOf(Map.of("pg0", "Leader", "pg1", "Replica", "pg2", "Replica"));
        } finally {
            opened.forEach(Dcs::close);
        }
    }

    private static String run(Path dir, String... cmd) throws IOException, InterruptedException {
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .directory(dir.toFile())
                .redirectOutput(out.toFile())
                .redirectError(err.toFile());
        pb.environment().put("HOME", dir.toString());
        Process p = pb.start();
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("patronictl did not finish within 90 s: " + Files.readString(err));
        }
        String stdout = Files.readString(out);
        assertThat(p.exitValue())
                .as("patronictl exit code; stderr: " + Files.readString(err) + "; stdout: " + stdout)
                .isZero();
        return stdout;
    }

    private static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
