package io.pgha.api;

import static io.pgha.api.States.MB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's HAProxy routes by pgha's health checks exactly as it does by Patroni's
 * ({@code option httpchk OPTIONS /primary}): a "primary" frontend reaches the node that holds the
 * lock, a "replicas" frontend the others, and a role change moves the traffic. PostgreSQL is
 * played by sockets that answer their member name.
 */
class HaproxyRoutingIT extends ApiTestSupport {
    private static final Path HAPROXY = Path.of("/usr/sbin/haproxy");

    @TempDir
    Path dir;

    private final List<ServerSocket> fakePostgres = new ArrayList<>();
    private Process haproxy;

    @AfterEach
    void stop() throws Exception {
        if (haproxy != null) {
            haproxy.destroy();
            if (!haproxy.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                haproxy.destroyForcibly();
            }
        }
        for (ServerSocket s : fakePostgres) {
            s.close();
        }
    }

    private int namedSocket(String name) throws IOException {
        ServerSocket ss = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        fakePostgres.add(ss);
        Thread t = new Thread(
                () -> {
                    while (!ss.isClosed()) {
                        try (Socket s = ss.accept()) {
                            s.getOutputStream().write(name.getBytes(StandardCharsets.US_ASCII));
                        } catch (IOException e) {
                            // closed
                        }
                    }
                },
                "fake-postgres-" + name);
        t.setDaemon(true);
        t.start();
        return ss.getLocalPort();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static String through(int port) {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(2000);
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return "";
        }
    }

    private static String await(int port, String expected) throws InterruptedException {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        String last = "";
        while (Instant.now().isBefore(deadline)) {
            last = through(port);
            if (last.equals(expected)) {
                return last;
            }
            Thread.sleep(100);
        }
        return last;
    }

    @Test
    void haproxyRoutesToThePrimaryAndFollowsASwitchover() throws Exception {
        assumeTrue(
                Files.isExecutable(HAPROXY), "HAProxy is not installed at " + HAPROXY + " (apt-get install haproxy)");
        FakeNode n0 = new FakeNode(primary(Map.of()), dcs("pg0"));
        FakeNode n1 = new FakeNode(replica(100 * MB, 100 * MB, "streaming", Map.of(), Map.of(), null), dcs("pg1"));
        n1.update(s -> States.withRole(s, "replica", false));
        RestApiServer a0 = start(n0);
        RestApiServer a1 = start(n1);
        int pg0 = namedSocket("pg0");
        int pg1 = namedSocket("pg1");
        int primaryPort = freePort();
        int replicaPort = freePort();
        Path cfg = dir.resolve("haproxy.cfg");
        Files.writeString(
                cfg,
                String.join(
                        "\n",
                        "global",
                        "    maxconn 100",
                        "defaults",
                        "    mode tcp",
                        "    timeout connect 2s",
                        "    timeout client 10s",
                        "    timeout server 10s",
                        "    timeout check 2s",
                        "listen primary",
                        "    bind 127.0.0.1:" + primaryPort,
                        "    option httpchk OPTIONS /primary",
                        "    http-check expect status 200",
                        "    default-server inter 200ms fall 1 rise 1 on-marked-down shutdown-sessions",
                        "    server pg0 127.0.0.1:" + pg0 + " check port "
                                + a0.address().getPort(),
                        "    server pg1 127.0.0.1:" + pg1 + " check port "
                                + a1.address().getPort(),
                        "listen replicas",
                        "    bind 127.0.0.1:" + replicaPort,
                        "    option httpchk OPTIONS /replica",
                        "    http-check expect status 200",
                        "    default-server inter 200ms fall 1 rise 1 on-marked-down shutdown-sessions",
                        "    server pg0 127.0.0.1:" + pg0 + " check port "
                                + a0.address().getPort(),
                        "    server pg1 127.0.0.1:" + pg1 + " check port "
                                + a1.address().getPort(),
                        ""));
        haproxy = new ProcessBuilder(HAPROXY.toString(), "-db", "-f", cfg.toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("haproxy.log").toFile())
                .start();

        assertThat(await(primaryPort, "pg0")).isEqualTo("pg0");
        assertThat(await(replicaPort, "pg1")).isEqualTo("pg1");

        // switchover: pg1 takes the lock, pg0 becomes its replica
        n0.update(s ->
                States.withRole(States.with(s, States.replicaPg(100 * MB, 100 * MB, "streaming")), "replica", false));
        n1.update(s -> States.withRole(States.with(s, States.primaryPg(101 * MB)), "primary", true));

        assertThat(await(primaryPort, "pg1")).isEqualTo("pg1");
        assertThat(await(replicaPort, "pg0")).isEqualTo("pg0");
        assertThat(haproxy.isAlive())
                .as(Files.readString(dir.resolve("haproxy.log")))
                .isTrue();
    }
}
