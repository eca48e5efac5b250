package io.pgha.examples.safety;

import static io.pgha.examples.safety.SafetySupport.PASSWORD;
import static io.pgha.testing.Fixtures.assumePostgres;
import static io.pgha.testing.Fixtures.await;
import static io.pgha.testing.Fixtures.deleteTree;
import static io.pgha.testing.Fixtures.freePort;
import static io.pgha.testing.Fixtures.traversableTempDir;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgha.api.RestApiServer;
import io.pgha.config.NodeConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.etcd.EtcdServer;
import io.pgha.ha.HaNode;
import io.pgha.postgres.local.LocalPostgresConfig;
import io.pgha.postgres.local.LocalPostgresController;
import io.pgha.rest.RestApiConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Failsafe mode on real etcd and PostgreSQL: two members (HaNode, LocalPostgresController and the
 * REST API each), then etcd frozen (SIGSTOP). With {@code failsafe_mode: true} the primary reaches its
 * replica's POST /failsafe and stays the primary past twice the ttl; without it the primary demotes
 * before its lock can expire, and the replica, without the DCS, does not promote either way.
 */
class SafetyFailsafeEtcdIT {
    private static final Duration T = Duration.ofMinutes(2);
    private static final int TTL = 10;

    private EtcdServer etcd;
    private Path base;
    private final List<HaNode> nodes = new ArrayList<>();
    private final List<RestApiServer> apis = new ArrayList<>();
    private final List<LocalPostgresController> pgs = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        if (etcd != null) {
            etcd.resume();
        }
        for (HaNode n : nodes) {
            n.close();
        }
        for (RestApiServer a : apis) {
            a.close();
        }
        for (LocalPostgresController pg : pgs) {
            pg.close();
        }
        if (etcd != null) {
            etcd.close();
        }
        deleteTree(base);
    }

    @Test
    void withFailsafeModeAFrozenDcsLeavesThePrimaryRunning() throws Exception {
        LocalPostgresController[] pg = cluster(true);
        await("the failsafe key", T, () -> {
            ClusterState c = nodes.get(0).state().cluster();
            return c != null && c.failsafe() != null && c.failsafe().size() == 2;
        });
        etcd.pause();
        Instant until = Instant.now().plusSeconds(TTL * 2L + 5);
        while (Instant.now().isBefore(until)) {
            assertThat(pg[0].status().isPrimary())
                    .as("the primary runs on through the DCS outage")
                    .isTrue();
            assertThat(pg[1].status().isPrimary())
                    .as("the replica does not promote")
                    .isFalse();
            Thread.sleep(500);
        }
        assertThat(nodes.get(0).state().failsafeActive()).isTrue();
        etcd.resume();
        await("a leads again with the DCS back", T, () -> {
            ClusterState c = nodes.get(0).dcs().read();
            return c.isLeader("a") && pg[0].status().isPrimary();
        });
        assertThat(pg[1].status().isPrimary()).isFalse();
    }

    @Test
    void withoutFailsafeModeAFrozenDcsDemotesThePrimaryBeforeItsLockCanExpire() throws Exception {
        LocalPostgresController[] pg = cluster(false);
        Instant frozen = Instant.now();
        etcd.pause();
        await("the primary to demote", T, () -> !pg[0].status().isPrimary());
        // the lock was last renewed before the freeze: it can expire at frozen + ttl at the latest
        assertThat(Duration.between(frozen, Instant.now())).isLessThan(Duration.ofSeconds(TTL));
        assertThat(pg[1].status().isPrimary()).isFalse();
    }

    /** Starts etcd and members a (the leader) and b (a streaming replica). */
    private LocalPostgresController[] cluster(boolean failsafe) throws Exception {
        assumeTrue(EtcdServer.isInstalled(), EtcdServer.MISSING);
        assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "bash is missing");
        assumePostgres();
        etcd = EtcdServer.start();
        base = traversableTempDir("pgha-safety-it-");
        LocalPostgresController a = member("a", failsafe);
        await(
                "a to lead",
                T,
                () -> a.status().isPrimary() && nodes.get(0).dcs().read().isLeader("a"));
        LocalPostgresController b = member("b", failsafe);
        await("b to stream", T, () -> b.status().isReplica() && b.status().isStreaming());
        return new LocalPostgresController[] {a, b};
    }

    private LocalPostgresController member(String name, boolean failsafe) throws Exception {
        LocalPostgresConfig cfg = LocalPostgresConfig.builder()
                .name(name)
                .dataDir(base.resolve(name))
                .listen("127.0.0.1:" + freePort())
                .superuser("postgres", PASSWORD)
                .replication("replicator", "repl-secret")
                .parameter("shared_buffers", "16MB")
                .parameter("max_connections", "20")
                .parameter("fsync", "off")
                .build();
        LocalPostgresController pg = new LocalPostgresController(cfg);
        pgs.add(pg);
        int apiPort = freePort();
        Map<String, Object> dynamic = new LinkedHashMap<>();
        dynamic.put("ttl", TTL);
        dynamic.put("loop_wait", 1);
        dynamic.put("retry_timeout", 3);
        dynamic.put("failsafe_mode", failsafe);
        NodeConfig nc = NodeConfig.builder("safety-it", name)
                .connUrl(cfg.connUrl())
                .apiUrl("http://127.0.0.1:" + apiPort + "/patroni")
                .bootstrapDcs(dynamic)
                .build();
        HaNode node = HaNode.builder()
                .config(nc)
                .dcs("etcd3", Map.of("hosts", etcd.hostPort()))
                .postgres(pg)
                .build();
        nodes.add(node);
        apis.add(RestApiServer.start(
                RestApiConfig.builder().listen("127.0.0.1", apiPort).build(), node));
        node.start();
        return pg;
    }
}
