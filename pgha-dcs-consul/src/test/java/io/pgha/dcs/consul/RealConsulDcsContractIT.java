package io.pgha.dcs.consul;

import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsContract;
import io.pgha.dcs.DcsProvider;
import io.pgha.dcs.DcsSettings;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * The DCS contract against a real Consul: a {@code consul} binary on the PATH (or named by the
 * system property {@code pgha.consul.bin}) started as {@code consul agent -dev} on free loopback
 * ports in a temporary directory, with {@code session_ttl_min = "1s"} so that the suite's 4 s ttl
 * is allowed, and stopped by its PID. Skipped, saying so, when there is no binary (Debian ships no
 * Consul and these machines have no Docker engine).
 *
 * <p>A {@code -dev} agent keeps its data in memory: {@link #stopStore()} and {@link #startStore()}
 * restart it empty on the same ports, which is a harsher outage than the contract needs (every
 * session and key is lost) and still must be survived.
 */
class RealConsulDcsContractIT extends DcsContract {
    static final String SKIP =
            "no consul binary on PATH and no Docker engine: the Consul contract ran only against the HTTP double";

    private static String binary;
    private static Path dir;
    private static int httpPort;
    private static int serfLanPort;
    private static int serverPort;
    private static Process agent;

    @BeforeAll
    static void startConsul() throws Exception {
        Optional<String> bin = findBinary();
        if (bin.isEmpty()) {
            return; // each test is skipped with the reason (see requireConsul)
        }
        binary = bin.get();
        dir = Files.createTempDirectory("pgha-consul-it");
        httpPort = freePort();
        serfLanPort = freePort();
        serverPort = freePort();
        start();
    }

    /** Per test rather than per class, so that the report shows every skipped test and the reason. */
    @BeforeEach
    void requireConsul() {
        Assumptions.assumeTrue(binary != null, SKIP);
    }

    @AfterAll
    static void stopConsul() throws Exception {
        stop();
        if (dir != null) {
            try (Stream<Path> walk = Files.walk(dir)) {
                walk.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
            }
        }
    }

    private static Optional<String> findBinary() {
        String explicit = System.getProperty("pgha.consul.bin");
        if (explicit != null && Files.isExecutable(Path.of(explicit))) {
            return Optional.of(explicit);
        }
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String d : path.split(File.pathSeparator, -1)) {
            Path p = Path.of(d, "consul");
            if (Files.isExecutable(p)) {
                return Optional.of(p.toString());
            }
        }
        return Optional.empty();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void start() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(
                binary,
                "agent",
                "-dev",
                "-bind",
                "127.0.0.1",
                "-client",
                "127.0.0.1",
                "-data-dir",
                dir.resolve("data").toString(),
                "-hcl",
                "session_ttl_min = \"1s\"",
                "-hcl",
                "ports { http = " + httpPort + ", dns = -1, grpc = -1, grpc_tls = -1, serf_lan = " + serfLanPort
                        + ", serf_wan = -1, server = " + serverPort + " }"));
        agent = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(
                        dir.resolve("consul.log").toFile()))
                .start();
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!agent.isAlive()) {
                throw new IllegalStateException(
                        "consul exited with " + agent.exitValue() + "; see " + dir.resolve("consul.log"));
            }
            try {
                HttpResponse<String> r = http.send(
                        HttpRequest.newBuilder(URI.create(baseUrl() + "/v1/status/leader"))
                                .timeout(Duration.ofSeconds(2))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200 && r.body().contains(":")) {
                    return;
                }
            } catch (IOException notYet) {
                // starting
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("consul did not elect a leader within 60 s; see " + dir.resolve("consul.log"));
    }

    private static void stop() throws InterruptedException {
        if (agent != null && agent.isAlive()) {
            agent.destroy();
            if (!agent.waitFor(15, TimeUnit.SECONDS)) {
                agent.destroyForcibly();
                agent.waitFor(15, TimeUnit.SECONDS);
            }
        }
    }

    private static String baseUrl() {
        return "http://127.0.0.1:" + httpPort;
    }

    @Override
    protected Dcs connect(String scope, String member, Duration ttl) throws Exception {
        return DcsProvider.find("consul")
                .create(new DcsSettings(
                        null, scope, member, ttl, Duration.ofSeconds(3), Map.of("host", "127.0.0.1:" + httpPort)));
    }

    @Override
    protected void putRaw(String scope, String key, String value) throws Exception {
        ConsulDcsContractTest.put(baseUrl(), "service/" + scope + "/" + key, value);
    }

    @Override
    protected void stopStore() throws Exception {
        stop();
    }

    @Override
    protected void startStore() throws Exception {
        start();
    }
}
