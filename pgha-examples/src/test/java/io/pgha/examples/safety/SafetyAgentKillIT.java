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
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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
    private enum Fault {
        KILL_JVM,
        STOP_JVM,
        KILL_TREE,
        STOP_TREE;

        boolean freezes() {
            return this == STOP_JVM || this == STOP_TREE;
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
        deleteTree(base);
    }

    @Test
    void killNineOfThePrimarysAgent() throws Exception {
        run(Fault.KILL_JVM, true);
    }

    @Test
    void sigstopOfThePrimarysAgent() throws Exception {
        run(Fault.STOP_JVM, true);
    }

    @Test
    void killNineOfThePrimarysAgentAndEverythingItStartedButPostgres() throws Exception {
        run(Fault.KILL_TREE, false);
    }

    @Test
    void sigstopOfThePrimarysAgentAndEverythingItStartedButPostgres() throws Exception {
        run(Fault.STOP_TREE, false);
    }

    @Test
    void onZooKeeperKillNineOfThePrimarysAgentAndEverythingItStartedButPostgres() throws Exception {
        run(Fault.KILL_TREE, false, "zookeeper");
    }

    @Test
    void onZooKeeperSigstopOfThePrimarysAgentAndEverythingItStartedButPostgres() throws Exception {
        run(Fault.STOP_TREE, false, "zookeeper");
    }

    private void run(Fault fault, boolean sync) throws Exception {
        run(fault, sync, "etcd3");
    }

    private void run(Fault fault, boolean sync, String dcs) throws Exception {
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
        int pgA = freePort();
        int pgB = freePort();
        Process a = agent("a", pgA, sync);
        await("a to be a primary", T, () -> !inRecovery(pgA));
        exec(pgA, "CREATE TABLE t (id int primary key)");
        agent("b", pgB, sync);
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
        if (fault == Fault.STOP_TREE) {
            // thawed, the old agent finds its lock gone and its PostgreSQL stopped by its fence: the
            // cluster heals with it as b's replica
            frozen.forEach(pid -> signal("CONT", pid));
            frozen.clear();
            await(
                    "a, thawed, to stream from b",
                    T,
                    () -> "streaming"
                            .equals(scalar(pgB, "SELECT state FROM pg_stat_replication WHERE application_name = 'a'")));
            assertThat(inRecovery(pgA)).as("a is a replica again").isTrue();
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

    private Process agent(String name, int pgPort, boolean sync) throws Exception {
        Path data = base.resolve(name);
        dataDirs.add(data);
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
                        Integer.toString(freePort()),
                        dcsHostPort,
                        Boolean.toString(sync),
                        dcsType)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        agents.add(p);
        await(
                name + "'s agent to start",
                T,
                () -> Files.exists(log) && Files.readString(log).contains("started"));
        return p;
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
