package io.pgha.examples;

import static io.pgha.examples.E2eSupport.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;

/**
 * Replication slots on a real three-member cluster ({@code pgha run} from target/pgha.jar, real
 * PostgreSQL 15, real etcd): permanent physical and logical slots from the dynamic configuration,
 * {@code ignore_slots}, slots made by hand, member slots on every member, and a logical decoding
 * consumer (pgjdbc's replication API, {@code test_decoding}) on a permanent logical slot that
 * reads across a switchover and a node-loss failover, confirming its position as it goes, without
 * missing or repeating a committed transaction.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SlotsEtcdIT {
    private static final Duration WAIT = Duration.ofSeconds(90);

    private E2eCluster e2e;
    private LocalCluster cluster;
    private Consumer consumer;
    private Writer writer;

    @BeforeAll
    void startCluster() throws Exception {
        E2eCluster.assumeMachine(true);
        e2e = E2eCluster.start("etcd3", "slots");
        cluster = e2e.cluster;
    }

    @AfterAll
    void stopCluster() throws Exception {
        if (writer != null) {
            writer.close();
        }
        if (consumer != null) {
            consumer.close();
        }
        if (e2e != null) {
            e2e.close();
        }
    }

    private LocalCluster.Member leader() throws Exception {
        return cluster.awaitHealthy(Duration.ofMinutes(3));
    }

    private Set<String> slots(LocalCluster.Member m) {
        String s = E2eSupport.tryQuery(
                m.jdbcUrl(), cluster, "SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots");
        return s == null ? Set.of() : new TreeSet<>(List.of(s.split(",")));
    }

    private void awaitSlots(LocalCluster.Member m, String... names) {
        await(
                m.name + " to have slots " + List.of(names),
                WAIT,
                () -> slots(m).containsAll(List.of(names)) ? Optional.of(true) : Optional.empty());
    }

    /** Waits some HA cycles (loop_wait is 2 s here). */
    private static void cycles(int n) {
        LocalCluster.sleep(n * 2_000L + 500);
    }

    @Test
    @Order(1)
    void permanentSlotsIgnoreSlotsAndSlotsMadeByHand() throws Exception {
        LocalCluster.Member l = leader();
        HttpResponse<String> r = cluster.send(
                l,
                "PATCH",
                "/config",
                "{\"postgresql\": {\"parameters\": {\"wal_level\": \"logical\"}},"
                        + " \"slots\": {\"keep_phys\": {\"type\": \"physical\"},"
                        + " \"cdc\": {\"type\": \"logical\", \"database\": \"postgres\", \"plugin\": \"test_decoding\"}},"
                        + " \"ignore_slots\": [{\"name\": \"hand_ignored\", \"type\": \"logical\"}]}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        // wal_level needs a restart of every member, the leader first
        List<LocalCluster.Member> order = new ArrayList<>(cluster.members());
        order.remove(l);
        order.add(0, l);
        for (LocalCluster.Member m : order) {
            await(
                    m.name + " to see the pending restart",
                    WAIT,
                    () -> Optional.ofNullable(cluster.get(m, "/patroni"))
                            .filter(j -> j.path("pending_restart").asBoolean(false)));
            HttpResponse<String> rr = cluster.send(m, "POST", "/restart", "{}");
            assertThat(rr.statusCode()).as(rr.body()).isEqualTo(200);
        }
        l = leader();
        assertThat(E2eSupport.queryOne(l.jdbcUrl(), cluster, "SHOW wal_level")).isEqualTo("logical");

        // made by hand on the primary: one plain, one ignored, one named in slots later
        E2eSupport.exec(l.jdbcUrl(), cluster, "SELECT pg_create_physical_replication_slot('hand_plain', true)");
        E2eSupport.exec(
                l.jdbcUrl(), cluster, "SELECT pg_create_logical_replication_slot('hand_ignored', 'test_decoding')");
        E2eSupport.exec(l.jdbcUrl(), cluster, "SELECT pg_create_physical_replication_slot('hand_listed', true)");
        List<String> others = cluster.members().stream()
                .filter(m -> m != cluster.leader().orElseThrow())
                .map(m -> m.name)
                .toList();
        awaitSlots(l, "keep_phys", "cdc", others.get(0), others.get(1));
        cycles(3);
        assertThat(slots(l)).contains("hand_plain", "hand_ignored", "hand_listed");

        r = cluster.send(l, "PATCH", "/config", "{\"slots\": {\"hand_listed\": {\"type\": \"physical\"}}}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        // every member that may lead keeps the permanent slots and a slot for every other member;
        // the replicas copy the logical one from the primary
        for (LocalCluster.Member m : cluster.members()) {
            List<String> want = new ArrayList<>(List.of("keep_phys", "cdc", "hand_listed"));
            cluster.members().stream().filter(o -> o != m).forEach(o -> want.add(o.name));
            awaitSlots(m, want.toArray(String[]::new));
        }
        cycles(3);
        assertThat(slots(l)).contains("hand_plain", "hand_ignored", "hand_listed");
        System.out.println("slots after the configuration: "
                + cluster.members().stream().map(m -> m.name + "=" + slots(m)).toList());
    }

    @Test
    @Order(2)
    void aLogicalConsumerReadsAcrossASwitchoverWithoutMissingOrRepeating() throws Exception {
        LocalCluster.Member l = leader();
        E2eSupport.exec(l.jdbcUrl(), cluster, "CREATE TABLE IF NOT EXISTS cdc_t (id int primary key)");
        consumer = new Consumer(cluster, "cdc");
        consumer.start();
        writer = new Writer(cluster);
        writer.start();
        await("the consumer to read", WAIT, () -> consumer.read().size() > 20 ? Optional.of(true) : Optional.empty());
        // the replicas' copies of cdc follow the consumer's confirmed position on the primary
        LocalCluster.Member replica =
                cluster.members().stream().filter(m -> m != l).findFirst().orElseThrow();
        String confirmed = E2eSupport.queryOne(
                l.jdbcUrl(), cluster, "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'cdc'");
        await(
                replica.name + "'s copy of cdc to reach " + confirmed,
                WAIT,
                () -> Optional.ofNullable(E2eSupport.tryQuery(
                                replica.jdbcUrl(),
                                cluster,
                                "SELECT confirmed_flush_lsn >= '" + confirmed
                                        + "' FROM pg_replication_slots WHERE slot_name = 'cdc'"))
                        .filter("t"::equals));

        HttpResponse<String> r = cluster.send(
                l, "POST", "/switchover", "{\"leader\":\"" + l.name + "\",\"candidate\":\"" + replica.name + "\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        await("the candidate to lead", WAIT, () -> cluster.leader().filter(x -> x == replica));
        int before = writer.acked().size();
        await(
                "writes on the new primary read by the consumer",
                WAIT,
                () -> consumer.read().size() > before + 20 ? Optional.of(true) : Optional.empty());
        checkExactlyOnce("switchover");
        // slots made by hand on the former primary: still there now that it is a replica (ignored, or physical)
        awaitSlots(l, "hand_ignored", "hand_plain");
        // the permanent physical slot made by hand exists on the new primary
        assertThat(slots(replica)).contains("hand_listed", "keep_phys", "cdc");
    }

    @Test
    @Order(3)
    void aLogicalConsumerReadsAcrossANodeLossFailover() throws Exception {
        LocalCluster.Member l = leader();
        cluster.awaitHealthy(WAIT);
        // PostgreSQL 15 hands a commit to a logical consumer once it is flushed locally, before a standby
        // has it: a node lost right then leaves the consumer with a transaction the new primary never had
        // (PostgreSQL 17's synchronized_standby_slots closes that window; Patroni has the same limit). So
        // the writer pauses, every replica and the consumer catch up, then the primary's node is lost.
        writer.pause(true);
        String lsn = E2eSupport.queryOne(l.jdbcUrl(), cluster, "SELECT pg_current_wal_lsn()");
        for (LocalCluster.Member m : cluster.members()) {
            if (m != l) {
                await(
                        m.name + " to replay " + lsn,
                        WAIT,
                        () -> Optional.ofNullable(E2eSupport.tryQuery(
                                        m.jdbcUrl(), cluster, "SELECT pg_last_wal_replay_lsn() >= '" + lsn + "'"))
                                .filter("t"::equals));
            }
        }
        await(
                "the consumer to read every acknowledged write",
                WAIT,
                () -> consumer.read().containsAll(writer.acked()) ? Optional.of(true) : Optional.empty());
        // a status write with the consumer's position reaches the replicas' copies
        cycles(3);
        cluster.kill9(l);
        writer.pause(false);
        LocalCluster.Member next =
                await("a new leader", WAIT, () -> cluster.leader().filter(x -> x != l));
        int before = writer.acked().size();
        await(
                "writes on the new primary read by the consumer",
                WAIT,
                () -> consumer.read().size() > before + 20 ? Optional.of(true) : Optional.empty());
        checkExactlyOnce("node-loss failover");
        assertThat(slots(next)).contains("keep_phys", "hand_listed", "cdc");
        cluster.start(l);
        cluster.awaitHealthy(Duration.ofMinutes(3));
        writer.close();
        consumer.close();
        System.out.printf(
                "logical consumer: %d transactions read once each across a switchover and a node-loss failover,"
                        + " %d reconnections%n",
                consumer.read().size(), consumer.reconnections());
    }

    /** Every row on the primary now was read exactly once, and nothing read is missing from it. */
    private void checkExactlyOnce(String what) throws Exception {
        writer.pause(true);
        LocalCluster.Member l = leader();
        String max = E2eSupport.queryOne(l.jdbcUrl(), cluster, "SELECT coalesce(max(id), 0) FROM cdc_t");
        await(
                "the consumer to reach id " + max,
                WAIT,
                () -> consumer.read().contains(Integer.parseInt(max)) || "0".equals(max)
                        ? Optional.of(true)
                        : Optional.empty());
        Set<Integer> onPrimary = new TreeSet<>();
        try (Connection c = E2eSupport.connect(l.jdbcUrl(), cluster);
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT id FROM cdc_t")) {
            while (rs.next()) {
                onPrimary.add(rs.getInt(1));
            }
        }
        List<Integer> read = consumer.read();
        assertThat(consumer.duplicates()).as(what + ": transactions read twice").isEmpty();
        assertThat(new TreeSet<>(read))
                .as(what + ": transactions read vs rows on the primary")
                .isEqualTo(onPrimary);
        assertThat(onPrimary).as(what + ": acknowledged writes on the primary").containsAll(writer.acked());
        System.out.printf("%s: %d transactions committed, each read once%n", what, onPrimary.size());
        writer.pause(false);
    }

    /** One row a transaction, ids counting up; remembers what was acknowledged. */
    static final class Writer extends Thread implements AutoCloseable {
        private final LocalCluster cluster;
        private final List<Integer> acked = Collections.synchronizedList(new ArrayList<>());
        private volatile boolean stop;
        private volatile boolean paused;
        private volatile boolean idle;
        private int next = 1;

        Writer(LocalCluster cluster) {
            super("slots-writer");
            setDaemon(true);
            this.cluster = cluster;
        }

        List<Integer> acked() {
            synchronized (acked) {
                return new ArrayList<>(acked);
            }
        }

        /** Pauses (and waits until no write is in flight) or resumes. */
        void pause(boolean p) {
            paused = p;
            while (p && !idle && isAlive()) {
                LocalCluster.sleep(20);
            }
        }

        @Override
        public void run() {
            Connection c = null;
            while (!stop) {
                if (paused) {
                    idle = true;
                    LocalCluster.sleep(20);
                    continue;
                }
                idle = false;
                try {
                    if (c == null) {
                        Optional<LocalCluster.Member> l = cluster.leader();
                        if (l.isEmpty()) {
                            LocalCluster.sleep(100);
                            continue;
                        }
                        c = E2eSupport.connect(l.get().jdbcUrl(), cluster);
                    }
                    try (Statement st = c.createStatement()) {
                        st.execute("INSERT INTO cdc_t VALUES (" + next + ")");
                    }
                    acked.add(next);
                    next++;
                } catch (SQLException e) {
                    // a unique violation means the insert was committed though its ack was lost
                    if ("23505".equals(e.getSQLState())) {
                        next++;
                    }
                    close(c);
                    c = null;
                    LocalCluster.sleep(100);
                }
                LocalCluster.sleep(10);
            }
            close(c);
        }

        private static void close(Connection c) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (SQLException e) {
                // gone already
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop = true;
            join(10_000);
        }
    }

    /**
     * A logical decoding consumer as an application writes one: it remembers the end of the last
     * transaction it processed, confirms it to the server as it goes, and after a lost connection
     * starts again from there on whichever member is the primary.
     */
    static final class Consumer extends Thread implements AutoCloseable {
        private static final Pattern INSERT = Pattern.compile("table public\\.cdc_t: INSERT: id\\[integer\\]:(\\d+)");

        private final LocalCluster cluster;
        private final String slot;
        private final List<Integer> read = Collections.synchronizedList(new ArrayList<>());
        private final Set<Integer> duplicates = Collections.synchronizedSet(new LinkedHashSet<>());
        private volatile boolean stop;
        private volatile int reconnections;
        private LogSequenceNumber processed = LogSequenceNumber.INVALID_LSN;

        Consumer(LocalCluster cluster, String slot) {
            super("slots-consumer");
            setDaemon(true);
            this.cluster = cluster;
            this.slot = slot;
        }

        List<Integer> read() {
            synchronized (read) {
                return new ArrayList<>(read);
            }
        }

        Set<Integer> duplicates() {
            synchronized (duplicates) {
                return new TreeSet<>(duplicates);
            }
        }

        int reconnections() {
            return reconnections;
        }

        @Override
        public void run() {
            while (!stop) {
                Optional<LocalCluster.Member> l = cluster.leader();
                if (l.isEmpty()) {
                    LocalCluster.sleep(200);
                    continue;
                }
                try {
                    consume(l.get());
                } catch (SQLException | RuntimeException e) {
                    if (!stop) {
                        reconnections++;
                        System.out.println("consumer: reconnecting after " + e.getMessage());
                    }
                }
                LocalCluster.sleep(200);
            }
        }

        private void consume(LocalCluster.Member m) throws SQLException {
            Properties p = new Properties();
            PGProperty.USER.set(p, LocalCluster.SUPERUSER);
            PGProperty.PASSWORD.set(p, cluster.password());
            PGProperty.ASSUME_MIN_SERVER_VERSION.set(p, "15");
            PGProperty.REPLICATION.set(p, "database");
            PGProperty.PREFER_QUERY_MODE.set(p, "simple");
            PGProperty.CONNECT_TIMEOUT.set(p, "3");
            PGProperty.SOCKET_TIMEOUT.set(p, "10");
            try (Connection c = DriverManager.getConnection(m.jdbcUrl(), p)) {
                var builder = c.unwrap(PGConnection.class)
                        .getReplicationAPI()
                        .replicationStream()
                        .logical()
                        .withSlotName(slot)
                        .withStatusInterval(1, TimeUnit.SECONDS);
                if (!processed.equals(LogSequenceNumber.INVALID_LSN)) {
                    builder = builder.withStartPosition(processed);
                }
                try (PGReplicationStream stream = builder.start()) {
                    List<Integer> txn = new ArrayList<>();
                    while (!stop) {
                        ByteBuffer msg = stream.readPending();
                        if (msg == null) {
                            LocalCluster.sleep(10);
                            continue;
                        }
                        String text =
                                new String(msg.array(), msg.arrayOffset(), msg.remaining(), StandardCharsets.UTF_8);
                        if (text.startsWith("BEGIN")) {
                            txn.clear();
                        } else if (text.startsWith("COMMIT")) {
                            synchronized (read) {
                                for (Integer id : txn) {
                                    if (read.contains(id)) {
                                        duplicates.add(id);
                                    }
                                    read.add(id);
                                }
                            }
                            processed = stream.getLastReceiveLSN();
                            stream.setAppliedLSN(processed);
                            stream.setFlushedLSN(processed);
                        } else {
                            Matcher mm = INSERT.matcher(text);
                            if (mm.find()) {
                                txn.add(Integer.parseInt(mm.group(1)));
                            }
                        }
                    }
                }
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop = true;
            join(15_000);
        }
    }
}
