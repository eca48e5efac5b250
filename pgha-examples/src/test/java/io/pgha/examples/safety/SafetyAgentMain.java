package io.pgha.examples.safety;

import io.pgha.api.RestApiServer;
import io.pgha.config.NodeConfig;
import io.pgha.ha.HaNode;
import io.pgha.postgres.fence.ShellFence;
import io.pgha.postgres.local.LocalPostgresConfig;
import io.pgha.postgres.local.LocalPostgresController;
import io.pgha.rest.RestApiConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One pgha agent in a JVM of its own, for {@link SafetyAgentKillIT}: HaNode on etcd with
 * LocalPostgresController, the REST API and the out-of-process fence. Arguments: name, data
 * directory, PostgreSQL port, REST API port, the DCS's host:port, synchronous mode (true/false),
 * optionally the DCS type ({@code etcd3}, the default, or {@code zookeeper}) and the timings as
 * {@code ttl/loop_wait/retry_timeout} (10/1/3 when absent). Prints
 * "started" once the node runs; the test kills (-9) or freezes (SIGSTOP) it.
 */
public final class SafetyAgentMain {
    private SafetyAgentMain() {}

    public static void main(String[] args) throws Exception {
        String name = args[0];
        Path dataDir = Path.of(args[1]);
        int pgPort = Integer.parseInt(args[2]);
        int apiPort = Integer.parseInt(args[3]);
        String etcd = args[4];
        boolean sync = Boolean.parseBoolean(args[5]);
        String dcsType = args.length > 6 ? args[6] : "etcd3";
        String[] timings = (args.length > 7 ? args[7] : "10/1/3").split("/", -1);
        LocalPostgresConfig cfg = LocalPostgresConfig.builder()
                .name(name)
                .dataDir(dataDir)
                .listen("127.0.0.1:" + pgPort)
                .superuser("postgres", SafetySupport.PASSWORD)
                .replication("replicator", "repl-secret")
                .parameter("shared_buffers", "16MB")
                .parameter("max_connections", "30")
                .parameter("fsync", "off")
                .build();
        LocalPostgresController pg = new LocalPostgresController(cfg);
        Map<String, Object> dynamic = new LinkedHashMap<>();
        dynamic.put("ttl", Integer.parseInt(timings[0]));
        dynamic.put("loop_wait", Integer.parseInt(timings[1]));
        dynamic.put("retry_timeout", Integer.parseInt(timings[2]));
        dynamic.put("synchronous_mode", sync);
        dynamic.put("maximum_lag_on_failover", 1L << 40);
        NodeConfig nc = NodeConfig.builder("safety-kill", name)
                .connUrl(cfg.connUrl())
                .apiUrl("http://127.0.0.1:" + apiPort + "/patroni")
                .bootstrapDcs(dynamic)
                .build();
        HaNode node = HaNode.builder()
                .config(nc)
                .dcs(dcsType, Map.of("hosts", etcd))
                .postgres(pg)
                .fence(new ShellFence(dataDir, dataDir.resolveSibling(name + "-fence")))
                .stateDirectory(dataDir.resolveSibling(name + "-fence"))
                .build();
        RestApiServer api = RestApiServer.start(
                RestApiConfig.builder().listen("127.0.0.1", apiPort).build(), node);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            node.close();
            api.close();
        }));
        node.start();
        System.out.println("started");
        System.out.flush();
        Thread.currentThread().join();
    }
}
