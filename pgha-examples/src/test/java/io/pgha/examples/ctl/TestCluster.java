package io.pgha.examples.ctl;

import io.pgha.api.RestApiServer;
import io.pgha.config.NodeConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.InMemoryDcs;
import io.pgha.dcs.InMemoryDcsProvider;
import io.pgha.ha.HaNode;
import io.pgha.ha.SimulatedPostgres;
import io.pgha.rest.RestApiConfig;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;

/**
 * Real {@link HaNode}s looping in real time over a named {@code memory} DCS store, each with a
 * {@link SimulatedPostgres} and a real {@link RestApiServer} on a free loopback port: what
 * {@code pgha ctl} sees of a running cluster. Short timings (ttl 10, loop_wait 1).
 */
final class TestCluster implements AutoCloseable {
    static final Duration TIMEOUT = Duration.ofSeconds(60);
    final String scope = "demo";
    final String store = "ctl-test-" + UUID.randomUUID();
    final SimulatedPostgres.Network net = new SimulatedPostgres.Network();
    private final Map<String, HaNode> nodes = new LinkedHashMap<>();
    private final Map<String, RestApiServer> apis = new LinkedHashMap<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final Dcs observer;
    private final String username;
    private final String password;

    TestCluster(String username, String password) {
        this.username = username;
        this.password = password;
        this.observer = storeHandle().connect("/service/", scope, "test-observer", Duration.ofDays(1));
    }

    InMemoryDcs.Store storeHandle() {
        return InMemoryDcsProvider.store(store);
    }

    /** Starts pg0 first (it bootstraps), then the others, and waits until all stream from the leader. */
    static TestCluster start(String... names) throws IOException {
        return startWithAuth(null, null, names);
    }

    static TestCluster startWithAuth(String username, String password, String... names) throws IOException {
        TestCluster c = new TestCluster(username, password);
        try {
            c.startNode(names[0]);
            c.await("a leader", () -> names[0].equals(c.leader()));
            for (int i = 1; i < names.length; i++) {
                c.startNode(names[i]);
            }
            c.await("every member running", () -> {
                ClusterState s = c.cluster();
                return s.members().size() == names.length
                        && s.members().stream().allMatch(m -> m.isRunning() && m.timeline() > 0);
            });
        } catch (RuntimeException | IOException e) {
            c.close();
            throw e;
        }
        return c;
    }

    void startNode(String name) throws IOException {
        int port = freePort();
        NodeConfig cfg = NodeConfig.builder(scope, name)
                .apiUrl("http://127.0.0.1:" + port + "/patroni")
                .connUrl("postgres://127.0.0.1:" + (5432 + nodes.size()) + "/postgres")
                .bootstrapDcs(Map.of("ttl", 10, "loop_wait", 1, "retry_timeout", 3))
                .build();
        Dcs dcs = new QuietDcs(storeHandle().connect("/service/", scope, name, Duration.ofSeconds(10)));
        HaNode node =
                HaNode.builder().config(cfg).dcs(dcs).postgres(net.node(name)).build();
        RestApiConfig.Builder api = RestApiConfig.builder().listen("127.0.0.1", port);
        if (username != null) {
            api.authentication(username, password);
        }
        RestApiServer server = RestApiServer.start(api.build(), node);
        closeables.add(0, node);
        closeables.add(0, server);
        nodes.put(name, node);
        apis.put(name, server);
        node.start();
    }

    /** Stops a member's REST API only: its agent keeps running (the API is "unreachable"). */
    void stopApi(String name) {
        apis.get(name).close();
    }

    ClusterState cluster() {
        try {
            return observer.read();
        } catch (DcsException e) {
            throw new IllegalStateException(e);
        }
    }

    Dcs observer() {
        return observer;
    }

    String leader() {
        ClusterState s = cluster();
        return s.hasLeader() ? s.leader().name() : null;
    }

    /** A ctl config file's text pointing at this cluster's store. */
    String ctlYaml() {
        return "scope: " + scope + "\nnamespace: /service/\nmemory:\n  store: " + store + "\n";
    }

    void await(String what, BooleanSupplier condition) {
        Instant deadline = Instant.now().plus(TIMEOUT);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("timed out after " + TIMEOUT.toSeconds() + " s waiting for " + what
                        + "; cluster: " + cluster());
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what);
            }
        }
    }

    @Override
    public void close() {
        stopNodes();
        observer.close();
    }

    /** Stops every agent and REST API; the store and the observer stay. */
    void stopNodes() {
        for (AutoCloseable c : closeables) {
            try {
                c.close();
            } catch (Exception e) {
                // keep closing the others
            }
        }
        closeables.clear();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
