package io.pgha.examples.supervisor;

import io.pgha.config.NodeConfig;
import io.pgha.ha.HaListener;
import io.pgha.ha.HaNode;
import io.pgha.postgres.PostgresException;
import io.pgha.postgres.local.LocalPostgresConfig;
import io.pgha.postgres.local.LocalPostgresController;
import java.nio.file.Path;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A custom supervisor in a few lines: one pgha node whose PostgreSQL actions go through a
 * {@link RecordingPostgresController}, on the in-process {@code memory} DCS (swap in
 * {@code dcs("etcd3", Map.of("hosts", "10.0.0.1:2379"))} for a real cluster).
 */
public final class Supervisor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Supervisor.class);

    private final RecordingPostgresController postgres;
    private final HaNode node;

    private Supervisor(RecordingPostgresController postgres, HaNode node) {
        this.postgres = postgres;
        this.node = node;
    }

    /** Starts a node named {@code name} with its data in {@code dataDir}, PostgreSQL on 127.0.0.1:{@code port}. */
    public static Supervisor start(String name, Path dataDir, int port) throws PostgresException {
        LocalPostgresConfig pgConfig = LocalPostgresConfig.builder()
                .name(name)
                .dataDir(dataDir)
                .listen("127.0.0.1:" + port)
                .connectAddress("127.0.0.1:" + port)
                .superuser("postgres", "supervisor-secret")
                .replication("replicator", "replicator-secret")
                .build();
        RecordingPostgresController postgres = new RecordingPostgresController(new LocalPostgresController(pgConfig));
        NodeConfig config = NodeConfig.builder("supervised", name)
                .connUrl("postgres://127.0.0.1:" + port + "/postgres")
                .bootstrapDcs(Map.of("ttl", 10, "loop_wait", 2, "retry_timeout", 3))
                .build();
        HaNode node = HaNode.builder()
                .config(config)
                .dcs("memory", Map.of("store", "supervisor"))
                .postgres(postgres)
                .listener(new HaListener() {
                    @Override
                    public void roleChanged(String from, String to) {
                        LOG.info("supervisor: {} is now {} (was {})", name, to, from);
                    }
                })
                .build();
        node.start();
        return new Supervisor(postgres, node);
    }

    public HaNode node() {
        return node;
    }

    public RecordingPostgresController postgres() {
        return postgres;
    }

    /** Stops the node (and PostgreSQL) and then the controller. */
    @Override
    public void close() {
        node.close();
        postgres.close();
    }
}
