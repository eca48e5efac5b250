package io.pgha.dcs.etcd;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A real single-node etcd for integration tests: Debian's {@code /usr/bin/etcd} (package
 * etcd-server, v3.4) on two free loopback ports, with a temporary data directory.
 *
 * <p>It is stopped by PID only (SIGTERM, then SIGKILL after a timeout), can be stopped and started
 * again on the same ports and data (an etcd restart), and paused with SIGSTOP / SIGCONT (a frozen
 * etcd). Self-contained on purpose: other modules may copy it.
 *
 * <pre>
 * EtcdServer.assumeInstalled();               // skips the test class when etcd is missing
 * try (EtcdServer etcd = EtcdServer.start()) {
 *     String endpoint = etcd.endpoint();      // http://127.0.0.1:port
 * }
 * </pre>
 */
public final class EtcdServer implements AutoCloseable {
    /** The binary; -Dpgha.etcd.binary overrides it. */
    public static final Path BINARY = Path.of(System.getProperty("pgha.etcd.binary", "/usr/bin/etcd"));

    public static final String MISSING = "etcd not installed (Debian package etcd-server)";

    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);

    private final Path dir;
    private final Path dataDir;
    private final Path log;
    private final int clientPort;
    private final int peerPort;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final Tls tls;
    private Process process;

    /**
     * TLS on the client URL: etcd's certificate and key (PEM), and with {@code clientCa} set, client
     * certificates signed by that CA are required.
     */
    public record Tls(Path cert, Path key, Path clientCa) {}

    private EtcdServer(Path dir, int clientPort, int peerPort, Tls tls) {
        this.tls = tls;
        this.dir = dir;
        this.dataDir = dir.resolve("data");
        this.log = dir.resolve("etcd.log");
        this.clientPort = clientPort;
        this.peerPort = peerPort;
    }

    public static boolean isInstalled() {
        return Files.isExecutable(BINARY);
    }

    /** Aborts (skips) the calling test when the binary is missing. */
    public static void assumeInstalled() {
        Assumptions.assumeTrue(isInstalled(), MISSING);
    }

    /** Starts a fresh etcd on free loopback ports and waits until it answers. */
    public static EtcdServer start() throws IOException, InterruptedException {
        return start(null);
    }

    /** Starts a fresh etcd whose client URL speaks TLS (https). */
    public static EtcdServer start(Tls tls) throws IOException, InterruptedException {
        assumeInstalled();
        Path dir = Files.createTempDirectory("pgha-etcd-");
        int[] ports = freePorts(2);
        EtcdServer server = new EtcdServer(dir, ports[0], ports[1], tls);
        try {
            server.startAgain();
        } catch (IOException | RuntimeException | InterruptedException e) {
            server.close();
            throw e;
        }
        return server;
    }

    /** Starts the process (again) on the same ports and data directory, and waits until it answers. */
    public synchronized void startAgain() throws IOException, InterruptedException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("etcd is already running, pid " + process.pid());
        }
        String name = "pgha-test";
        String client = endpoint();
        String peer = "http://127.0.0.1:" + peerPort;
        List<String> cmd = new ArrayList<>(List.of(
                BINARY.toString(),
                "--name",
                name,
                "--data-dir",
                dataDir.toString(),
                "--listen-client-urls",
                client,
                "--advertise-client-urls",
                client,
                "--listen-peer-urls",
                peer,
                "--initial-advertise-peer-urls",
                peer,
                "--initial-cluster",
                name + "=" + peer,
                "--initial-cluster-state",
                "new",
                "--initial-cluster-token",
                "pgha-test-" + clientPort));
        if (tls != null) {
            cmd.addAll(List.of(
                    "--cert-file",
                    tls.cert().toString(),
                    "--key-file",
                    tls.key().toString()));
            if (tls.clientCa() != null) {
                cmd.addAll(List.of(
                        "--client-cert-auth",
                        "--trusted-ca-file",
                        tls.clientCa().toString()));
            }
        }
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().put("ETCDCTL_API", "3");
        pb.environment().remove("ETCD_NAME");
        long logOffset = Files.exists(log) ? Files.size(log) : 0;
        process = pb.start();
        awaitHealthy(logOffset);
    }

    /** Stops the process: SIGTERM, then SIGKILL after a timeout. The data directory stays. */
    public synchronized void stop() throws InterruptedException {
        if (process == null) {
            return;
        }
        ProcessHandle h = process.toHandle();
        resume(); // a stopped process cannot handle SIGTERM
        h.destroy();
        if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
            h.destroyForcibly();
            process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        }
        process = null;
    }

    /** Freezes the process (SIGSTOP): connections stay open, nothing answers. */
    public synchronized void pause() throws IOException, InterruptedException {
        signal("STOP");
    }

    /** Thaws a paused process (SIGCONT). */
    public synchronized void resume() throws InterruptedException {
        try {
            signal("CONT");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void signal(String sig) throws IOException, InterruptedException {
        if (process == null || !process.isAlive()) {
            return;
        }
        Process kill = new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid()))
                .inheritIO()
                .start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new IOException("kill -" + sig + " " + process.pid() + " failed");
        }
    }

    public long pid() {
        return process == null ? -1 : process.pid();
    }

    public int clientPort() {
        return clientPort;
    }

    /** {@code 127.0.0.1:port}, as Patroni's {@code etcd3.host} takes it. */
    public String hostPort() {
        return "127.0.0.1:" + clientPort;
    }

    /** {@code http://127.0.0.1:port} ({@code https} with TLS). */
    public String endpoint() {
        return (tls == null ? "http://" : "https://") + hostPort();
    }

    /** The last lines of etcd's output, for failure messages. */
    public String logTail() {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** Stops etcd and deletes its directory. */
    @Override
    public void close() throws InterruptedException {
        try {
            stop();
        } finally {
            deleteTree(dir);
        }
    }

    private void awaitHealthy(long logOffset) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            if (!process.isAlive()) {
                throw new IOException("etcd exited with " + process.exitValue() + ":\n" + logTail());
            }
            if (tls == null ? healthy() : logSince(logOffset).contains("ready to serve client requests")) {
                // with TLS there may be no client certificate here to ask /health with: etcd's log says it serves
                return;
            }
            if (System.nanoTime() > deadline) {
                stop();
                throw new IOException("etcd did not become healthy within " + START_TIMEOUT + ":\n" + logTail());
            }
            Thread.sleep(100);
        }
    }

    private boolean healthy() throws InterruptedException {
        HttpRequest req = HttpRequest.newBuilder(URI.create(endpoint() + "/health"))
                .timeout(Duration.ofSeconds(2))
                .GET()
                .build();
        try {
            HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 && r.body().contains("\"true\"");
        } catch (IOException e) {
            return false; // not listening yet
        }
    }

    private String logSince(long offset) throws IOException {
        byte[] all = Files.exists(log) ? Files.readAllBytes(log) : new byte[0];
        return offset >= all.length
                ? ""
                : new String(all, (int) offset, all.length - (int) offset, StandardCharsets.UTF_8);
    }

    private static int[] freePorts(int n) throws IOException {
        int[] ports = new int[n];
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                sockets.add(s);
                ports[i] = s.getLocalPort();
            }
        } finally {
            for (ServerSocket s : sockets) {
                s.close();
            }
        }
        return ports;
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: a temp directory
        }
    }
}
