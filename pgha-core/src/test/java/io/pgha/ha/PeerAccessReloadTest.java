package io.pgha.ha;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.pgha.rest.RestApiConfig;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The calls to the other members take a reloaded file's credentials (issue 15), as Patroni's do. */
class PeerAccessReloadTest {
    @Test
    void failsafeCallsUseTheReloadedCredentials() throws Exception {
        HttpServer peer = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        String expected = "Basic "
                + java.util.Base64.getEncoder().encodeToString("admin:second".getBytes(StandardCharsets.UTF_8));
        peer.createContext("/failsafe", ex -> {
            boolean ok = expected.equals(ex.getRequestHeaders().getFirst("Authorization"));
            byte[] body = (ok ? "Accepted" : "not authenticated").getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(ok ? 200 : 401, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        peer.start();
        try {
            String url = "http://127.0.0.1:" + peer.getAddress().getPort() + "/patroni";
            PeerAccess access = PeerAccess.over(
                    RestApiConfig.builder().authentication("admin", "first").build());
            FailsafeProbe probe = access.failsafeProbe();
            Map<String, Object> body = Map.of("name", "pg0");

            assertThat(probe.call(Map.of("pg1", url), body, Duration.ofSeconds(5)))
                    .isEmpty();
            access.reconfigure(
                    RestApiConfig.builder().authentication("admin", "second").build());
            assertThat(probe.call(Map.of("pg1", url), body, Duration.ofSeconds(5)))
                    .as("the probe the cycle holds reads the new client")
                    .containsExactly("pg1");
        } finally {
            peer.stop(0);
        }
    }
}
