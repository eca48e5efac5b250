package io.pgha.dcs.consul;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsProvider;
import io.pgha.dcs.DcsSettings;
import java.io.File;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code scheme: https} with {@code cacert}, {@code cert}/{@code key} and {@code verify: false},
 * end to end against the double over TLS (keys made with the JDK's keytool), through both the
 * client library and the raw calls (session create, delete with cas).
 */
class ConsulTlsTest {
    private static final char[] PW = "changeit".toCharArray();

    @TempDir
    static Path dir;

    private static Path serverStore;
    private static Path clientStore;
    private static Path caPem;
    private static Path clientCertPem;
    private static Path clientKeyPem;

    private ConsulDouble consul;
    private final List<Dcs> opened = new ArrayList<>();

    @BeforeAll
    static void makeKeys() throws Exception {
        serverStore = dir.resolve("server.p12");
        clientStore = dir.resolve("client.p12");
        keytool(
                "-genkeypair",
                "-alias",
                "server",
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                "CN=127.0.0.1",
                "-ext",
                "SAN=ip:127.0.0.1,dns:localhost",
                "-validity",
                "2",
                "-keystore",
                serverStore.toString(),
                "-storetype",
                "PKCS12",
                "-storepass",
                "changeit");
        keytool(
                "-genkeypair",
                "-alias",
                "client",
                "-keyalg",
                "RSA",
                "-keysize",
                "2048",
                "-dname",
                "CN=pgha",
                "-validity",
                "2",
                "-keystore",
                clientStore.toString(),
                "-storetype",
                "PKCS12",
                "-storepass",
                "changeit");
        caPem = dir.resolve("ca.pem");
        Files.writeString(
                caPem,
                pem("CERTIFICATE", load(serverStore).getCertificate("server").getEncoded()));
        clientCertPem = dir.resolve("client.pem");
        Files.writeString(
                clientCertPem,
                pem("CERTIFICATE", load(clientStore).getCertificate("client").getEncoded()));
        KeyStore ks = load(clientStore);
        PrivateKey key = (PrivateKey) ks.getKey("client", PW);
        clientKeyPem = dir.resolve("client.key");
        Files.writeString(clientKeyPem, pem("PRIVATE KEY", key.getEncoded()), StandardCharsets.US_ASCII);
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                        .encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private static void keytool(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("keytool.log").toFile())
                .start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("keytool finished").isTrue();
        assertThat(p.exitValue())
                .as("keytool " + args[0] + ": " + Files.readString(dir.resolve("keytool.log")))
                .isZero();
    }

    private static KeyStore load(Path p) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(p)) {
            ks.load(in, PW);
        }
        return ks;
    }

    /** The server's context: its own key; trusts the client's certificate. */
    private static SSLContext serverContext() throws Exception {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(load(serverStore), PW);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("client", load(clientStore).getCertificate("client"));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }

    @AfterEach
    void stop() {
        opened.forEach(Dcs::close);
        if (consul != null) {
            consul.close();
        }
    }

    private Dcs connect(String name, Map<String, Object> tlsOptions) throws DcsException {
        Map<String, Object> o = new HashMap<>(tlsOptions);
        o.put("url", "https://127.0.0.1:" + consul.port());
        Dcs dcs = DcsProvider.find("consul")
                .create(new DcsSettings(null, "tls", name, Duration.ofSeconds(4), Duration.ofSeconds(3), o));
        opened.add(dcs);
        return dcs;
    }

    private static void exercise(Dcs dcs) throws DcsException {
        dcs.touchMember(Map.of("state", "running")); // raw session create, then the library's acquire
        assertThat(dcs.acquireLeader()).isTrue();
        assertThat(dcs.renewLeader()).isTrue();
        assertThat(dcs.releaseLeader()).isTrue(); // raw DELETE ?cas
        assertThat(dcs.read().member(dcs.memberName())).isPresent();
    }

    @Test
    void cacertVerifiesTheAgent() throws Exception {
        consul = ConsulDouble.createHttps(serverContext(), false).sessionTtlMin(Duration.ofSeconds(1));
        exercise(connect("a", Map.of("cacert", caPem.toString())));
        // without the CA, the JDK's default trust store does not know the agent's certificate
        Dcs untrusted = connect("b", Map.of());
        assertThatThrownBy(untrusted::read).isInstanceOf(DcsException.class).hasMessageContaining("https://127.0.0.1:");
        assertThatThrownBy(() -> untrusted.touchMember(Map.of())).isInstanceOf(DcsException.class);
    }

    @Test
    void verifyFalseTrustsAnyAgent() throws Exception {
        consul = ConsulDouble.createHttps(serverContext(), false).sessionTtlMin(Duration.ofSeconds(1));
        exercise(connect("a", Map.of("verify", false)));
    }

    @Test
    void aClientCertificateIsPresented() throws Exception {
        consul = ConsulDouble.createHttps(serverContext(), true).sessionTtlMin(Duration.ofSeconds(1));
        exercise(connect(
                "a",
                Map.of("cacert", caPem.toString(), "cert", clientCertPem.toString(), "key", clientKeyPem.toString())));
        Dcs anonymous = connect("b", Map.of("cacert", caPem.toString()));
        assertThatThrownBy(anonymous::read).isInstanceOf(DcsException.class);
    }

    @Test
    void aKeyThatIsNotPkcs8IsExplained() throws Exception {
        Path pkcs1 = dir.resolve("rsa.key");
        Files.writeString(pkcs1, "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n");
        consul = ConsulDouble.create();
        assertThatThrownBy(() -> connect("a", Map.of("cert", clientCertPem.toString(), "key", pkcs1.toString())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("consul.key")
                .hasMessageContaining("openssl pkcs8");
        assertThat(new File(pkcs1.toString())).exists();
    }
}
