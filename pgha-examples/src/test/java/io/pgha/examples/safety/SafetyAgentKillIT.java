package io.pgha.examples.safety;

import static io.pgha.examples.safety.SafetySupport.signal;
import static io.pgha.examples.safety.SafetySupport.stopAgents;
import static io.pgha.testing.Fixtures.assumePostgres;
import static io.pgha.testing.Fixtures.await;
import static io.pgha.testing.Fixtures.deleteTree;
import static io.pgha.testing.Fixtures.freePort;
import static io.pgha.testing.Fixtures.traversableTempDir;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgha.dcs.etcd.EtcdServer;
import io.pgha.examples.PortWriters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The primary's agent (a JVM of its own, {@link SafetyAgentMain}, with the out-of-process fence) is
 * killed (-9) or frozen (SIGSTOP) while a client writes, on real etcd and PostgreSQL: the old
 * primary stops taking writes before the new one takes any, and every write acknowledged by the old
 * primary is on the new one. The JVM alone with synchronous mode on; then, with asynchronous
 * replication (issue 16), the agent together with every process it started except PostgreSQL, which
 * the fence survives because it is none of them, on etcd and on ZooKeeper.
 */
class SafetyAgentKillIT {
    private static final Duration T = Duration.ofSeconds(150);
    private static final String LOCAL = "127.0.0.1";

    private EtcdServer etcd;
    private org.apache.curator.test.TestingServer zookeeper;
    /** The DCS the agents of the current test use: {@code etcd3} or {@code zookeeper}, and where. */
    private String dcsType;

    private String dcsHostPort;
    private Path base;
    private final List<Process> agents = new ArrayList<>();
    private final List<Path> dataDirs = new ArrayList<>();
    private final List<Long> frozen = new ArrayList<>();

    /** What happens to the primary's agent. */
    /** ttl / loop_wait / retry_timeout. */
    private record Timings(int ttl, int loopWait, int retryTimeout) {
        @Override
        public String toString() {
            return ttl + "/" + loopWait + "/" + retryTimeout;
        }
    }

    private static final Timings DEFAULT = new Timings(10, 1, 3);
    private static final Timings SHORT = new Timings(10, 2, 3);
    private static final Timings LONG = new Timings(30, 10, 10);

    private enum Fault {
        KILL_JVM,
        STOP_JVM,
        KILL_TREE,
        STOP_TREE,
        /** The tree and the fence too, as a freeze of the service's whole cgroup would: only the candidate-side fence acts. */
        STOP_TREE_AND_FENCE;

        boolean freezes() {
            return this == STOP_JVM || this == STOP_TREE || this == STOP_TREE_AND_FENCE;
        }
    }

    @AfterEach
    void tearDown() throws Exception {
        frozen.forEach(pid -> signal("CONT", pid));
        frozen.clear();
        stopAgents(agents, dataDirs);
        if (zookeeper != null) {
            zookeeper.close();
        }
        if (etcd != null) {
            etcd.close();
        }
        if (Boolean.getBoolean("pgha.safety.keep")) {
            System.out.println("kept for a look at the logs: " + base); // -Dpgha.safety.keep=true
        } else {
            deleteTree(base);
        }
    }

    @Test
    void killNineOfThePrimarysAgent() throws Exception {
        run(Fault.KILL_JVM, true);
    }

    @Test
    void sigstopOfThePrimarysAgent() throws Exception {
        run(Fault.STOP_JVM, true);
    }

    // Issue 16's proof: writers on every port, the fault held for ttl + 20 s, then a heal, at
    // 10 / 2 / 3 and at 30 / 10 / 10 (each run about 50 s longer), all in the default suite.

    @Test
    void killNineOfThePrimarysAgentAndEverythingItStartedButPostgres() throws Exception {
        treeFault(Fault.KILL_TREE, "etcd3", SHORT);
    }

    @Test
    void sigstopOfThePrimarysAgentAndEverythingItStartedButPostgres() throws Exception {
        treeFault(Fault.STOP_TREE, "etcd3", SHORT);
    }

    /**
     * The fence frozen with the agent (a freeze of the unit's whole cgroup, docs/safety.md): b's
     * candidate-side fence makes a's PostgreSQL stop acknowledging commits and receives a's WAL up
     * to where it stopped before it promotes.
     */
    @Test
    void sigstopOfThePrimarysAgentItsFenceAndEverythingItStartedButPostgres() throws Exception {
        treeFault(Fault.STOP_TREE_AND_FENCE, "etcd3", SHORT);
    }

    @Test
    void onZooKeeperKillNineOfThePrimarysAgentAndEverythingItStartedButPostgres() throws Exception {
        treeFault(Fault.KILL_TREE, "zookeeper", SHORT);
    }

    @Test
    void onZooKeeperSigstopOfThePrimarysAgentAndEverythingItStartedButPostgres() throws Exception {
        treeFault(Fault.STOP_TREE, "zookeeper", SHORT);
    }

    @Test
    void atTtl30KillNineOfThePrimarysAgentAndEverythingItStartedButPostgres() throws Exception {
        treeFault(Fault.KILL_TREE, "etcd3", LONG);
    }

    @Test
    void atTtl30SigstopOfThePrimarysAgentAndEverythingItStartedButPostgres() throws Exception {
        treeFault(Fault.STOP_TREE, "etcd3", LONG);
    }

    @Test
    void atTtl30OnZooKeeperKillNineOfThePrimarysAgentAndEverythingItStartedButPostgres() throws Exception {
        treeFault(Fault.KILL_TREE, "zookeeper", LONG);
    }

    @Test
    void atTtl30OnZooKeeperSigstopOfThePrimarysAgentAndEverythingItStartedButPostgres() throws Exception {
        treeFault(Fault.STOP_TREE, "zookeeper", LONG);
    }

    private void run(Fault fault, boolean sync) throws Exception {
        run(fault, sync, "etcd3");
    }

    private void startDcs(String dcs) throws Exception {
        assumeTrue(!dcs.equals("etcd3") || EtcdServer.isInstalled(), EtcdServer.MISSING);
        assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "bash is missing (the fence)");
        assumePostgres();
        dcsType = dcs;
        if (dcs.equals("zookeeper")) {
            // curator-test's in-process server (no ZooKeeper package needed)
            zookeeper = new org.apache.curator.test.TestingServer(freePort(), true);
            dcsHostPort = "127.0.0.1:" + zookeeper.getPort();
        } else {
            etcd = EtcdServer.start();
            dcsHostPort = etcd.hostPort();
        }
        base = traversableTempDir("pgha-safety-kill-");
    }

    /** The JVM alone, synchronous mode, a client on the old primary only (10 / 1 / 3). */
    private void run(Fault fault, boolean sync, String dcs) throws Exception {
        startDcs(dcs);
        int pgA = freePort();
        int pgB = freePort();
        Process a = agent("a", pgA, freePort(), sync, DEFAULT);
        await("a to be a primary", T, () -> !inRecovery(pgA));
        exec(pgA, "CREATE TABLE t (id int primary key)");
        agent("b", pgB, freePort(), sync, DEFAULT);
        String state = sync ? "sync" : "async";
        await(
                "b to stream as a " + state + " standby",
                T,
                () -> state.equals(
                        scalar(pgA, "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'b'")));
        Thread.sleep(4000); // a cycle or two (loop_wait 1 s) for the sync key to name b

        // a client writes to a, one row per commit, and records every acknowledged one
        List<Integer> acked = new CopyOnWriteArrayList<>();
        AtomicReference<Instant> lastAck = new AtomicReference<>();
        AtomicBoolean stop = new AtomicBoolean();
        Thread writer = new Thread(
                () -> {
                    int id = 0;
                    try (Connection c = connect(pgA);
                            Statement st = c.createStatement()) {
                        st.execute("SET statement_timeout = '60s'");
                        while (!stop.get()) {
                            id++;
                            st.execute("INSERT INTO t VALUES (" + id + ")");
                            acked.add(id);
                            lastAck.set(Instant.now());
                        }
                    } catch (Exception e) {
                        // the old primary stopped taking writes
                    }
                },
                "writer");
        writer.start();
        Thread.sleep(1500);
        assertThat(acked).as("the client writes before the fault").isNotEmpty();

        List<Long> victims = fault == Fault.KILL_JVM || fault == Fault.STOP_JVM ? List.of(a.pid()) : treeButPostgres(a);
        long fence = Long.parseLong(
                Files.readString(base.resolve("a-fence/pgha-fence.pid")).strip());
        assertThat(victims).as("the fence is not among what the agent started").doesNotContain(fence);
        if (fault.freezes()) {
            frozen.addAll(victims);
        }
        victims.forEach(pid -> signal(fault.freezes() ? "STOP" : "KILL", pid));
        // b takes over once the lock expired; poll it often to see when it first takes writes
        Instant bPrimary = null;
        Instant deadline = Instant.now().plus(T);
        while (Instant.now().isBefore(deadline)) {
            try {
                if (!inRecovery(pgB)) {
                    bPrimary = Instant.now();
                    break;
                }
            } catch (Exception e) {
                // b restarting or busy
            }
            Thread.sleep(50);
        }
        assertThat(bPrimary).as("b became the primary").isNotNull();
        boolean aStillUp;
        try (Connection c = connect(pgA)) {
            aStillUp = true;
        } catch (Exception e) {
            aStillUp = false;
        }
        assertThat(aStillUp)
                .as("the old primary is stopped when the new one starts")
                .isFalse();
        stop.set(true);
        writer.join(TimeUnit.SECONDS.toMillis(90));
        assertThat(writer.isAlive()).isFalse();
        assertThat(lastAck.get())
                .as("the last write the old primary acknowledged")
                .isBefore(bPrimary);
        // every acknowledged write is on the new primary
        List<Integer> onB = new ArrayList<>();
        try (Connection c = connect(pgB);
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT id FROM t ORDER BY id")) {
            while (rs.next()) {
                onB.add(rs.getInt(1));
            }
        }
        assertThat(onB).containsAll(acked);
        assertThat(Files.readString(base.resolve("a-fence/pgha-fence.log")))
                .contains(fault.freezes() ? "did not renew the deadline" : "channel closed");
    }

    /**
     * Issue 16's proof: asynchronous replication, a client writing every 20 ms to each PostgreSQL
     * port directly; the fault to the primary's agent and everything it started but PostgreSQL, held
     * for ttl + 20 s (a freeze, then SIGCONT) or followed by a restart of the agent (a kill), then the
     * cluster heals. No two servers ever acknowledged writes in the same span of time, and every
     * acknowledged write is on the final primary.
     */
    private void treeFault(Fault fault, String dcs, Timings timings) throws Exception {
        startDcs(dcs);
        int pgA = freePort();
        int pgB = freePort();
        int apiA = freePort();
        Process a = agent("a", pgA, apiA, false, timings);
        await("a to be a primary", T, () -> !inRecovery(pgA));
        agent("b", pgB, freePort(), false, timings);
        await(
                "b to stream as an async standby",
                T,
                // b's PostgreSQL runs as a replica and streams (pg_basebackup's WAL stream while b
                // clones shows in pg_stat_replication under b's name too)
                () -> inRecovery(pgB)
                        && "streaming async"
                                .equals(scalar(
                                        pgA,
                                        "SELECT state || ' ' || sync_state FROM pg_stat_replication"
                                                + " WHERE application_name = 'b'")));
        long start;
        PortWriters.Ack firstOnB;
        double heal;
        PortWriters writers =
                new PortWriters(LOCAL, List.of(pgA, pgB), pgA, "postgres", SafetySupport.PASSWORD, "t", 20);
        try {
            start = System.nanoTime();
            Thread.sleep(1500);
            assertThat(writers.lastAck(pgA))
                    .as("a acknowledges writes before the fault")
                    .isNotNull();
            List<Long> victims = treeButPostgres(a);
            long fence = Long.parseLong(
                    Files.readString(base.resolve("a-fence/pgha-fence.pid")).strip());
            assertThat(victims)
                    .as("the fence is not among what the agent started")
                    .doesNotContain(fence);
            if (fault == Fault.STOP_TREE_AND_FENCE) {
                victims.add(fence);
            }
            if (fault.freezes()) {
                frozen.addAll(victims);
            }
            long t0 = System.nanoTime();
            victims.forEach(pid -> signal(fault.freezes() ? "STOP" : "KILL", pid));
            firstOnB = awaitAck(writers, t0, pgB);
            assertThat(firstOnB).as("b acknowledged a write after the fault").isNotNull();
            long healFrom;
            if (fault.freezes()) {
                sleepUntil(t0 + TimeUnit.SECONDS.toNanos(timings.ttl() + 20L));
                frozen.forEach(pid -> signal("CONT", pid));
                frozen.clear();
                healFrom = System.nanoTime();
            } else {
                // the agent comes back, as systemd's Restart= would bring it back
                Thread.sleep(2000);
                healFrom = System.nanoTime();
                agent("a", pgA, apiA, false, timings);
            }
            await(
                    "a to stream from b",
                    T,
                    () -> "streaming"
                            .equals(scalar(pgB, "SELECT state FROM pg_stat_replication WHERE application_name = 'a'")));
            heal = (System.nanoTime() - healFrom) / 1e9;
            assertThat(inRecovery(pgA)).as("a is a replica again").isTrue();
            assertThat(inRecovery(pgB)).as("b is the primary").isFalse();
            Thread.sleep(1000); // the writers go on through the heal
            System.out.printf(
                    "%s %s at %s: first write on b %.2f s after the fault, healed %.1f s after %s%n",
                    fault,
                    dcs,
                    timings,
                    (firstOnB.nanos() - t0) / 1e9,
                    heal,
                    fault.freezes() ? "SIGCONT" : "the restart");
        } finally {
            writers.close();
        }
        double dual = writers.dualAcknowledgementMillis(start);
        Set<Long> lost = writers.lostAcknowledged(pgB);
        PortWriters.Ack lastOnA = writers.lastAck(pgA);
        System.out.printf(
                "%s %s at %s: %d writes acknowledged, two servers acknowledged for %.0f ms, %d lost,"
                        + " a's last ack %.2f s before b's first%n",
                fault,
                dcs,
                timings,
                writers.acks().size(),
                dual,
                lost.size(),
                (firstOnB.nanos() - lastOnA.nanos()) / 1e9);
        assertThat(lastOnA.nanos()).as("a's last ack comes before b's first").isLessThan(firstOnB.nanos());
        assertThat(dual)
                .as("the time in which two servers acknowledged writes (ms)")
                .isZero();
        assertThat(lost).as("acknowledged writes missing on the final primary").isEmpty();
        if (fault == Fault.STOP_TREE_AND_FENCE) {
            assertThat(Files.readString(base.resolve("b-agent.log")))
                    .as("b fenced a before it promoted")
                    .contains("fenced the former primary a (")
                    .contains("received its WAL up to");
        } else {
            assertThat(Files.readString(base.resolve("a-fence/pgha-fence.log")))
                    .contains(fault.freezes() ? "did not renew the deadline" : "channel closed");
        }
    }

    /** The first write b acknowledged after {@code t0}, waiting up to {@link #T}; null if none. */
    private static PortWriters.Ack awaitAck(PortWriters writers, long t0, int port) throws InterruptedException {
        long deadline = System.nanoTime() + T.toNanos();
        while (System.nanoTime() < deadline) {
            for (PortWriters.Ack ack : writers.acks()) {
                if (ack.nanos() > t0 && ack.port() == port) {
                    return ack;
                }
            }
            Thread.sleep(20);
        }
        return null;
    }

    private static void sleepUntil(long nanos) throws InterruptedException {
        long left = nanos - System.nanoTime();
        if (left > 0) {
            TimeUnit.NANOSECONDS.sleep(left);
        }
    }

    /**
     * The agent and every process it started, PostgreSQL's (and what they started) excepted: what a
     * freeze or kill of the agent's service, session or process group would take with it.
     */
    private static List<Long> treeButPostgres(Process agent) {
        List<Long> pids = new ArrayList<>(List.of(agent.pid()));
        agent.toHandle().children().forEach(c -> addUnlessPostgres(c, pids));
        return pids;
    }

    private static void addUnlessPostgres(ProcessHandle p, List<Long> pids) {
        String comm;
        try {
            comm = Files.readString(Path.of("/proc", Long.toString(p.pid()), "comm"))
                    .strip();
        } catch (java.io.IOException e) {
            return; // gone
        }
        if (comm.equals("postgres") || comm.equals("postmaster")) {
            return;
        }
        pids.add(p.pid());
        p.children().forEach(c -> addUnlessPostgres(c, pids));
    }

    private Process agent(String name, int pgPort, int apiPort, boolean sync, Timings timings) throws Exception {
        Path data = base.resolve(name);
        if (!dataDirs.contains(data)) {
            dataDirs.add(data);
        }
        Path log = base.resolve(name + "-agent.log");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(
                        java,
                        "-cp",
                        System.getProperty("java.class.path"),
                        SafetyAgentMain.class.getName(),
                        name,
                        data.toString(),
                        Integer.toString(pgPort),
                        Integer.toString(apiPort),
                        dcsHostPort,
                        Boolean.toString(sync),
                        dcsType,
                        timings.ttl() + "/" + timings.loopWait() + "/" + timings.retryTimeout())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        agents.add(p);
        long before = Files.exists(log) ? Files.size(log) : 0;
        await(name + "'s agent to start", T, () -> Files.exists(log) && startedSince(log, before));
        return p;
    }

    private static boolean startedSince(Path log, long offset) throws java.io.IOException {
        String text = Files.readString(log);
        return text.length() > offset
                && text.substring((int) Math.min(offset, text.length())).contains("started");
    }

    // a's and b's PostgreSQL listen on the loopback

    private static Connection connect(int port) throws Exception {
        return SafetySupport.connect(LOCAL, port, 90); // a commit may wait a while for the sync standby
    }

    private static boolean inRecovery(int port) throws Exception {
        return SafetySupport.inRecovery(LOCAL, port);
    }

    private static String scalar(int port, String sql) throws Exception {
        return SafetySupport.scalar(LOCAL, port, sql);
    }

    private static void exec(int port, String sql) throws Exception {
        SafetySupport.exec(LOCAL, port, sql);
    }
}
