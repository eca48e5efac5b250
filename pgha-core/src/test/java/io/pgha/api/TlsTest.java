package io.pgha.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.rest.PatroniClient;
import io.pgha.rest.RestApiConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TlsTest extends ApiTestSupport {
    @TempDir
    Path dir;

    private RestApiConfig.Builder tls(String keyPem, String password, RestApiConfig.VerifyClient verify)
            throws Exception {
        return RestApiConfig.builder()
                .listen("127.0.0.1", 0)
                .tls(
                        TestPems.write(dir, "server.pem", TestPems.SERVER_PEM),
                        TestPems.write(dir, "server.key", keyPem),
                        password,
                        TestPems.write(dir, "ca.pem", TestPems.CA_PEM),
                        verify);
    }

    private PatroniClient clientWithCertificate() throws Exception {
        return PatroniClient.create(RestApiConfig.builder()
                .tls(
                        TestPems.write(dir, "client.pem", TestPems.CLIENT_PEM),
                        TestPems.write(dir, "client.key", TestPems.CLIENT_KEY),
                        null,
                        TestPems.write(dir, "ca.pem", TestPems.CA_PEM),
                        RestApiConfig.VerifyClient.NONE)
                .build());
    }

    /** An https client that trusts the test CA and has no certificate of its own. */
    private HttpClient trustingClient() throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        List<Certificate> cas;
        try (java.io.InputStream pem =
                java.nio.file.Files.newInputStream(TestPems.write(dir, "ca.pem", TestPems.CA_PEM))) {
            cas = new ArrayList<>(
                    java.security.cert.CertificateFactory.getInstance("X.509").generateCertificates(pem));
        }
        ks.setCertificateEntry("ca", cas.get(0));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return HttpClient.newBuilder()
                .sslContext(ctx)
                .version(HttpClient.Version.HTTP_1_1)
                .build();
    }

    private RestApiServer serve(RestApiConfig config) throws Exception {
        return start(new FakeNode(primary(Map.of()), dcs("pg0")), config);
    }

    @Test
    void servesHttpsWithAPkcs8Key() throws Exception {
        RestApiServer s = serve(
                tls(TestPems.SERVER_KEY, null, RestApiConfig.VerifyClient.NONE).build());
        assertThat(s.apiUrl()).startsWith("https://127.0.0.1:");
        assertThat(clientWithCertificate().getPatroni(s.apiUrl(), Duration.ofSeconds(5)))
                .get()
                .extracting(m -> m.get("role"))
                .isEqualTo("master");
        HttpResponse<String> r = trustingClient()
                .send(
                        HttpRequest.newBuilder(URI.create(s.apiUrl().replace("/patroni", "/primary")))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
    }

    @Test
    void servesHttpsWithAPkcs1RsaKey() throws Exception {
        RestApiServer s = serve(tls(TestPems.SERVER_PKCS1_KEY, null, RestApiConfig.VerifyClient.NONE)
                .build());
        assertThat(clientWithCertificate().getPatroni(s.apiUrl(), Duration.ofSeconds(5)))
                .isPresent();
    }

    @Test
    void servesHttpsWithAnEncryptedPkcs8Key() throws Exception {
        RestApiServer s = serve(tls(TestPems.SERVER_ENC_KEY, "secret", RestApiConfig.VerifyClient.NONE)
                .build());
        assertThat(clientWithCertificate().getPatroni(s.apiUrl(), Duration.ofSeconds(5)))
                .isPresent();
    }

    @Test
    void badKeysFailClearlyNamingTheFile() throws Exception {
        assertThatThrownBy(() -> serve(tls(TestPems.SERVER_ENC_KEY, "wrong", RestApiConfig.VerifyClient.NONE)
                        .build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("restapi.keyfile")
                .hasMessageContaining("keyfile_password");
        assertThatThrownBy(() -> serve(tls(TestPems.SERVER_ENC_KEY, null, RestApiConfig.VerifyClient.NONE)
                        .build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("set restapi.keyfile_password");
        assertThatThrownBy(() -> serve(tls(
                                "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
                                null,
                                RestApiConfig.VerifyClient.NONE)
                        .build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("openssl pkcs8 -topk8");
        assertThatThrownBy(() -> serve(tls("no key here", null, RestApiConfig.VerifyClient.NONE)
                        .build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("holds no private key");
        assertThatThrownBy(() -> serve(RestApiConfig.builder()
                        .listen("127.0.0.1", 0)
                        .tls(dir.resolve("missing.pem"), null, null, null, RestApiConfig.VerifyClient.NONE)
                        .build()))
                .hasMessageContaining("restapi.certfile")
                .hasMessageContaining("missing.pem");
    }

    @Test
    void requiredClientCertificateRefusesClientsWithoutOne() throws Exception {
        RestApiServer s = serve(tls(TestPems.SERVER_KEY, null, RestApiConfig.VerifyClient.REQUIRED)
                .build());
        assertThat(clientWithCertificate().getPatroni(s.apiUrl(), Duration.ofSeconds(5)))
                .isPresent();
        URI uri = URI.create(s.apiUrl());
        assertThatThrownBy(() -> trustingClient()
                        .send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(java.io.IOException.class);
    }

    @Test
    void optionalClientCertificateIsNeededForWrites() throws Exception {
        RestApiServer s = serve(tls(TestPems.SERVER_KEY, null, RestApiConfig.VerifyClient.OPTIONAL)
                .build());
        String base = s.apiUrl().replace("/patroni", "");
        HttpResponse<String> r = trustingClient()
                .send(
                        HttpRequest.newBuilder(URI.create(base + "/reload"))
                                .POST(HttpRequest.BodyPublishers.noBody())
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(r.body()).isEqualTo("client certificate required");
        r = trustingClient()
                .send(
                        HttpRequest.newBuilder(URI.create(base + "/patroni")).build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
    }

    @Test
    void verifyClientNeedsTlsAndACa() {
        assertThatThrownBy(() -> RestApiConfig.builder()
                        .verifyClient(RestApiConfig.VerifyClient.REQUIRED)
                        .build())
                .hasMessageContaining("restapi.certfile");
    }
}
