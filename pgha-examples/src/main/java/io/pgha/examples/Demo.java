package io.pgha.examples;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * {@code pgha demo}: a three-node cluster on this machine with nothing installed but the JDK and
 * PostgreSQL's binaries. A DCS that needs no install (etcd when {@code /usr/bin/etcd} is there,
 * else an embedded ZooKeeper server), three {@code pgha run} processes with real PostgreSQL on
 * free loopback ports, data in a temporary directory (or {@code --dir}). It prints the cluster
 * table, the connection strings and how to try a failover, then the table again whenever it
 * changes. Ctrl-C stops every process it started, by PID, and leaves the data directory.
 */
final class Demo {

    /** Set when Ctrl-C arrived: the watcher stops printing while the nodes stop. */
    private static volatile boolean stopping;

    private Demo() {}

    /** {@code pgha demo}, its command line parsed (and checked) by {@link Commands.DemoCmd}. */
    static int main(Path dir, String dcsType, int nodes, PrintStream out, PrintStream err) {
        Logging.configure("WARNING", false);
        LocalCluster.Timings timings = new LocalCluster.Timings(10, 2, 3);
        if (!hasPostgres()) {
            err.println("pgha demo: PostgreSQL's server binaries are not installed (looked for initdb in"
                    + " /usr/lib/postgresql/*/bin and on PATH): apt-get install postgresql");
            return 1;
        }
        try {
            if (dir == null) {
                dir = Files.createTempDirectory("pgha-demo-");
            }
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            return run(dir.toAbsolutePath(), dcsType, nodes, timings, out, err);
        } catch (IOException e) {
            err.println("pgha demo: " + e.getMessage());
            return 1;
        }
    }

    private static int run(
            Path dir, String dcsType, int nodes, LocalCluster.Timings timings, PrintStream out, PrintStream err)
            throws IOException {
        if (Files.exists(dir.resolve("pg0.yml"))) {
            err.println("pgha demo: " + dir + " already holds a demo cluster; give another --dir or remove it");
            return 2;
        }
        Ports ports = new Ports();
        out.println("pgha demo: starting a " + nodes + "-node cluster in " + dir);
        LocalDcs dcs = LocalDcs.start(dcsType, dir, ports);
        out.println("  DCS: " + dcs.describe());
        LocalCluster cluster;
        try {
            cluster = new LocalCluster(dir, "demo", nodes, dcs, timings, ports, null);
        } catch (IOException | RuntimeException e) {
            dcs.close();
            throw e;
        }
        Thread hook = new Thread(
                () -> {
                    stopping = true;
                    out.println();
                    out.println("pgha demo: stopping the nodes (a clean shutdown of each) and the DCS ...");
                    cluster.close();
                    try {
                        dcs.close();
                    } catch (IOException e) {
                        err.println("pgha demo: stopping the DCS: " + e.getMessage());
                    }
                    out.println("pgha demo: stopped; the data stays in " + dir);
                    out.flush();
                },
                "pgha-demo-stop");
        Runtime.getRuntime().addShutdownHook(hook);

        cluster.startAll();
        for (LocalCluster.Member m : cluster.members()) {
            out.println("  " + m.name + ": runner pid " + m.runnerPid().orElse(-1L) + ", REST API " + m.apiUrl()
                    + ", PostgreSQL 127.0.0.1:" + m.pgPort + ", log " + m.log);
        }
        out.println("waiting for the cluster to bootstrap (initdb, then two clones) ...");
        LocalCluster.Member leader;
        try {
            leader = cluster.awaitHealthy(Duration.ofMinutes(4));
        } catch (IOException e) {
            err.println("pgha demo: " + e.getMessage());
            return 1;
        }
        out.println();
        out.print(cluster.table());
        out.println();
        printHowTo(cluster, leader, out);
        watch(cluster, out);
        return 0;
    }

    private static void printHowTo(LocalCluster cluster, LocalCluster.Member leader, PrintStream out) {
        String pw = cluster.password();
        out.println("Connect (password " + pw + ", also in each node's YAML file):");
        out.println("  primary:  psql 'postgresql://postgres:" + pw + "@127.0.0.1:" + leader.pgPort + "/postgres'");
        for (LocalCluster.Member m : cluster.members()) {
            if (m != leader) {
                out.println("  replica:  psql 'postgresql://postgres:" + pw + "@127.0.0.1:" + m.pgPort + "/postgres'");
            }
        }
        String hosts = String.join(
                ",",
                cluster.members().stream().map(m -> "127.0.0.1:" + m.pgPort).toList());
        out.println("  any node, read-write: psql 'postgresql://postgres:" + pw + "@" + hosts
                + "/postgres?target_session_attrs=read-write'");
        out.println("  JDBC, follows the primary: " + cluster.primaryJdbcUrl());
        out.println();
        Path yml = cluster.member(leader.name).yaml;
        out.println("Try a failover:");
        out.println("  bin/pgha ctl -c " + yml + " list");
        out.println("  bin/pgha ctl -c " + yml + " switchover        (a planned switchover)");
        out.println("  curl -s -XPOST " + leader.apiUrl() + "/switchover -d '{\"leader\":\"" + leader.name + "\"}'");
        out.println("  kill " + leader.runnerPid().orElse(-1L) + "              (SIGTERM: " + leader.name
                + " hands over at once and stops)");
        out.println("  kill -9 " + leader.runnerPid().orElse(-1L) + " "
                + leader.postmasterPid().orElse(-1L)
                + "   (the node lost: runner and postmaster; a replica takes over within ttl)");
        out.println("  curl -s " + leader.apiUrl() + "/cluster");
        out.println();
        out.println("The table below is printed again whenever it changes. Ctrl-C stops everything.");
    }

    /** Prints the table whenever the members' roles or states change; restarts nothing by itself. */
    private static void watch(LocalCluster cluster, PrintStream out) {
        String last = "";
        while (!stopping) {
            JsonNode view = cluster.clusterView();
            if (stopping) {
                return;
            }
            String summary = summary(view, cluster);
            if (!summary.equals(last)) {
                if (!last.isEmpty()) {
                    out.println(java.time.LocalTime.now(ZoneId.systemDefault()).withNano(0) + " the cluster changed:");
                    out.print(cluster.table());
                    for (LocalCluster.Member m : cluster.members()) {
                        if (!m.isRunning() && !summary.contains(m.name + ":")) {
                            out.println("  " + m.name + " is not running; start it again with: bin/pgha run " + m.yaml);
                        }
                    }
                }
                last = summary;
            }
            LocalCluster.sleep(1000);
        }
    }

    private static String summary(JsonNode view, LocalCluster cluster) {
        if (view == null) {
            return "none";
        }
        List<String> parts = new ArrayList<>();
        for (JsonNode m : view.get("members")) {
            parts.add(m.path("name").asText() + ":" + m.path("role").asText() + ":"
                    + m.path("state").asText() + ":" + m.path("timeline").asText());
        }
        for (LocalCluster.Member m : cluster.members()) {
            parts.add(m.name + (m.isRunning() ? "+" : "-"));
        }
        parts.add(view.has("scheduled_switchover") ? "sched" : "");
        parts.add(view.path("pause").asText());
        return String.join(",", parts);
    }

    static boolean hasPostgres() {
        Path debian = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(debian)) {
            try (Stream<Path> s = Files.list(debian)) {
                if (s.anyMatch(p -> Files.isExecutable(p.resolve("bin/initdb")))) {
                    return true;
                }
            } catch (IOException e) {
                // fall through to PATH
            }
        }
        String path = Optional.ofNullable(System.getenv("PATH")).orElse("");
        for (String d : path.split(":", -1)) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, "initdb"))) {
                return true;
            }
        }
        return false;
    }
}
