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
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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

    /**
     * The store's own counters now: requests received by kind ({@code requests <kind>}), and
     * {@code bytes received} / {@code bytes sent} when the store counts them. Read from the store
     * itself (etcd's {@code /metrics}, ZooKeeper's {@code mntr}), so that they count every client.
     */
    abstract Map<String, Double> counters() throws IOException;

    /** Every key under {@code prefix} with the store's version of it (etcd mod_revision, a znode's mzxid). */
    abstract Map<String, Long> versions(String prefix) throws IOException;

    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    static String http(String url, String postBody) throws IOException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
        if (postBody != null) {
            b.POST(HttpRequest.BodyPublishers.ofString(postBody)).header("Content-Type", "application/json");
        }
        try {
            HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IOException(url + " answered " + r.statusCode() + ": " + r.body());
            }
            return r.body();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

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

        private static final Pattern RECEIVED =
                Pattern.compile("(?m)^grpc_server_msg_received_total\\{([^}]*)\\} ([0-9.e+]+)$");
        private static final Pattern METHOD = Pattern.compile("grpc_method=\"([^\"]+)\"");

        /** gRPC messages received by method (Patroni's etcd3 HTTP calls go through etcd's gateway: gRPC too). */
        @Override
        Map<String, Double> counters() throws IOException {
            String text = http("http://127.0.0.1:" + clientPort + "/metrics", null);
            Map<String, Double> out = new TreeMap<>();
            Matcher m = RECEIVED.matcher(text);
            while (m.find()) {
                Matcher method = METHOD.matcher(m.group(1));
                if (method.find()) {
                    out.merge("requests " + method.group(1), Double.parseDouble(m.group(2)), Double::sum);
                }
            }
            out.put("bytes received", metric(text, "etcd_network_client_grpc_received_bytes_total"));
            out.put("bytes sent", metric(text, "etcd_network_client_grpc_sent_bytes_total"));
            return out;
        }

        private static double metric(String text, String name) {
            Matcher m = Pattern.compile("(?m)^" + name + " ([0-9.e+]+)$").matcher(text);
            return m.find() ? Double.parseDouble(m.group(1)) : 0;
        }

        /** One range request through etcd's JSON gateway (made outside the measured window). */
        @Override
        Map<String, Long> versions(String prefix) throws IOException {
            Base64.Encoder b64 = Base64.getEncoder();
            byte[] end = prefix.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            end[end.length - 1]++;
            String body = "{\"key\":\"" + b64.encodeToString(prefix.getBytes(java.nio.charset.StandardCharsets.UTF_8))
                    + "\",\"range_end\":\"" + b64.encodeToString(end) + "\",\"keys_only\":true}";
            com.fasterxml.jackson.databind.JsonNode r = new com.fasterxml.jackson.databind.ObjectMapper()
                    .readTree(http("http://127.0.0.1:" + clientPort + "/v3/kv/range", body));
            Map<String, Long> out = new TreeMap<>();
            for (com.fasterxml.jackson.databind.JsonNode kv : r.path("kvs")) {
                out.put(
                        new String(
                                Base64.getDecoder().decode(kv.path("key").asText()),
                                java.nio.charset.StandardCharsets.UTF_8),
                        kv.path("mod_revision").asLong());
            }
            return out;
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
            // no admin HTTP server for a demo's DCS; the bench reads the server's own counters with
            // the mntr four-letter word
            System.setProperty("zookeeper.admin.enableServer", "false");
            System.setProperty("zookeeper.4lw.commands.whitelist", "mntr,srvr,ruok");
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

        /** {@code mntr}: packets received and sent (ZooKeeper counts no kinds there), bytes received. */
        @Override
        Map<String, Double> counters() throws IOException {
            Map<String, Double> out = new TreeMap<>();
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port())) {
                socket.setSoTimeout(5000);
                socket.getOutputStream().write("mntr".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                String text =
                        new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                for (String line : text.split("\n")) {
                    String[] f = line.split("\t");
                    if (f.length != 2) {
                        continue;
                    }
                    switch (f[0]) {
                        case "zk_packets_received" -> out.put("requests packets", Double.parseDouble(f[1]));
                        case "zk_packets_sent" -> out.put("packets sent", Double.parseDouble(f[1]));
                        case "zk_bytes_received_count" -> out.put("bytes received", Double.parseDouble(f[1]));
                        default -> {}
                    }
                }
            }
            // the mntr connection itself: one packet in, none counted out as a request
            return out;
        }

        @Override
        Map<String, Long> versions(String prefix) throws IOException {
            String root = prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
            Map<String, Long> out = new TreeMap<>();
            try (org.apache.zookeeper.ZooKeeper zk = new org.apache.zookeeper.ZooKeeper(endpoint(), 10_000, e -> {})) {
                Instant deadline = Instant.now().plusSeconds(10);
                while (zk.getState() != org.apache.zookeeper.ZooKeeper.States.CONNECTED
                        && Instant.now().isBefore(deadline)) {
                    LocalCluster.sleep(50);
                }
                walk(zk, root, out);
            } catch (org.apache.zookeeper.KeeperException e) {
                throw new IOException("reading " + root + ": " + e.getMessage(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
            return out;
        }

        private static void walk(org.apache.zookeeper.ZooKeeper zk, String path, Map<String, Long> out)
                throws org.apache.zookeeper.KeeperException, InterruptedException {
            org.apache.zookeeper.data.Stat stat = zk.exists(path, false);
            if (stat == null) {
                return;
            }
            out.put(path, stat.getMzxid());
            for (String child : zk.getChildren(path, false)) {
                walk(zk, path + "/" + child, out);
            }
        }

        @Override
        public void close() {
            connections.shutdown();
            server.shutdown();
        }
    }
}
