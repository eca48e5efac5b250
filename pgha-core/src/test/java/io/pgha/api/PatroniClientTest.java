package io.pgha.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.rest.PatroniClient;
import io.pgha.rest.RestApiConfig;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PatroniClientTest extends ApiTestSupport {

    @Test
    void getPatroniReturnsTheMembersStatus() throws Exception {
        RestApiServer s = start(new FakeNode(primary(Map.of()), dcs("pg0")));
        assertThat(PatroniClient.create().getPatroni(s.apiUrl(), Duration.ofSeconds(2)))
                .get()
                .satisfies(m -> assertThat(m).containsEntry("role", "master").containsKey("xlog"));
    }

    @Test
    void aMemberThatDoesNotAnswerIsEmptyWithinTheTimeout() throws Exception {
        List<Socket> accepted = new ArrayList<>();
        try (ServerSocket silent = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread t = new Thread(() -> {
                try {
                    while (true) {
                        accepted.add(silent.accept());
                    }
                } catch (Exception e) {
                    // closed
                }
            });
            t.setDaemon(true);
            t.start();
            long start = System.nanoTime();
            assertThat(PatroniClient.create()
                            .getPatroni(
                                    "http://127.0.0.1:" + silent.getLocalPort() + "/patroni", Duration.ofMillis(500)))
                    .isEmpty();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
        } finally {
            for (Socket s : accepted) {
                s.close();
            }
        }
    }

    @Test
    void downOrBadMembersAreEmpty() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        PatroniClient client = PatroniClient.create();
        assertThat(client.getPatroni("http://127.0.0.1:" + port + "/patroni", Duration.ofSeconds(2)))
                .isEmpty();
        assertThat(client.getPatroni("not a url", Duration.ofSeconds(2))).isEmpty();
        RestApiServer s = start(new FakeNode(primary(Map.of()), dcs("pg0")));
        assertThat(client.getPatroni(s.apiUrl().replace("/patroni", "/nonsense"), Duration.ofSeconds(2)))
                .isEmpty();
        assertThat(client.postFailsafe("http://127.0.0.1:" + port + "/patroni", Map.of(), Duration.ofSeconds(2)))
                .isFalse();
    }

    @Test
    void sendsTheNodesCredentials() throws Exception {
        RestApiConfig config = RestApiConfig.builder()
                .listen("127.0.0.1", 0)
                .authentication("u", "p")
                .build();
        Map<String, Object> failsafe = Map.of("failsafe_mode", true);
        RestApiServer s = start(
                new FakeNode(
                        withFailsafeKey(replica(100, 100, "streaming", failsafe, Map.of(), null), failsafe),
                        dcs("pg1")),
                config);
        Map<String, Object> body = Map.of("name", "pg0", "api_url", "http://127.0.0.1:8008/patroni");
        assertThat(PatroniClient.create().postFailsafe(s.apiUrl(), body, Duration.ofSeconds(2)))
                .isFalse();
        assertThat(PatroniClient.create(config).postFailsafe(s.apiUrl(), body, Duration.ofSeconds(2)))
                .isTrue();
    }

    /** A peer on a raw socket that answers every connection with {@code answer}; records what it was sent. */
    private static final class RawPeer implements AutoCloseable {
        final ServerSocket socket;
        final List<String> requests = new java.util.concurrent.CopyOnWriteArrayList<>();
        final List<Socket> open = new java.util.concurrent.CopyOnWriteArrayList<>();

        RawPeer(java.util.function.BiConsumer<Socket, java.io.OutputStream> answer) throws Exception {
            socket = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
            Thread t = new Thread(() -> {
                try {
                    while (true) {
                        Socket c = socket.accept();
                        open.add(c);
                        Thread h = new Thread(() -> {
                            try {
                                byte[] buf = new byte[8192];
                                int n = c.getInputStream().read(buf);
                                requests.add(new String(
                                        buf, 0, Math.max(n, 0), java.nio.charset.StandardCharsets.ISO_8859_1));
                                answer.accept(c, c.getOutputStream());
                            } catch (Exception e) {
                                // the client gave up
                            }
                        });
                        h.setDaemon(true);
                        h.start();
                    }
                } catch (Exception e) {
                    // closed
                }
            });
            t.setDaemon(true);
            t.start();
        }

        String url() {
            return "http://127.0.0.1:" + socket.getLocalPort() + "/patroni";
        }

        @Override
        public void close() throws Exception {
            socket.close();
            for (Socket s : open) {
                s.close();
            }
        }
    }

    private static void write(java.io.OutputStream out, String s) {
        try {
            out.write(s.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            out.flush();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aPeerTricklingItsBodyIsCutOffAtTheTimeout() throws Exception {
        try (RawPeer peer = new RawPeer((c, out) -> {
            write(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{");
            try {
                while (true) {
                    Thread.sleep(100);
                    write(out, " ");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        })) {
            long start = System.nanoTime();
            assertThat(PatroniClient.create().getPatroni(peer.url(), Duration.ofMillis(1000)))
                    .isEmpty();
            assertThat(PatroniClient.create().postFailsafe(peer.url(), Map.of("name", "pg0"), Duration.ofMillis(1000)))
                    .isFalse();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(6));
        }
    }

    @Test
    void aHugeAnswerIsDropped() throws Exception {
        int size = 8 * 1024 * 1024;
        try (RawPeer peer = new RawPeer((c, out) -> {
            write(
                    out,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + (size + 10)
                            + "\r\n\r\n{\"x\":\"");
            byte[] chunk = "x".repeat(64 * 1024).getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
            try {
                for (int i = 0; i < size / chunk.length; i++) {
                    out.write(chunk);
                }
                write(out, "\"}");
            } catch (java.io.IOException e) {
                // the client hung up: as it should
            }
        })) {
            assertThat(PatroniClient.create().getPatroni(peer.url(), Duration.ofSeconds(5)))
                    .isEmpty();
        }
    }

    @org.junit.jupiter.api.io.TempDir
    java.nio.file.Path dir;

    @Test
    void credentialsGoOnlyOverTheConfiguredScheme() throws Exception {
        RestApiConfig tls = RestApiConfig.builder()
                .authentication("u", "secret")
                .tls(
                        TestPems.write(dir, "client.pem", TestPems.CLIENT_PEM),
                        TestPems.write(dir, "client.key", TestPems.CLIENT_KEY),
                        null,
                        TestPems.write(dir, "ca.pem", TestPems.CA_PEM),
                        RestApiConfig.VerifyClient.NONE)
                .build();
        RestApiConfig plain =
                RestApiConfig.builder().authentication("u", "secret").build();
        try (RawPeer peer = new RawPeer((c, out) ->
                write(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"))) {
            // a planted http:// api_url never gets the credentials of a node whose API is https
            assertThat(PatroniClient.create(tls).getPatroni(peer.url(), Duration.ofSeconds(2)))
                    .isPresent();
            assertThat(peer.requests).hasSize(1);
            assertThat(peer.requests.get(0).toLowerCase(java.util.Locale.ROOT)).doesNotContain("authorization");
            // the node's own scheme does
            assertThat(PatroniClient.create(plain).getPatroni(peer.url(), Duration.ofSeconds(2)))
                    .isPresent();
            assertThat(peer.requests.get(1).toLowerCase(java.util.Locale.ROOT)).contains("authorization: basic");
            // user info in an api_url is refused outright
            assertThat(PatroniClient.create(plain)
                            .getPatroni(peer.url().replace("http://", "http://a:b@"), Duration.ofSeconds(2)))
                    .isEmpty();
            assertThat(peer.requests).hasSize(2);
        }
    }
}
