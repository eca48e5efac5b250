package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.config.NodeConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.InMemoryDcs;
import io.pgha.dcs.Member;
import io.pgha.ha.HaNode;
import io.pgha.ha.PeerProbe;
import io.pgha.ha.PeerStatus;
import io.pgha.postgres.PostgresStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code synchronous_mode: quorum} on three real PostgreSQL servers driven by {@link HaNode}s on an
 * in-memory DCS. The leader sets {@code ANY 1 (b,c)} and the {@code sync} key {@code quorum 1} of
 * {@code b,c}; with b's WAL receiver frozen, commits are acknowledged by c alone; the leader's
 * PostgreSQL is then killed: b, behind, gets no vote from c and must not lead; c gets b's vote, leads,
 * and has every acknowledged row. The peers' statuses come from their controllers (the REST API's
 * GET /patroni is not started here).
 */
class QuorumCommitIT {
    private static final Duration T = Duration.ofMinutes(2);

    private Path base;
    private final List<HaNode> nodes = new ArrayList<>();
    private final Map<String, LocalPostgresController> controllers = new LinkedHashMap<>();
    private Long frozenPid;

    @AfterEach
    void tearDown() throws Exception {
        if (frozenPid != null) {
            signal("CONT", frozenPid);
        }
        for (HaNode n : nodes) {
            n.close();
        }
        for (LocalPostgresController c : controllers.values()) {
            c.close();
            PgTestSupport.deleteTree(c.runtimeDir());
        }
        PgTestSupport.deleteTree(base);
    }

    /** GET /patroni's fields as the controllers report them. */
    private PeerProbe probe() {
        return (members, timeout) -> {
            Map<String, PeerStatus> out = new LinkedHashMap<>();
            for (Member m : members) {
                LocalPostgresController c = controllers.get(m.name());
                if (c == null) {
                    continue;
                }
                try {
                    PostgresStatus s = c.status();
                    if (s.isRunning()) {
                        out.put(
                                m.name(),
                                new PeerStatus(
                                        m.name(),
                                        s.isPrimary() ? "primary" : "replica",
                                        "running",
                                        s.lastLsn(),
                                        s.timeline(),
                                        false,
                                        1));
                    }
                } catch (RuntimeException e) {
                    // unreachable peers are left out, as by the HTTP probe
                }
            }
            return out;
        };
    }

    private HaNode node(InMemoryDcs.Store store, String name) throws Exception {
        LocalPostgresController pg =
                new LocalPostgresController(PgTestSupport.config(name, base).build());
        controllers.put(name, pg);
        NodeConfig cfg = NodeConfig.builder("quorum-it", name)
                .connUrl(pg.config().connUrl())
                .bootstrapDcs(Map.of(
                        "ttl",
                        20,
                        "loop_wait",
                        1,
                        "retry_timeout",
                        5,
                        "synchronous_mode",
                        "quorum",
                        "maximum_lag_on_failover",
                        1L << 40))
                .build();
        Dcs dcs = store.connect(null, "quorum-it", name, Duration.ofSeconds(20));
        HaNode n = HaNode.builder()
                .config(cfg)
                .dcs(dcs)
                .postgres(pg)
                .peerProbe(probe())
                .build();
        nodes.add(n);
        return n;
    }

    @Test
    void theStandbyThatAcknowledgedLeadsAndTheOneBehindGetsNoVote() throws Exception {
        PgTestSupport.assumePostgres();
        base = PgTestSupport.baseDir("pgha-quorum-it-");
        InMemoryDcs.Store store = new InMemoryDcs.Store(Clock.systemUTC());
        Dcs observer = store.connect(null, "quorum-it", "observer", Duration.ofSeconds(20));

        HaNode a = node(store, "a");
        a.start();
        LocalPostgresController pa = controllers.get("a");
        PgTestSupport.await(
                "a to lead", T, () -> pa.status().isPrimary() && observer.read().isLeader("a"));
        PgTestSupport.exec(pa.config(), "CREATE TABLE t (id int primary key)");
        node(store, "b").start();
        node(store, "c").start();
        LocalPostgresController pb = controllers.get("b");
        LocalPostgresController pc = controllers.get("c");

        // ANY 1 (b,c) in PostgreSQL, quorum 1 of b,c in the key
        PgTestSupport.await("the quorum of b and c", T, () -> {
            ClusterState c = observer.read();
            return c.sync() != null
                    && "a".equals(c.sync().leader())
                    && c.sync().quorum() != null
                    && c.sync().quorum() == 1
                    && c.sync().syncStandbys().equals(List.of("b", "c"));
        });
        // the status connection's backend takes the reload at its next command: it may show the
        // previous value for a moment after the walsenders (whose view the key follows) took it
        PgTestSupport.await(
                "ANY 1 (b,c) in the status connection",
                Duration.ofSeconds(5),
                () -> "ANY 1 (b,c)".equals(pa.status().synchronousStandbyNames()));
        PgTestSupport.await(
                "b and c as quorum standbys",
                T,
                () -> pa.status().replication().stream()
                                .filter(r -> "quorum".equals(r.syncState()))
                                .count()
                        == 2);

        // b's WAL receiver frozen: commits are acknowledged by c alone (ANY 1)
        frozenPid = Long.parseLong(PgTestSupport.column(pb.config(), "SELECT pid FROM pg_stat_wal_receiver")
                .get(0));
        signal("STOP", frozenPid);
        for (int i = 1; i <= 20; i++) {
            PgTestSupport.exec(pa.config(), "INSERT INTO t VALUES (" + i + ")");
        }

        // the primary dies; its agent goes too
        long postmaster =
                Long.parseLong(Files.readAllLines(pa.config().dataDir().resolve("postmaster.pid"))
                        .get(0)
                        .trim());
        signal("KILL", postmaster);
        a.close();

        PgTestSupport.await(
                "c to lead", T, () -> pc.status().isPrimary() && observer.read().isLeader("c"));
        assertThat(pb.status().isPrimary())
                .as("b, behind, must not have been promoted")
                .isFalse();
        assertThat(PgTestSupport.column(pc.config(), "SELECT count(*) FROM t")).containsExactly("20");

        // b thawed follows c; the key becomes c's
        signal("CONT", frozenPid);
        frozenPid = null;
        PgTestSupport.await("c owns the sync key with b as its voter", T, () -> {
            ClusterState c = observer.read();
            return c.sync() != null
                    && "c".equals(c.sync().leader())
                    && c.sync().syncStandbys().contains("b");
        });
        PgTestSupport.await(
                "b streams from c and has every row",
                T,
                () -> PgTestSupport.column(pb.config(), "SELECT count(*) FROM t")
                        .equals(List.of("20")));
    }

    private static void signal(String sig, long pid) throws Exception {
        Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(pid))
                .inheritIO()
                .start();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    }
}
