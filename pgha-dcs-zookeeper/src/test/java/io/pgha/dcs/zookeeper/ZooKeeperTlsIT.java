package io.pgha.dcs.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsProvider;
import io.pgha.dcs.DcsSettings;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.KeeperException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TLS options against a ZooKeeper server with a secure client port, certificates made by
 * openssl for this test (skipped when openssl is missing), and Patroni's x509 set_acls.
 */
class ZooKeeperTlsIT {
    @TempDir
    static Path dir;

    private static TestingServer server;
    private static int securePort;
    private static final List<String> SERVER_PROPERTIES = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(
                new File("/usr/bin/openssl").canExecute() || onPath("openssl"),
                "openssl is needed to make the test certificates");
        openssl(
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "1",
                "-subj",
                "/CN=pgha-test-ca");
        Files.writeString(dir.resolve("san.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        for (String who : List.of("server", "client")) {
            openssl(
                    "req",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-keyout",
                    who + ".key",
                    "-out",
                    who + ".csr",
                    "-subj",
                    "/CN=pgha-" + who);
            openssl(
                    "x509",
                    "-req",
                    "-in",
                    who + ".csr",
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-out",
                    who + ".crt",
                    "-days",
                    "1",
                    "-extfile",
                    "san.cnf");
        }
        Files.writeString(
                dir.resolve("server.pem"),
                Files.readString(dir.resolve("server.key")) + Files.readString(dir.resolve("server.crt")));

        securePort = InstanceSpec.getRandomPort();
        Map<String, Object> props = new HashMap<>();
        props.put("clientPortAddress", "127.0.0.1");
        props.put("secureClientPort", String.valueOf(securePort));
        props.put("secureClientPortAddress", "127.0.0.1");
        // keys ZooKeeper does not know in zoo.cfg become "zookeeper."-prefixed system properties
        props.put("serverCnxnFactory", "org.apache.zookeeper.server.NettyServerCnxnFactory");
        props.put("authProvider.x509", "org.apache.zookeeper.server.auth.X509AuthenticationProvider");
        props.put("ssl.keyStore.location", dir.resolve("server.pem").toString());
        props.put("ssl.keyStore.type", "PEM");
        props.put("ssl.trustStore.location", dir.resolve("ca.pem").toString());
        props.put("ssl.trustStore.type", "PEM");
        props.put("ssl.clientHostnameVerification", "false");
        props.keySet().stream()
                .filter(k -> !k.contains("PortAddress") && !k.equals("secureClientPort"))
                .forEach(k -> SERVER_PROPERTIES.add("zookeeper." + k));
        InstanceSpec spec =
                new InstanceSpec(null, -1, -1, -1, true, -1, ZooKeeperTestServer.TICK_MILLIS, -1, props, "127.0.0.1");
        server = new TestingServer(spec, true);
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        SERVER_PROPERTIES.forEach(System::clearProperty);
    }

    private Dcs connect(String member, Map<String, Object> extra) throws Exception {
        Map<String, Object> options = new HashMap<>(extra);
        options.put("hosts", "127.0.0.1:" + securePort);
        options.put("use_ssl", true);
        options.put("cacert", dir.resolve("ca.pem").toString());
        options.put("cert", dir.resolve("client.crt").toString());
        options.put("key", dir.resolve("client.key").toString());
        return DcsProvider.find("zookeeper")
                .create(new DcsSettings(null, "tls", member, Duration.ofSeconds(4), Duration.ofSeconds(3), options));
    }

    @Test
    void worksOverTlsWithAClientCertificate() throws Exception {
        try (Dcs a = connect("a", Map.of());
                Dcs b = connect("b", Map.of())) {
            awaitConnected(a);
            assertThat(a.acquireLeader()).isTrue();
            a.touchMember(Map.of("state", "running"));
            assertThat(b.read().isLeader("a")).isTrue();
            assertThat(b.read().member("a")).isPresent();
        }
    }

    @Test
    void setAclsLockOutOtherPrincipals() throws Exception {
        try (Dcs a = connect("a", Map.of("set_acls", Map.of("CN=pgha-client", List.of("ALL"))))) {
            awaitConnected(a);
            assertThat(a.writeConfig(Map.of("ttl", 30L), Dcs.ABSENT)).isTrue();
            assertThat(a.read().config().data()).isEqualTo(Map.of("ttl", 30L));
        }
        try (CuratorFramework anonymous =
                CuratorFrameworkFactory.newClient(server.getConnectString(), 5000, 5000, new RetryOneTime(100))) {
            anonymous.start();
            assertThat(anonymous.blockUntilConnected(10, TimeUnit.SECONDS)).isTrue();
            assertThatThrownBy(() -> anonymous.getData().forPath("/service/tls/config"))
                    .isInstanceOf(KeeperException.NoAuthException.class);
            assertThatThrownBy(() -> anonymous.setData().forPath("/service/tls/config", new byte[0]))
                    .isInstanceOf(KeeperException.NoAuthException.class);
        }
    }

    private static void awaitConnected(Dcs dcs) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                dcs.read();
                return;
            } catch (io.pgha.dcs.DcsException e) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("no TLS connection in 30 s", e);
                }
            }
        }
    }

    private static void openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add("openssl");
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("openssl.log").toFile())
                .start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("openssl " + String.join(" ", args) + " did not finish");
        }
        if (p.exitValue() != 0) {
            throw new AssertionError(
                    "openssl " + String.join(" ", args) + " failed: " + Files.readString(dir.resolve("openssl.log")));
        }
    }

    private static boolean onPath(String command) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String d : path.split(File.pathSeparator, -1)) {
            if (new File(d, command).canExecute()) {
                return true;
            }
        }
        return false;
    }
}
