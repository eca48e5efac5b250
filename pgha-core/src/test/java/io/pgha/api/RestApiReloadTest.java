package io.pgha.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.rest.PatroniClient;
import io.pgha.rest.RestApiConfig;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link RestApiServer#reconfigure}: what a SIGHUP does to the REST API (issue 15). */
class RestApiReloadTest extends ApiTestSupport {
    @TempDir
    Path dir;

    private RestApiServer serve(RestApiConfig config) throws IOException {
        return start(new FakeNode(primary(Map.of()), dcs("pg0")), config);
    }

    private static RestApiConfig.Builder onPort(int port) {
        return RestApiConfig.builder().listen("127.0.0.1", port);
    }

    private static int status(RestApiServer s, String user, String password) {
        Http http = new Http(s);
        if (user != null) {
            http.auth(user, password);
        }
        return http.send("POST", "/reload", "").statusCode();
    }

    @Test
    void newCredentialsApplyInPlaceFromTheNextRequest() throws Exception {
        RestApiServer s = serve(onPort(0).authentication("admin", "old").build());
        int port = s.address().getPort();
        assertThat(status(s, "admin", "old")).isEqualTo(202);

        assertThat(s.reconfigure(onPort(0).authentication("admin", "new").build()))
                .isTrue();

        assertThat(s.address().getPort()).isEqualTo(port);
        assertThat(status(s, "admin", "old")).isEqualTo(401);
        assertThat(status(s, null, null)).isEqualTo(401);
        assertThat(status(s, "admin", "new")).isEqualTo(202);
        assertThat(s.reconfigure(onPort(0).authentication("admin", "new").build()))
                .as("the same settings again change nothing")
                .isFalse();
    }

    @Test
    void removingTheCredentialsOpensTheWritesAndAnAllowlistClosesThem() throws Exception {
        RestApiServer s = serve(onPort(0).authentication("admin", "old").build());
        s.reconfigure(onPort(0).build());
        assertThat(status(s, null, null)).isEqualTo(202);
        s.reconfigure(onPort(0).allowlist(java.util.List.of("192.0.2.0/24")).build());
        assertThat(status(s, null, null)).isEqualTo(403);
    }

    @Test
    void newExtraHeadersAndConnectAddressApplyInPlace() throws Exception {
        RestApiServer s = serve(onPort(0).build());
        s.reconfigure(onPort(0)
                .httpExtraHeaders(Map.of("X-Team", "db"))
                .connectAddress("db1.example:8008")
                .build());
        assertThat(new Http(s).get("/patroni").headers().firstValue("X-Team")).hasValue("db");
        assertThat(s.apiUrl()).isEqualTo("http://db1.example:8008/patroni");
    }

    @Test
    void missingTlsFilesLeaveTheRunningApiAsItWas() throws Exception {
        RestApiServer s = serve(onPort(0).authentication("admin", "old").build());
        int port = s.address().getPort();
        RestApiConfig broken = onPort(port)
                .authentication("admin", "new")
                .tls(dir.resolve("missing.pem"), dir.resolve("missing.key"), null, null, null)
                .build();

        assertThatThrownBy(() -> s.reconfigure(broken)).hasMessageContaining("missing.pem");

        assertThat(s.address().getPort()).isEqualTo(port);
        assertThat(s.apiUrl()).startsWith("http://");
        assertThat(status(s, "admin", "old")).isEqualTo(202);
        assertThat(status(s, "admin", "new")).isEqualTo(401);
    }

    @Test
    void turningTlsOnRebindsTheSamePort() throws Exception {
        RestApiServer s = serve(onPort(0).build());
        int port = s.address().getPort();
        RestApiConfig tls = onPort(port)
                .tls(
                        TestPems.write(dir, "server.pem", TestPems.SERVER_PEM),
                        TestPems.write(dir, "server.key", TestPems.SERVER_KEY),
                        null,
                        null,
                        null)
                .build();

        assertThat(s.reconfigure(tls)).isTrue();

        assertThat(s.address().getPort()).isEqualTo(port);
        assertThat(s.apiUrl()).isEqualTo("https://127.0.0.1:" + port + "/patroni");
        assertThat(clientTrustingTheCa().getPatroni(s.apiUrl(), Duration.ofSeconds(5)))
                .isPresent();
    }

    @Test
    void aNewPortIsBoundBeforeTheOldOneCloses() throws Exception {
        RestApiServer s = serve(onPort(0).build());
        int oldPort = s.address().getPort();
        int newPort;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            newPort = probe.getLocalPort();
        }

        s.reconfigure(onPort(newPort).build());

        assertThat(s.address().getPort()).isEqualTo(newPort);
        assertThat(new Http(s).get("/patroni").statusCode()).isEqualTo(200);
        assertThatThrownBy(() -> new Socket(InetAddress.getLoopbackAddress(), oldPort).close())
                .isInstanceOf(ConnectException.class);
    }

    @Test
    void aPortThatCannotBeBoundLeavesTheOldServerRunning() throws Exception {
        RestApiServer s = serve(onPort(0).authentication("admin", "old").build());
        int port = s.address().getPort();
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            RestApiConfig next =
                    onPort(taken.getLocalPort()).authentication("admin", "new").build();
            assertThatThrownBy(() -> s.reconfigure(next))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("restapi.listen");
        }
        assertThat(s.address().getPort()).isEqualTo(port);
        assertThat(status(s, "admin", "old")).isEqualTo(202);
    }

    private PatroniClient clientTrustingTheCa() throws Exception {
        return PatroniClient.create(RestApiConfig.builder()
                .tls(
                        TestPems.write(dir, "client.pem", TestPems.CLIENT_PEM),
                        TestPems.write(dir, "client.key", TestPems.CLIENT_KEY),
                        null,
                        TestPems.write(dir, "ca.pem", TestPems.CA_PEM),
                        RestApiConfig.VerifyClient.NONE)
                .build());
    }
}
