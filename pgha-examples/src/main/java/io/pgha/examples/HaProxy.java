package io.pgha.examples;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * HAProxy in front of a {@link LocalCluster}, configured as Patroni's documentation shows: a
 * read-write port whose servers are checked with {@code OPTIONS /primary} and a read-only port
 * checked with {@code OPTIONS /replica}, both against each member's REST API, with
 * {@code inter 1s fall 2 rise 1 on-marked-down shutdown-sessions}. Runs {@code haproxy -db} as a
 * child process, stopped by PID.
 */
final class HaProxy implements Closeable {
    static final Path BINARY = Path.of("/usr/sbin/haproxy");

    private final Process process;
    final int readWritePort;
    final int readOnlyPort;
    final Path config;

    private HaProxy(Process process, int rw, int ro, Path config) {
        this.process = process;
        this.readWritePort = rw;
        this.readOnlyPort = ro;
        this.config = config;
    }

    static boolean installed() {
        return Files.isExecutable(BINARY);
    }

    static HaProxy start(LocalCluster cluster, Path dir, Ports ports) throws IOException {
        int rw = ports.next();
        int ro = ports.next();
        Files.createDirectories(dir);
        Path cfg = dir.resolve("haproxy.cfg");
        StringBuilder sb = new StringBuilder();
        sb.append("global\n    maxconn 200\n\n")
                .append("defaults\n    mode tcp\n    retries 2\n    timeout connect 2s\n    timeout client 30m\n")
                .append("    timeout server 30m\n    timeout check 2s\n\n");
        for (String[] section : new String[][] {
            {"primary", String.valueOf(rw), "/primary"}, {"replicas", String.valueOf(ro), "/replica"}
        }) {
            sb.append("listen ")
                    .append(section[0])
                    .append('\n')
                    .append("    bind 127.0.0.1:")
                    .append(section[1])
                    .append('\n')
                    .append("    option httpchk OPTIONS ")
                    .append(section[2])
                    .append('\n')
                    .append("    http-check expect status 200\n")
                    .append("    default-server inter 1s fall 2 rise 1 on-marked-down shutdown-sessions\n");
            for (LocalCluster.Member m : cluster.members()) {
                sb.append("    server ")
                        .append(m.name)
                        .append(" 127.0.0.1:")
                        .append(m.pgPort)
                        .append(" maxconn 100 check port ")
                        .append(m.apiPort)
                        .append('\n');
            }
            sb.append('\n');
        }
        Files.writeString(cfg, sb.toString());
        return run(cfg, dir, rw, ro);
    }

    /**
     * Runs HAProxy on a configuration file written elsewhere (the compose stack's, with this
     * machine's addresses) whose read-write and read-only frontends listen on {@code rw} and
     * {@code ro}; returns once the read-write port accepts connections. Its log goes to
     * {@code dir/haproxy.log}.
     */
    static HaProxy run(Path cfg, Path dir, int rw, int ro) throws IOException {
        Files.createDirectories(dir);
        Process p = new ProcessBuilder(LocalCluster.detached(BINARY.toString(), "-db", "-f", cfg.toString()))
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("haproxy.log").toFile())
                .start();
        HaProxy h = new HaProxy(p, rw, ro, cfg);
        Instant deadline = Instant.now().plusSeconds(20);
        while (Instant.now().isBefore(deadline)) {
            if (!p.isAlive()) {
                throw new IOException(
                        "haproxy exited with status " + p.exitValue() + "; see " + dir.resolve("haproxy.log"));
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), rw), 500);
                return h;
            } catch (IOException e) {
                LocalCluster.sleep(100);
            }
        }
        h.close();
        throw new IOException("haproxy did not listen on 127.0.0.1:" + rw + " within 20 s");
    }

    String readWriteJdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + readWritePort + "/postgres";
    }

    String readOnlyJdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + readOnlyPort + "/postgres";
    }

    long pid() {
        return process.pid();
    }

    @Override
    public void close() {
        Processes.term(process.pid());
        if (!Processes.awaitExit(process.pid(), Duration.ofSeconds(10))) {
            Processes.kill9(process.pid());
        }
    }
}
