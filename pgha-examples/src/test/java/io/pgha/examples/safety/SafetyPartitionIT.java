package io.pgha.examples.safety;

import static io.pgha.examples.safety.SafetySupport.PASSWORD;
import static io.pgha.examples.safety.SafetySupport.connect;
import static io.pgha.examples.safety.SafetySupport.exec;
import static io.pgha.examples.safety.SafetySupport.inRecovery;
import static io.pgha.examples.safety.SafetySupport.scalar;
import static io.pgha.examples.safety.SafetySupport.stopAgents;
import static io.pgha.testing.Fixtures.NO_POSTGRES;
import static io.pgha.testing.Fixtures.await;
import static io.pgha.testing.Fixtures.deleteTree;
import static io.pgha.testing.Fixtures.freePort;
import static io.pgha.testing.Fixtures.postgresBin;
import static io.pgha.testing.Fixtures.traversableTempDir;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgha.dcs.etcd.EtcdServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A network partition of the primary from the DCS and from its replicas, on real etcd and
 * PostgreSQL, each member a {@code pgha run} process from the shaded jar (a JVM of its own, with the
 * out-of-process fence the runner wires).
 *
 * <p>Member a (the first primary) runs with its PostgreSQL in a network namespace of its own, linked
 * to the host by a veth pair in a private /30 that only this test uses; etcd and members b and c
 * listen on the host end of that link. The partition is two iptables rules inside a's namespace
 * that drop every packet in and out of its veth: a's etcd client, its walsender, its REST API and
 * its calls to the others all stop at once, while the test still reaches a's PostgreSQL from inside
 * the namespace (psql over the namespace's loopback). The test polls all three PostgreSQLs with a
 * test write: a stops taking writes (its lock could not be renewed) before b or c takes any, exactly
 * one of them becomes the primary, and no sample ever sees two primaries taking writes. Healed, a
 * rejoins as a streaming replica of the new primary. Deleting the namespace removes the rules and
 * the veth pair with it.
 */
class SafetyPartitionIT {
    private static final Duration T = Duration.ofMinutes(2);
    private static final int TTL = 10;
    private static final String SUBNET = "10.213.77.";
    private static final String HOST = SUBNET + "1";
    private static final String ISOLATED = SUBNET + "2";
    private static final Path JAR = Path.of("target/pgha.jar");

    private final String ns = "pgha-part-" + ProcessHandle.current().pid();
    private final String vethHost = "pgp" + ProcessHandle.current().pid() % 100000 + "h";
    private final String vethNs = "pgp" + ProcessHandle.current().pid() % 100000 + "n";
    private boolean nsCreated;
    private Path base;
    private Process etcd;
    private final List<Process> agents = new ArrayList<>();
    private final List<Path> dataDirs = new ArrayList<>();
    private Path psql;

    @AfterEach
    void tearDown() throws Exception {
        if (nsCreated) {
            heal(); // so that a's agent can shut down cleanly
        }
        stopAgents(agents, dataDirs);
        if (etcd != null) {
            etcd.destroy();
            if (!etcd.waitFor(10, TimeUnit.SECONDS)) {
                etcd.destroyForcibly();
            }
        }
        if (nsCreated) {
            // takes the veth pair and the namespace's iptables rules with it, once the last process
            // in the namespace is gone (the kernel tears it down asynchronously)
            sh("ip", "netns", "del", ns);
            for (int i = 0; i < 50 && run("ip", "link", "show", vethHost) == 0; i++) {
                Thread.sleep(200);
            }
            if (run("ip", "link", "show", vethHost) == 0) {
                run("ip", "link", "del", vethHost); // deletes its peer too
            }
        }
        keepLogs();
        deleteTree(base);
    }

    /** The agents' and etcd's logs, kept in target/ for a failure's post-mortem. */
    private void keepLogs() throws IOException {
        if (base == null || !Files.isDirectory(base)) {
            return;
        }
        Path keep = Path.of("target", "safety-partition-logs");
        Files.createDirectories(keep);
        try (var s = Files.walk(base)) {
            for (Path f :
                    s.filter(f -> f.getFileName().toString().endsWith(".log")).toList()) {
                Files.copy(
                        f,
                        keep.resolve(base.relativize(f).toString().replace('/', '-')),
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    @Test
    void thePartitionedPrimaryStopsTakingWritesBeforeOneReplicaTakesOver() throws Exception {
        assumeTrue("0".equals(out("id", "-u").trim()), "not root: network namespaces need root");
        assumeTrue(onPath("ip"), "ip (iproute2) is missing");
        assumeTrue(onPath("iptables"), "iptables is missing (Debian package iptables)");
        assumeTrue(EtcdServer.isInstalled(), EtcdServer.MISSING);
        assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "bash is missing (the fence)");
        assumeTrue(Files.isRegularFile(JAR), "target/pgha.jar is missing: run the ITs through 'mvn verify'");
        psql = postgresBin("psql");
        assumeTrue(psql != null, NO_POSTGRES);
        assumeTrue(!out("ip", "-o", "addr").contains(SUBNET), SUBNET + "0/30 is already in use on this host");

        network();
        base = traversableTempDir("pgha-safety-partition-");
        String etcdHost = startEtcd();

        int pgA = freePort();
        int pgB = freePort();
        int pgC = freePort();
        agent("a", ISOLATED, pgA, etcdHost, true);
        await("a to be the primary", T, () -> !inRecovery(ISOLATED, pgA));
        exec(ISOLATED, pgA, "CREATE TABLE t (id int primary key, at text)");
        agent("b", HOST, pgB, etcdHost, false);
        agent("c", HOST, pgC, etcdHost, false);
        // by their application_name: pg_basebackup's own WAL stream also shows as 'streaming'
        await(
                "b and c to run and stream from a",
                T,
                () -> inRecovery(HOST, pgB)
                        && inRecovery(HOST, pgC)
                        && "2"
                                .equals(scalar(
                                        ISOLATED,
                                        pgA,
                                        "SELECT count(*) FROM pg_stat_replication"
                                                + " WHERE application_name IN ('b', 'c') AND state = 'streaming'")));

        // a client writes to a until the partition stops it
        AtomicInteger acked = new AtomicInteger();
        AtomicReference<Instant> lastAck = new AtomicReference<>();
        AtomicBoolean stop = new AtomicBoolean();
        Thread writer = new Thread(
                () -> {
                    try (Connection c = connect(ISOLATED, pgA, 10);
                            Statement st = c.createStatement()) {
                        for (int id = 1; !stop.get(); id++) {
                            st.execute("INSERT INTO t VALUES (" + id + ", 'client')");
                            acked.incrementAndGet();
                            lastAck.set(Instant.now());
                            Thread.sleep(20);
                        }
                    } catch (Exception e) {
                        // the partition (or the fence) stopped the client
                    }
                },
                "writer");
        writer.start();
        await("the client's writes", T, () -> acked.get() > 10);

        Instant cut = Instant.now();
        partition();
        // each probe is a test write; the invariant is on commit times: a's last write it took
        // (before its probe returned) precedes the first write b or c took (after its probe began)
        Instant aLastWrite = null;
        Instant newPrimaryFirstWrite = null;
        String newPrimary = null;
        List<String> samples = new ArrayList<>();
        Instant deadline = cut.plus(T);
        int probe = 0;
        while (Instant.now().isBefore(deadline)) {
            probe++;
            boolean a = writableInNamespace(pgA, probe);
            Instant aEnd = Instant.now();
            Instant bStart = Instant.now();
            boolean b = writable(HOST, pgB, probe);
            Instant cStart = Instant.now();
            boolean c = writable(HOST, pgC, probe);
            samples.add(Duration.between(cut, aEnd).toMillis() + "ms a=" + a + " b=" + b + " c=" + c);
            assertThat((a ? 1 : 0) + (b ? 1 : 0) + (c ? 1 : 0))
                    .as("primaries taking writes at once, %s", samples)
                    .isLessThanOrEqualTo(1);
            if (a) {
                aLastWrite = aEnd;
                assertThat(newPrimary)
                        .as("a took a write after %s had, %s", newPrimary, samples)
                        .isNull();
            }
            if ((b || c) && newPrimary == null) {
                newPrimary = b ? "b" : "c";
                newPrimaryFirstWrite = b ? bStart : cStart;
            }
            if (b && c) {
                throw new AssertionError("b and c both took writes: " + samples);
            }
            if (newPrimary != null && !(b ? "b" : c ? "c" : newPrimary).equals(newPrimary)) {
                throw new AssertionError("the primary moved from " + newPrimary + ": " + samples);
            }
            if (newPrimary != null
                    && Duration.between(newPrimaryFirstWrite, Instant.now()).toSeconds() >= 5) {
                break; // the new primary has run for a while beside the partitioned old one
            }
            Thread.sleep(200);
        }
        assertThat(newPrimary).as("b or c became the primary, %s", samples).isNotNull();
        assertThat(aLastWrite)
                .as("a took writes in the partition, until its lock ran out, %s", samples)
                .isNotNull();
        assertThat(aLastWrite)
                .as("a's last write precedes the new primary's first, %s", samples)
                .isBefore(newPrimaryFirstWrite);
        assertThat(Duration.between(cut, aLastWrite))
                .as("a stops within the ttl, %s", samples)
                .isLessThan(Duration.ofSeconds(TTL));
        assertThat(lastAck.get()).as("the client's last acknowledged write").isBefore(newPrimaryFirstWrite);
        stop.set(true);
        writer.join(TimeUnit.SECONDS.toMillis(30));
        System.out.printf(
                "SafetyPartitionIT: a took its last write %d ms after the cut, %s its first %d ms after%n",
                Duration.between(cut, aLastWrite).toMillis(),
                newPrimary,
                Duration.between(cut, newPrimaryFirstWrite).toMillis());

        heal();
        String primary = newPrimary;
        int pgNew = "b".equals(primary) ? pgB : pgC;
        await(
                "a to rejoin as a replica streaming from " + primary,
                T,
                () -> "1"
                        .equals(
                                scalar(
                                        HOST,
                                        pgNew,
                                        "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'a' AND state = 'streaming'")));
        assertThat(inRecovery(ISOLATED, pgA)).as("a is a replica").isTrue();
        assertThat(inRecovery(HOST, pgNew)).as(primary + " is the primary").isFalse();
        int other = "b".equals(primary) ? pgC : pgB;
        assertThat(inRecovery(HOST, other)).as("the third member is a replica").isTrue();
        exec(HOST, pgNew, "INSERT INTO t VALUES (-1, 'after the heal')");
        await(
                "the write after the heal on a",
                T,
                () -> "1".equals(scalar(ISOLATED, pgA, "SELECT count(*) FROM t WHERE id = -1")));
    }

    // ---------------------------------------------------------------- the network

    /** The namespace, the veth pair between it and the host, and the addresses of both ends. */
    private void network() {
        sh("ip", "netns", "add", ns);
        nsCreated = true;
        sh("ip", "link", "add", vethHost, "type", "veth", "peer", "name", vethNs);
        sh("ip", "link", "set", vethNs, "netns", ns);
        sh("ip", "addr", "add", HOST + "/30", "dev", vethHost);
        sh("ip", "link", "set", vethHost, "up");
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", ISOLATED + "/30", "dev", vethNs);
        sh("ip", "netns", "exec", ns, "ip", "link", "set", vethNs, "up");
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
    }

    private void partition() {
        sh("ip", "netns", "exec", ns, "iptables", "-I", "INPUT", "-i", vethNs, "-j", "DROP");
        sh("ip", "netns", "exec", ns, "iptables", "-I", "OUTPUT", "-o", vethNs, "-j", "DROP");
    }

    private void heal() {
        // -D of a rule that is not there fails: ignore that
        run("ip", "netns", "exec", ns, "iptables", "-D", "INPUT", "-i", vethNs, "-j", "DROP");
        run("ip", "netns", "exec", ns, "iptables", "-D", "OUTPUT", "-o", vethNs, "-j", "DROP");
    }

    // ---------------------------------------------------------------- the processes

    private String startEtcd() throws Exception {
        int client = freePort();
        int peer = freePort();
        Path dir = base.resolve("etcd");
        Files.createDirectories(dir);
        String clientUrl = "http://" + HOST + ":" + client;
        String peerUrl = "http://127.0.0.1:" + peer;
        etcd = new ProcessBuilder(
                        EtcdServer.BINARY.toString(),
                        "--name",
                        "partition",
                        "--data-dir",
                        dir.resolve("data").toString(),
                        "--listen-client-urls",
                        clientUrl,
                        "--advertise-client-urls",
                        clientUrl,
                        "--listen-peer-urls",
                        peerUrl,
                        "--initial-advertise-peer-urls",
                        peerUrl,
                        "--initial-cluster",
                        "partition=" + peerUrl,
                        "--initial-cluster-state",
                        "new")
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("etcd.log").toFile())
                .start();
        await("etcd to serve", T, () -> {
            try (var s = new java.net.Socket(HOST, client)) {
                return true;
            }
        });
        return HOST + ":" + client;
    }

    /**
     * One member: {@code pgha run} from the shaded jar (a JVM of its own, the fence wired by the
     * runner), with PostgreSQL and the REST API on the given address, a's inside its namespace.
     */
    private void agent(String name, String host, int pgPort, String etcdHost, boolean isolated) throws Exception {
        Path dir = base.resolve(name);
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        dataDirs.add(dir.resolve("data"));
        int apiPort = freePort();
        Path yaml = dir.resolve("pgha.yml");
        Files.writeString(
                yaml,
                "scope: safety-partition\n"
                        + "namespace: /service/\n"
                        + "name: " + name + "\n"
                        + "restapi:\n"
                        + "  listen: " + host + ":" + apiPort + "\n"
                        + "  connect_address: " + host + ":" + apiPort + "\n"
                        + "etcd3:\n"
                        + "  hosts: " + etcdHost + "\n"
                        + "bootstrap:\n"
                        + "  dcs:\n"
                        + "    ttl: " + TTL + "\n"
                        + "    loop_wait: 2\n"
                        + "    retry_timeout: 3\n"
                        + "    maximum_lag_on_failover: 1099511627776\n"
                        + "    postgresql:\n"
                        + "      use_pg_rewind: true\n"
                        + "      use_slots: true\n"
                        + "  initdb:\n"
                        + "    - encoding: UTF8\n"
                        + "    - data-checksums\n"
                        + "postgresql:\n"
                        + "  listen: " + host + ":" + pgPort + "\n"
                        + "  connect_address: " + host + ":" + pgPort + "\n"
                        + "  data_dir: " + dir.resolve("data") + "\n"
                        + "  pgpass: " + dir.resolve("pgpass") + "\n"
                        + "  authentication:\n"
                        + "    superuser:\n"
                        + "      username: postgres\n"
                        + "      password: " + PASSWORD + "\n"
                        + "    replication:\n"
                        + "      username: replicator\n"
                        + "      password: repl-secret\n"
                        + "  parameters:\n"
                        + "    max_connections: 30\n"
                        + "    shared_buffers: 16MB\n"
                        + "    fsync: 'off'\n"
                        + "  use_pg_rewind: true\n");
        Path log = base.resolve(name + "-pgha.log");
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>();
        if (isolated) {
            cmd.addAll(List.of("ip", "netns", "exec", ns)); // exec()s java: the PID is the JVM's
        }
        // java.io.tmpdir: the runner puts the fence's script and log there, inside this test's directory
        cmd.addAll(List.of(
                java, "-Djava.io.tmpdir=" + base, "-jar", JAR.toAbsolutePath().toString(), "run", yaml.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("PATRONI_") || k.startsWith("PGHA_"));
        pb.environment().put("MALLOC_ARENA_MAX", "2");
        agents.add(pb.start());
    }

    // ---------------------------------------------------------------- probes

    /** a's PostgreSQL, from inside its namespace: takes a test write within a few seconds. */
    private boolean writableInNamespace(int port, int probe) {
        try {
            ProcessBuilder pb = new ProcessBuilder(
                            "ip",
                            "netns",
                            "exec",
                            ns,
                            psql.toString(),
                            "-X",
                            "-q",
                            "-t",
                            "-A",
                            "-v",
                            "ON_ERROR_STOP=1",
                            "-c",
                            "SET statement_timeout = '3s'",
                            "-c",
                            "INSERT INTO t VALUES (" + (1_000_000 + probe) + ", 'probe a') RETURNING 'ok'",
                            "host=" + ISOLATED + " port=" + port + " user=postgres dbname=postgres connect_timeout=3")
                    .redirectErrorStream(true);
            pb.environment().put("PGPASSWORD", PASSWORD);
            Process p = pb.start();
            if (!p.waitFor(8, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            String o = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return p.exitValue() == 0 && o.contains("ok");
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    /** b's or c's PostgreSQL: takes a test write. */
    private static boolean writable(String host, int port, int probe) {
        try (Connection c = connect(host, port, 3);
                Statement st = c.createStatement()) {
            st.execute("SET statement_timeout = '3s'");
            st.execute("INSERT INTO t VALUES (" + (2_000_000 + port % 1000 * 1000 + probe) + ", 'probe')");
            return true;
        } catch (Exception e) {
            return false; // in recovery, restarting or stopped
        }
    }

    // ---------------------------------------------------------------- helpers

    /** Runs a command that must succeed. */
    private static void sh(String... cmd) {
        int rc = run(cmd);
        if (rc != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " exited with " + rc);
        }
    }

    private static int run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return -1;
            }
            return p.exitValue();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static String out(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String o = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(30, TimeUnit.SECONDS);
        return o;
    }

    private static boolean onPath(String cmd) {
        for (String dir : (System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin").split(":", -1)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, cmd))) {
                return true;
            }
        }
        return false;
    }
}
