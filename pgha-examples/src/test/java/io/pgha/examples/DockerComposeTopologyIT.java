package io.pgha.examples;

import static io.pgha.examples.E2eSupport.await;
import static io.pgha.examples.E2eSupport.tryQuery;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * docker/docker-compose.yml's topology without a Docker engine: the same files, started as
 * processes on this machine. The compose file is read to find which node YAML files and which
 * haproxy.cfg it mounts; each is used as it is but for what only a container network gives
 * (host names, fixed ports, the data directory, the passwords the compose file passes through
 * PATRONI_*_PASSWORD; see {@link ShippedYaml}): a real etcd, three {@code pgha run} processes
 * from target/pgha.jar, a real HAProxy on the file's checks. A write through the read-write
 * port (5000 in the file) must land on the primary, a read through the read-only port (5001)
 * must be served by a replica. DockerImageIT runs the image itself where Docker exists.
 */
class DockerComposeTopologyIT {
    private static final Path DOCKER = Path.of(System.getProperty("pgha.root", ".."), "docker");
    private static final String NODE_FILE_IN_CONTAINER = "/etc/pgha/pgha.yml";
    private static final String HAPROXY_FILE_IN_CONTAINER = "/usr/local/etc/haproxy/haproxy.cfg";

    @Test
    void writesThroughTheReadWritePortReachThePrimaryAndReadsThroughTheReadOnlyPortAReplica() throws Exception {
        E2eCluster.assumeMachine(true);
        assumeTrue(HaProxy.installed(), "HAProxy is missing (" + HaProxy.BINARY + "): apt-get install haproxy");
        Compose compose = Compose.read(DOCKER.resolve("docker-compose.yml"));
        assertThat(compose.nodeFiles)
                .as("the pgha services and the node files they mount")
                .hasSize(3);
        assertThat(compose.publishedPorts).containsExactly(5000, 5001);
        String haproxyCfg = Files.readString(compose.haproxyFile);
        assertThat(haproxyCfg)
                .contains("option httpchk OPTIONS /primary", "option httpchk OPTIONS /replica")
                .contains("http-check expect status 200")
                .contains("default-server inter 3s fall 3 rise 2 on-marked-down shutdown-sessions");

        Path dir = Files.createTempDirectory("pgha-compose-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Ports ports = new Ports();
        List<String> services = new ArrayList<>(compose.nodeFiles.keySet());
        List<ObjectNode> nodeYamls =
                compose.nodeFiles.values().stream().map(ShippedYaml::read).toList();
        String scope = ShippedYaml.text(nodeYamls.get(0), "scope");
        try (LocalDcs etcd = LocalDcs.start("etcd3", dir, ports);
                LocalCluster cluster = new LocalCluster(
                        dir,
                        scope,
                        services.size(),
                        etcd,
                        E2eCluster.TIMINGS,
                        ports,
                        LocalCluster.jarLauncher(E2eCluster.JAR),
                        // members are pg0, pg1, ... in the order of the compose file's services
                        (m, password) -> ShippedYaml.forMember(
                                nodeYamls.get(Integer.parseInt(m.name.substring(2))), m, password, etcd))) {
            int rw = ports.next();
            int ro = ports.next();
            Map<String, LocalCluster.Member> byService = new LinkedHashMap<>();
            for (int i = 0; i < services.size(); i++) {
                byService.put(services.get(i), cluster.members().get(i));
            }
            Path cfg = dir.resolve("haproxy/haproxy.cfg");
            Files.createDirectories(cfg.getParent());
            Files.writeString(cfg, localHaproxyConfig(haproxyCfg, byService, Map.of(5000, rw, 5001, ro)));
            cluster.startAll();
            LocalCluster.Member leader = cluster.awaitHealthy(Duration.ofMinutes(4));
            try (HaProxy haproxy = HaProxy.run(cfg, cfg.getParent(), rw, ro)) {
                String rwUrl = haproxy.readWriteJdbcUrl();
                String roUrl = haproxy.readOnlyJdbcUrl();
                // HAProxy starts every server up and takes one down only after fall 3 failed checks
                // at inter 3s: until then a new connection may land on a replica. Settled means six
                // connections in a row reach the primary (round robin over three servers)
                String primaryPort =
                        await("the read-write port to reach the primary only", Duration.ofSeconds(90), () -> {
                            String first = null;
                            for (int i = 0; i < 6; i++) {
                                String port = tryQuery(
                                        rwUrl, cluster, "SELECT inet_server_port() WHERE NOT pg_is_in_recovery()");
                                if (port == null || (first != null && !first.equals(port))) {
                                    return Optional.empty();
                                }
                                first = port;
                            }
                            return Optional.of(first);
                        });
                assertThat(primaryPort).isEqualTo(String.valueOf(leader.pgPort));
                E2eSupport.exec(
                        rwUrl,
                        cluster,
                        "CREATE TABLE compose_probe (v text);" + " INSERT INTO compose_probe VALUES ('through 5000')");
                assertThat(E2eSupport.queryOne(leader.jdbcUrl(), cluster, "SELECT v FROM compose_probe"))
                        .isEqualTo("through 5000");
                List<String> replicaPorts = cluster.members().stream()
                        .filter(m -> m != leader)
                        .map(m -> String.valueOf(m.pgPort))
                        .toList();
                String servedBy = await(
                        "a replica to serve the row through the read-only port",
                        Duration.ofSeconds(60),
                        () -> Optional.ofNullable(
                                        tryQuery(
                                                roUrl,
                                                cluster,
                                                "SELECT inet_server_port() || ' ' || pg_is_in_recovery() || ' ' || v FROM compose_probe"))
                                // the primary too answers here until HAProxy's checks take it down
                                .filter(s -> s.contains(" true ")));
                String[] seen = servedBy.split(" ", 3);
                assertThat(seen[0]).isIn(replicaPorts);
                assertThat(seen[1]).isEqualTo("true");
                assertThat(seen[2]).isEqualTo("through 5000");
            }
            // issue 20: each replica's clone (pg_basebackup --progress) reported bytes and percent in its log
            for (LocalCluster.Member m : cluster.members()) {
                if (m != leader) {
                    assertThat(Files.readString(m.log))
                            .as(m.log.toString())
                            .containsPattern(m.name + ": clone from pg\\d: [0-9.]+ MiB of [0-9.]+ MiB \\(100%\\)");
                }
            }
        } finally {
            if (!Boolean.getBoolean("pgha.e2e.keep")) {
                try (Stream<Path> walk = Files.walk(dir)) {
                    walk.sorted(Comparator.reverseOrder())
                            .forEach(p -> p.toFile().delete());
                }
            }
        }
    }

    /**
     * The compose stack's haproxy.cfg on this machine: each frontend binds loopback on a free port
     * instead of the published one, each server line names its member's loopback address and ports
     * instead of the service's host name and the container ports. Everything else is the file's.
     */
    static String localHaproxyConfig(
            String cfg, Map<String, LocalCluster.Member> byService, Map<Integer, Integer> binds) {
        return cfg.lines()
                .map(line -> {
                    String t = line.strip();
                    if (t.startsWith("bind ")) {
                        int port = Integer.parseInt(t.substring(t.lastIndexOf(':') + 1));
                        return line.substring(0, line.indexOf("bind")) + "bind 127.0.0.1:" + binds.get(port);
                    }
                    if (t.startsWith("server ")) {
                        String[] f = t.split("\\s+");
                        String host = f[2].substring(0, f[2].indexOf(':'));
                        LocalCluster.Member m = byService.get(host);
                        assertThat(m).as("a compose service named " + host).isNotNull();
                        f[2] = "127.0.0.1:" + m.pgPort;
                        for (int i = 3; i + 1 < f.length; i++) {
                            if (f[i].equals("port")) {
                                f[i + 1] = String.valueOf(m.apiPort);
                            }
                        }
                        return line.substring(0, line.indexOf("server")) + String.join(" ", f);
                    }
                    return line;
                })
                .collect(Collectors.joining("\n", "", "\n"));
    }

    /** What the test takes from docker-compose.yml. */
    record Compose(Map<String, Path> nodeFiles, Path haproxyFile, List<Integer> publishedPorts) {
        @SuppressWarnings("unchecked")
        static Compose read(Path file) throws IOException {
            // SnakeYAML, which resolves the file's anchors and merge keys (<<: *pgha-node)
            Map<String, Object> doc = new Yaml().load(Files.readString(file));
            Map<String, Map<String, Object>> services = (Map<String, Map<String, Object>>) doc.get("services");
            Map<String, Path> nodes = new LinkedHashMap<>();
            Path haproxy = null;
            List<Integer> published = new ArrayList<>();
            for (Map.Entry<String, Map<String, Object>> s : services.entrySet()) {
                for (Object v : (List<Object>) s.getValue().getOrDefault("volumes", List.of())) {
                    String[] parts = v.toString().split(":", -1);
                    if (parts.length >= 2 && parts[1].equals(NODE_FILE_IN_CONTAINER)) {
                        nodes.put(s.getKey(), file.getParent().resolve(parts[0]).normalize());
                    }
                    if (parts.length >= 2 && parts[1].equals(HAPROXY_FILE_IN_CONTAINER)) {
                        haproxy = file.getParent().resolve(parts[0]).normalize();
                        for (Object p : (List<Object>) s.getValue().getOrDefault("ports", List.of())) {
                            published.add(Integer.parseInt(p.toString().split(":", -1)[0]));
                        }
                    }
                }
            }
            assertThat(haproxy)
                    .as("a service mounting " + HAPROXY_FILE_IN_CONTAINER)
                    .isNotNull();
            return new Compose(nodes, haproxy, published);
        }
    }
}
