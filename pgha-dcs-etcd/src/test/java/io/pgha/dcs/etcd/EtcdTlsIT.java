package io.pgha.dcs.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code protocol: https} with {@code cacert}, {@code cert} and {@code key}, against an etcd that requires client certificates. */
class EtcdTlsIT {
    private static Path certs;
    private static EtcdServer etcd;

    @BeforeAll
    static void startEtcd() throws Exception {
        EtcdServer.assumeInstalled();
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")), "openssl not installed");
        certs = Files.createTempDirectory("pgha-etcd-tls-");
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
                "2",
                "-subj",
                "/CN=pgha-test-ca");
        issue("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
        issue("client", "extendedKeyUsage=clientAuth\n");
        etcd = EtcdServer.start(
                new EtcdServer.Tls(certs.resolve("server.pem"), certs.resolve("server.key"), certs.resolve("ca.pem")));
    }

    @AfterAll
    static void stopEtcd() throws Exception {
        if (etcd != null) {
            etcd.close();
        }
        if (certs != null) {
            try (var files = Files.list(certs)) {
                for (Path p : files.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(certs);
        }
    }

    @Test
    void connectsWithTheCaAndAClientCertificate() throws Exception {
        Map<String, Object> options = new LinkedHashMap<>();
        options.put("hosts", List.of(etcd.hostPort()));
        options.put("protocol", "https");
        options.put("cacert", certs.resolve("ca.pem").toString());
        options.put("cert", certs.resolve("client.pem").toString());
        options.put("key", certs.resolve("client.key").toString());
        try (Dcs a = connect(options)) {
            a.touchMember(Map.of("state", "running"));
            assertThat(a.acquireLeader()).isTrue();
            assertThat(a.read().isLeader("a")).isTrue();
        }
    }

    @Test
    void withoutAClientCertificateEtcdRefusesAndTheErrorNamesTheEndpoint() throws Exception {
        Map<String, Object> options = new LinkedHashMap<>();
        options.put("url", etcd.endpoint());
        options.put("cacert", certs.resolve("ca.pem").toString());
        try (Dcs a = connect(options)) {
            assertThatThrownBy(a::read).isInstanceOf(DcsException.class).hasMessageContaining(etcd.endpoint());
        }
    }

    private static Dcs connect(Map<String, Object> options) throws DcsException {
        return new EtcdDcsProvider()
                .create(new DcsSettings(
                        "/service/", "tls", "a", Duration.ofSeconds(10), Duration.ofSeconds(10), options));
    }

    private static void issue(String name, String extensions) throws Exception {
        openssl(
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                name + ".key",
                "-out",
                name + ".csr",
                "-subj",
                "/CN=" + name);
        Files.writeString(certs.resolve(name + ".ext"), extensions);
        openssl(
                "x509",
                "-req",
                "-in",
                name + ".csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                name + ".pem",
                "-days",
                "2",
                "-extfile",
                name + ".ext");
    }

    private static void openssl(String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of("/usr/bin/openssl"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd)
                .directory(certs.toFile())
                .redirectErrorStream(true)
                .redirectOutput(certs.resolve("openssl.log").toFile())
                .start();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException(
                    "openssl " + String.join(" ", args) + " failed: " + Files.readString(certs.resolve("openssl.log")));
        }
    }
}
