package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.config.NodeConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.InMemoryDcs;
import io.pgha.ha.HaNode;
import io.pgha.ha.PeerProbe;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Synchronous mode on real PostgreSQL, driven by two {@link HaNode}s on an in-memory DCS: the leader
 * names its replica in {@code synchronous_standby_names} and then in the {@code sync} key; a commit
 * waits for that standby (it does not return while the standby's WAL receiver is frozen, and returns
 * once it is thawed); and after the leader leaves, the standby named in the key leads with every
 * acknowledged row.
 */
class SyncReplicationIT {
    private static final Duration T = Duration.ofMinutes(2);

    private Path base;
    private final List<HaNode> nodes = new ArrayList<>();
    private final List<LocalPostgresController> controllers = new ArrayList<>();
    private Long frozenPid;

    @AfterEach
    void tearDown() throws Exception {
        if (frozenPid != null) {
            signal("CONT", frozenPid);
        }
        for (HaNode n : nodes) {
            n.close();
        }
        for (LocalPostgresController c : controllers) {
            c.close();
            PgTestSupport.deleteTree(c.runtimeDir());
        }
        PgTestSupport.deleteTree(base);
    }

    private HaNode node(InMemoryDcs.Store store, String name, LocalPostgresController pg) {
        NodeConfig cfg = NodeConfig.builder("sync-it", name)
                .connUrl(pg.config().connUrl())
                .bootstrapDcs(Map.of(
                        "ttl",
                        20,
                        "loop_wait",
                        1,
                        "retry_timeout",
                        5,
                        "synchronous_mode",
                        true,
                        "maximum_lag_on_failover",
                        1L << 40))
                .build();
        Dcs dcs = store.connect(null, "sync-it", name, Duration.ofSeconds(20));
        HaNode n = HaNode.builder()
                .config(cfg)
                .dcs(dcs)
                .postgres(pg)
                .peerProbe(PeerProbe.NONE)
                .build();
        nodes.add(n);
        return n;
    }

    @Test
    void anAcknowledgedCommitIsOnTheSyncStandbyAndSurvivesTheLeadersDeparture() throws Exception {
        PgTestSupport.assumePostgres();
        base = PgTestSupport.baseDir("pgha-sync-it-");
        LocalPostgresController pa =
                new LocalPostgresController(PgTestSupport.config("a", base).build());
        LocalPostgresController pb =
                new LocalPostgresController(PgTestSupport.config("b", base).build());
        controllers.add(pa);
        controllers.add(pb);
        InMemoryDcs.Store store = new InMemoryDcs.Store(Clock.systemUTC());
        Dcs observer = store.connect(null, "sync-it", "observer", Duration.ofSeconds(20));

        HaNode a = node(store, "a", pa);
        a.start();
        PgTestSupport.await(
                "a to lead", T, () -> pa.status().isPrimary() && observer.read().isLeader("a"));
        PgTestSupport.exec(pa.config(), "CREATE TABLE t (id int primary key)");
        HaNode b = node(store, "b", pb);
        b.start();

        // synchronous_standby_names first, the sync key once pg_stat_replication shows b as sync
        PgTestSupport.await("b named in the sync key", T, () -> {
            ClusterState c = observer.read();
            return c.sync() != null && "a".equals(c.sync().leader()) && c.sync().isSynchronous("b");
        });
        assertThat(pa.status().synchronousStandbyNames()).isEqualTo("b");
        assertThat(pa.status().replication())
                .anyMatch(r -> "b".equals(r.applicationName()) && "sync".equals(r.syncState()));

        // a commit waits for the standby: freeze b's WAL receiver and it does not return
        frozenPid = Long.parseLong(PgTestSupport.column(pb.config(), "SELECT pid FROM pg_stat_wal_receiver")
                .get(0));
        signal("STOP", frozenPid);
        CompletableFuture<Void> commit = CompletableFuture.runAsync(() -> {
            try (Connection conn = PgTestSupport.connect(pa.config());
                    Statement st = conn.createStatement()) {
                st.execute("INSERT INTO t VALUES (1)");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        try {
            commit.get(3, TimeUnit.SECONDS);
            throw new AssertionError("the commit returned while the synchronous standby was frozen");
        } catch (TimeoutException expected) {
            // PostgreSQL waits for b
        }
        signal("CONT", frozenPid);
        frozenPid = null;
        commit.get(60, TimeUnit.SECONDS);
        for (int i = 2; i <= 20; i++) {
            PgTestSupport.exec(pa.config(), "INSERT INTO t VALUES (" + i + ")");
        }

        // the leader leaves; only b may take over, and it has every acknowledged row
        a.close();
        PgTestSupport.await(
                "b to lead", T, () -> pb.status().isPrimary() && observer.read().isLeader("b"));
        assertThat(PgTestSupport.column(pb.config(), "SELECT count(*) FROM t")).containsExactly("20");
        PgTestSupport.await(
                "b owns the sync key",
                T,
                () -> "b".equals(observer.read().sync().leader()));
    }

    private static void signal(String sig, long pid) throws Exception {
        Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(pid))
                .inheritIO()
                .start();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    }
}
