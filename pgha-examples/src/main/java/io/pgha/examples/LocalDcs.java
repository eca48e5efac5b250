package io.pgha.examples;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.apache.zookeeper.server.ServerCnxnFactory;
import org.apache.zookeeper.server.ZooKeeperServer;

/**
 * A DCS that needs no install, for the demo, the benchmark and the end-to-end tests: the
 * machine's etcd binary run as a child process on free loopback ports, or an in-process
 * ZooKeeper server (ZooKeeper's own server classes, standalone). Closing stops it; its data stays in its
 * directory.
 */
abstract class LocalDcs implements Closeable {

    static final Path ETCD = Path.of("/usr/bin/etcd");

    /** The backend type, as the YAML section is named. */
    abstract String type();

    /** The YAML section, for example {@code etcd3:\n  hosts: 127.0.0.1:2379\n}. */
    abstract String yamlSection();

    /** One line for humans. */
    abstract String describe();

    /** Client endpoint (host:port). */
    abstract String endpoint();

    /** etcd when installed (or asked for), else the embedded ZooKeeper server. */
    static LocalDcs start(String wanted, Path dir, Ports ports) throws IOException {
        boolean etcd = "etcd3".equals(wanted) || (wanted == null && Files.isExecutable(ETCD));
        if (etcd) {
            if (!Files.isExecutable(ETCD)) {
                throw new IOException("etcd is not installed at " + ETCD + " (apt-get install etcd-server)");
            }
            return Etcd.start(dir.resolve("etcd"), ports);
        }
        if (wanted != null && !"zookeeper".equals(wanted)) {
            throw new IllegalArgumentException("unknown DCS '" + wanted + "': etcd3 or zookeeper");
        }
        return ZooKeeper.start(dir.resolve("zookeeper"), ports);
    }

    /** etcd as a child process, stopped by PID. */
    static final class Etcd extends LocalDcs {
        private final Process process;
        private final int clientPort;

        private Etcd(Process process, int clientPort) {
            this.process = process;
            this.clientPort = clientPort;
        }

        static Etcd start(Path dataDir, Ports ports) throws IOException {
            Files.createDirectories(dataDir);
            int client = ports.next();
            int peer = ports.next();
            String c = "http://127.0.0.1:" + client;
            String p = "http://127.0.0.1:" + peer;
            ProcessBuilder pb = new ProcessBuilder(LocalCluster.detached(
                            ETCD.toString(),
                            "--name",
                            "pgha",
                            "--data-dir",
                            dataDir.resolve("data").toString(),
                            "--listen-client-urls",
                            c,
                            "--advertise-client-urls",
                            c,
                            "--listen-peer-urls",
                            p,
                            "--initial-advertise-peer-urls",
                            p,
                            "--initial-cluster",
                            "pgha=" + p,
                            "--initial-cluster-state",
                            "new",
                            "--initial-cluster-token",
                            "pgha-" + client))
                    .redirectErrorStream(true)
                    .redirectOutput(dataDir.resolve("etcd.log").toFile());
            Process process = pb.start();
            Etcd etcd = new Etcd(process, client);
            try {
                etcd.awaitHealthy(Duration.ofSeconds(30));
            } catch (IOException e) {
                etcd.close();
                throw e;
            }
            return etcd;
        }

        private void awaitHealthy(Duration timeout) throws IOException {
            HttpClient http = HttpClient.newBuilder()
                    .connectTimeout(Duration.ofSeconds(1))
                    .build();
            Instant deadline = Instant.now().plus(timeout);
            while (Instant.now().isBefore(deadline)) {
                if (!process.isAlive()) {
                    throw new IOException("etcd exited with status " + process.exitValue());
                }
                try {
                    HttpResponse<String> r = http.send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + clientPort + "/health"))
                                    .timeout(Duration.ofSeconds(2))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() == 200 && r.body().contains("true")) {
                        return;
                    }
                } catch (IOException e) {
                    // not listening yet
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted waiting for etcd", e);
                }
                LocalCluster.sleep(200);
            }
            throw new IOException("etcd did not become healthy within " + timeout);
        }

        long pid() {
            return process.pid();
        }

        @Override
        String type() {
            return "etcd3";
        }

        @Override
        String yamlSection() {
            return "etcd3:\n  hosts: 127.0.0.1:" + clientPort + "\n";
        }

        @Override
        String describe() {
            return "etcd " + ETCD + " on 127.0.0.1:" + clientPort + " (pid " + process.pid() + ")";
        }

        @Override
        String endpoint() {
            return "127.0.0.1:" + clientPort;
        }

        @Override
        public void close() {
            Processes.term(process.pid());
            if (!Processes.awaitExit(process.pid(), Duration.ofSeconds(10))) {
                Processes.kill9(process.pid());
                Processes.awaitExit(process.pid(), Duration.ofSeconds(5));
            }
        }
    }

    /**
     * An in-process standalone ZooKeeper server on a loopback port, from ZooKeeper's own server
     * classes (the jar the ZooKeeper client already brings): no test library in the runner. Its
     * snapshots and transaction log stay in the directory.
     */
    static final class ZooKeeper extends LocalDcs {
        /** ZooKeeper's default tick: session timeouts are 2 to 20 ticks. */
        private static final int TICK_MILLIS = 2000;

        private static final int MAX_CLIENT_CONNECTIONS = 200;

        private final ZooKeeperServer server;
        private final ServerCnxnFactory connections;

        private ZooKeeper(ZooKeeperServer server, ServerCnxnFactory connections) {
            this.server = server;
            this.connections = connections;
        }

        static ZooKeeper start(Path dir, Ports ports) throws IOException {
            Files.createDirectories(dir);
            // no four-letter-word or admin HTTP server for a demo's DCS
            System.setProperty("zookeeper.admin.enableServer", "false");
            ZooKeeperServer server = new ZooKeeperServer(
                    dir.resolve("data").toFile(), dir.resolve("log").toFile(), TICK_MILLIS);
            ServerCnxnFactory connections = ServerCnxnFactory.createFactory(
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), ports.next()), MAX_CLIENT_CONNECTIONS);
            try {
                connections.startup(server);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                connections.shutdown();
                throw new IOException("interrupted starting the embedded ZooKeeper server", e);
            } catch (IOException | RuntimeException e) {
                connections.shutdown();
                throw new IOException("cannot start the embedded ZooKeeper server: " + e.getMessage(), e);
            }
            return new ZooKeeper(server, connections);
        }

        private int port() {
            return connections.getLocalPort();
        }

        @Override
        String type() {
            return "zookeeper";
        }

        @Override
        String yamlSection() {
            return "zookeeper:\n  hosts:\n    - 127.0.0.1:" + port() + "\n";
        }

        @Override
        String describe() {
            return "embedded ZooKeeper on 127.0.0.1:" + port();
        }

        @Override
        String endpoint() {
            return "127.0.0.1:" + port();
        }

        @Override
        public void close() {
            connections.shutdown();
            server.shutdown();
        }
    }
}
