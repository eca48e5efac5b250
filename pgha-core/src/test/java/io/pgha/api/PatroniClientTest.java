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
}
