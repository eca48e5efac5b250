package io.pgha.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code pgha bench}: failover figures on a three-node cluster on this machine, with a client
 * inserting every 20 ms (directly through pgjdbc's multi-host URL, and through HAProxy when it is
 * installed) and recording every acknowledged insert. Per trial: node loss (kill -9 of runner and
 * postmaster at a random point of the loop) to the first write acknowledged by the new primary;
 * the killed node's rejoin; a switchover's write gap (POST /switchover); acknowledged writes
 * lost; a freeze (SIGSTOP of the primary's runner and of everything it started but PostgreSQL for
 * ttl + 20 s, with a client writing to every PostgreSQL port directly): the time two servers both
 * acknowledged writes, acknowledged writes lost, the first write on the new primary, the heal after
 * SIGCONT. Before that, the idle RSS and CPU of the runners. Prints min / median / max.
 */
final class Bench {

    private final PrintStream out;
    private final Map<String, List<Double>> figures = new LinkedHashMap<>();
    private final Random random = new Random();

    private final String impl;

    private Bench(PrintStream out, String impl) {
        this.out = out;
        this.impl = impl;
    }

    /** {@code pgha bench}, its command line parsed (and checked) by {@link Commands.BenchCmd}. */
    static int main(
            int trials,
            int idleSeconds,
            int interval,
            int[] t,
            String dcsType,
            String impl,
            Set<String> cases,
            Path dir,
            PrintStream out,
            PrintStream err) {
        Logging.configure("WARNING", false);
        if (!Demo.hasPostgres()) {
            err.println("pgha bench: PostgreSQL's server binaries are not installed: apt-get install postgresql");
            return 1;
        }
        try {
            boolean temporary = dir == null;
            if (temporary) {
                dir = Files.createTempDirectory("pgha-bench-");
            }
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            int rc = new Bench(out, impl)
                    .run(
                            dir,
                            dcsType,
                            new LocalCluster.Timings(t[0], t[1], t[2]),
                            trials,
                            idleSeconds,
                            interval,
                            cases);
            if (temporary && rc == 0) {
                // three data directories and etcd's: hundreds of MB a run; a failed run keeps them
                // (and --dir always does) for a look at the runners' logs
                deleteTree(dir);
            } else {
                out.println("pgha bench: the cluster's directory (runner logs pgN/pgha.log) is kept in " + dir);
            }
            return rc;
        } catch (IOException | SQLException e) {
            err.println("pgha bench: " + e.getMessage());
            return 1;
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (java.util.stream.Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** What a trial runs, in this order; {@code --cases} picks some. */
    private static final String[] CASES = {"switchover", "node-loss", "freeze"};

    static Set<String> cases(String list) {
        Set<String> picked = new java.util.HashSet<>();
        for (String c : list.split(",", -1)) {
            if (!List.of(CASES).contains(c.strip())) {
                throw new IllegalArgumentException(
                        "--cases: unknown case '" + c.strip() + "' (known: " + String.join(", ", CASES) + ")");
            }
            picked.add(c.strip());
        }
        return picked;
    }

    private int run(
            Path dir,
            String dcsType,
            LocalCluster.Timings timings,
            int trials,
            int idleSeconds,
            int interval,
            Set<String> cases)
            throws IOException, SQLException {
        Ports ports = new Ports();
        LocalDcs dcs = LocalDcs.start(dcsType, dir, ports);
        LocalCluster cluster = new LocalCluster(
                dir, "bench", 3, dcs, timings, ports, impl.equals("patroni") ? LocalCluster.PATRONI_LAUNCHER : null);
        HaProxy haproxy = HaProxy.installed() ? HaProxy.start(cluster, dir.resolve("haproxy"), ports) : null;
        Runnable stopAll = () -> {
            if (haproxy != null) {
                haproxy.close();
            }
            cluster.close();
            try {
                dcs.close();
            } catch (IOException e) {
                // stopping anyway
            }
        };
        Thread hook = new Thread(stopAll, "pgha-bench-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        out.println("pgha bench (" + impl + "): 3 nodes, " + dcs.describe() + ", " + timings + ", " + trials
                + " trials ("
                + String.join(
                        ", ", List.of(CASES).stream().filter(cases::contains).toList())
                + "), a write every " + interval + " ms"
                + (haproxy == null ? " (HAProxy not installed: direct only)" : "") + "; in " + dir);
        cluster.startAll();
        cluster.awaitHealthy(Duration.ofMinutes(4));
        out.print(cluster.table());

        idle(cluster, dcs, idleSeconds);
        // the freeze case has its own clients (one per port); the others share these two
        boolean probes = cases.contains("switchover") || cases.contains("node-loss");
        try (WriteProbe direct = probes ? probe(cluster, cluster.primaryJdbcUrl(), "bench_direct", interval) : null;
                WriteProbe viaProxy = probes && haproxy != null
                        ? probe(cluster, haproxy.readWriteJdbcUrl(), "bench_proxy", interval)
                        : null) {
            for (int i = 1; i <= trials; i++) {
                if (cases.contains("switchover")) {
                    switchover(cluster, direct, viaProxy, i);
                }
                if (cases.contains("node-loss")) {
                    nodeLoss(cluster, direct, viaProxy, timings, i);
                }
                if (cases.contains("freeze")) {
                    freeze(cluster, timings, interval, i);
                }
            }
        }
        printTable(timings, trials, interval, haproxy != null, dcs);
        // stop everything now rather than at exit, so that the directory can go
        Runtime.getRuntime().removeShutdownHook(hook);
        stopAll.run();
        return 0;
    }

    private static WriteProbe probe(LocalCluster c, String url, String table, int interval) throws SQLException {
        return new WriteProbe(url, LocalCluster.SUPERUSER, c.password(), table, interval);
    }

    private void idle(LocalCluster cluster, LocalDcs dcs, int seconds) throws IOException {
        out.println(
                "measuring idle RSS and CPU of each runner, and the DCS's own counters, over " + seconds + " s ...");
        // let the cluster settle (the first cycles after the bootstrap write the keys)
        LocalCluster.sleep(cluster.timings().loopWait() * 1000L + 2000);
        String prefix = "/service/" + cluster.scope() + "/";
        Map<String, Long> versionsBefore = dcs.versions(prefix);
        Map<String, Double> before = dcs.counters();
        Map<LocalCluster.Member, long[]> start = new LinkedHashMap<>();
        for (LocalCluster.Member m : cluster.members()) {
            m.runnerPid().ifPresent(pid -> start.put(m, new long[] {pid, cpuTicks(pid)}));
        }
        long t0 = System.nanoTime();
        LocalCluster.sleep(seconds * 1000L);
        double elapsed = (System.nanoTime() - t0) / 1e9;
        Map<String, Double> after = dcs.counters();
        Map<String, Long> versionsAfter = dcs.versions(prefix);
        dcsFigures(dcs, before, after, elapsed, versionsBefore, versionsAfter, prefix);
        start.forEach((m, s) -> {
            long ticks = cpuTicks(s[0]) - s[1];
            record("idle runner CPU (%)", ticks / 100.0 / elapsed * 100.0);
            record("idle runner RSS (MB)", rssKb(s[0]) / 1024.0);
        });
    }

    /**
     * The DCS's requests per minute over the idle window, by kind, with bytes and the keys whose
     * version moved (written) in it: what three idle agents cost the store.
     */
    private void dcsFigures(
            LocalDcs dcs,
            Map<String, Double> before,
            Map<String, Double> after,
            double elapsed,
            Map<String, Long> versionsBefore,
            Map<String, Long> versionsAfter,
            String prefix) {
        double perMinute = 60.0 / elapsed;
        double total = 0;
        StringBuilder kinds = new StringBuilder();
        for (Map.Entry<String, Double> e : after.entrySet()) {
            double d = (e.getValue() - before.getOrDefault(e.getKey(), 0.0)) * perMinute;
            if (e.getKey().startsWith("requests ")) {
                total += d;
                if (d > 0) {
                    String kind = e.getKey().substring("requests ".length());
                    kinds.append(kinds.length() == 0 ? "" : ", ")
                            .append(kind)
                            .append(' ')
                            .append(f(d));
                    record("idle DCS requests / min, " + kind, d);
                }
            } else if (e.getKey().startsWith("bytes ")) {
                record("idle DCS " + e.getKey() + " / min (KB)", d / 1024);
            } else {
                record("idle DCS " + e.getKey() + " / min", d);
            }
        }
        record("idle DCS requests / min, 3 agents (" + dcs.type() + " counters)", total);
        java.util.Set<String> written = new java.util.TreeSet<>();
        versionsAfter.forEach((k, v) -> {
            if (!v.equals(versionsBefore.get(k))) {
                written.add(k.substring(Math.min(k.length(), prefix.length()))
                        + (versionsBefore.containsKey(k) ? "" : " (new)"));
            }
        });
        versionsBefore.keySet().stream()
                .filter(k -> !versionsAfter.containsKey(k))
                .forEach(k -> written.add(k.substring(Math.min(k.length(), prefix.length())) + " (gone)"));
        out.printf(
                "  idle DCS (%s, %s): %.0f requests/min (%s); keys written in the window: %s%n",
                impl, dcs.type(), total, kinds, written.isEmpty() ? "none" : String.join(", ", written));
    }

    /** Which server acknowledged the lost writes, and when, relative to the event at {@code t0}. */
    private void describeLost(String via, WriteProbe probe, Set<Long> lost, long t0) {
        if (lost.isEmpty()) {
            return;
        }
        Map<Integer, List<Double>> byPort = new java.util.TreeMap<>();
        for (WriteProbe.Ack a : probe.acks()) {
            if (lost.contains(a.id())) {
                byPort.computeIfAbsent(a.port(), p -> new ArrayList<>()).add((a.nanos() - t0) / 1e9);
            }
        }
        byPort.forEach((port, at) -> out.printf(
                "    lost %s: %d acknowledged by port %d between %+.2f s and %+.2f s%n",
                via, at.size(), port, java.util.Collections.min(at), java.util.Collections.max(at)));
    }

    private void switchover(LocalCluster cluster, WriteProbe direct, WriteProbe viaProxy, int trial)
            throws IOException, SQLException {
        LocalCluster.Member leader = cluster.awaitHealthy(Duration.ofMinutes(3));
        LocalCluster.sleep(2000);
        LocalCluster.Member candidate = cluster.members().stream()
                .filter(m -> m != leader && cluster.streamingReplicas().contains(m.name))
                .findFirst()
                .orElseThrow();
        long t0 = System.nanoTime();
        HttpResponse<String> r = cluster.send(
                leader,
                "POST",
                "/switchover",
                "{\"leader\":\"" + leader.name + "\",\"candidate\":\"" + candidate.name + "\"}");
        if (r.statusCode() != 200) {
            out.println("  switchover " + trial + ": " + r.statusCode() + " " + r.body());
            return;
        }
        direct.awaitAckAfter(t0, candidate.pgPort, 60_000);
        double gap = direct.gapMillis(leader.pgPort, candidate.pgPort, t0);
        record("switchover write gap, direct (s)", gap / 1000);
        String proxyText = "";
        if (viaProxy != null) {
            viaProxy.awaitAckAfter(t0, candidate.pgPort, 60_000);
            double g = viaProxy.gapMillis(leader.pgPort, candidate.pgPort, t0);
            record("switchover write gap, HAProxy (s)", g / 1000);
            proxyText = String.format(", %.2f s through HAProxy", g / 1000);
        }
        LocalCluster.sleep(500);
        long end = System.nanoTime();
        Set<Long> lost = direct.lostAcknowledged(end);
        Set<Long> lostViaProxy = viaProxy == null ? Set.of() : viaProxy.lostAcknowledged(end, direct);
        int lostCount = lost.size() + lostViaProxy.size();
        record("switchover: acknowledged writes lost", lostCount);
        describeLost("direct", direct, lost, t0);
        describeLost("HAProxy", viaProxy, lostViaProxy, t0);
        out.printf(
                "  switchover %d: %s -> %s, write gap %.2f s%s, lost %d%n",
                trial, leader.name, candidate.name, gap / 1000, proxyText, lostCount);
    }

    private void nodeLoss(
            LocalCluster cluster, WriteProbe direct, WriteProbe viaProxy, LocalCluster.Timings timings, int trial)
            throws IOException, SQLException {
        LocalCluster.Member leader = cluster.awaitHealthy(Duration.ofMinutes(3));
        LocalCluster.sleep(1000 + random.nextInt(timings.loopWait() * 1000 + 1));
        long t0 = System.nanoTime();
        cluster.kill9(leader);
        LocalCluster.Member next;
        Instant deadline = Instant.now().plusSeconds(timings.ttl() * 6L);
        Optional<LocalCluster.Member> found = Optional.empty();
        while (found.isEmpty() && Instant.now().isBefore(deadline)) {
            found = cluster.leader().filter(l -> l != leader);
            LocalCluster.sleep(50);
        }
        if (found.isEmpty()) {
            out.println("  node loss " + trial + ": no new leader within " + timings.ttl() * 6 + " s");
            cluster.start(leader);
            return;
        }
        next = found.get();
        WriteProbe.Ack first = direct.awaitAckAfter(t0, next.pgPort, 60_000);
        double s = first == null ? -1 : (first.nanos() - t0) / 1e9;
        record("node loss: kill to first write on the new primary, direct (s)", s);
        String proxyText = "";
        if (viaProxy != null) {
            WriteProbe.Ack p = viaProxy.awaitAckAfter(t0, next.pgPort, 60_000);
            double ps = p == null ? -1 : (p.nanos() - t0) / 1e9;
            record("node loss: kill to first write on the new primary, HAProxy (s)", ps);
            proxyText = String.format(", %.2f s through HAProxy", ps);
        }
        Set<Long> lost = direct.lostAcknowledged(t0);
        record("node loss: acknowledged writes lost (async replication)", lost.size());
        long restart = System.nanoTime();
        cluster.start(leader);
        Instant rejoinDeadline = Instant.now().plusSeconds(180);
        while (!cluster.streamingReplicas().contains(leader.name)
                && Instant.now().isBefore(rejoinDeadline)) {
            LocalCluster.sleep(100);
        }
        double rejoin = cluster.streamingReplicas().contains(leader.name) ? (System.nanoTime() - restart) / 1e9 : -1;
        record("rejoin after node loss: start to streaming (s)", rejoin);
        out.printf(
                "  node loss %d: %s killed, %s leads, first write after %.2f s%s, lost %d, rejoined in %.1f s%n",
                trial, leader.name, next.name, s, proxyText, lost.size(), rejoin);
    }

    /**
     * The primary's runner and everything it started but PostgreSQL (its fence is detached, so not
     * among them) stopped with SIGSTOP for ttl + 20 s while a client writes to each PostgreSQL port
     * directly, then SIGCONT: what a frozen VM's agent, a stuck cgroup or a debugger does.
     */
    private void freeze(LocalCluster cluster, LocalCluster.Timings timings, int interval, int trial)
            throws IOException, SQLException {
        LocalCluster.Member leader = cluster.awaitHealthy(Duration.ofMinutes(3));
        List<Integer> ports = cluster.members().stream().map(m -> m.pgPort).toList();
        PortWriters writers = new PortWriters(
                "127.0.0.1",
                ports,
                leader.pgPort,
                LocalCluster.SUPERUSER,
                cluster.password(),
                "bench_freeze",
                interval);
        List<Long> frozen = new ArrayList<>();
        double heal = -1;
        PortWriters.Ack first;
        long t0;
        try {
            long start = System.nanoTime();
            LocalCluster.sleep(1000 + random.nextInt(timings.loopWait() * 1000 + 1));
            frozen.addAll(treeButPostgres(leader.runnerPid().orElseThrow()));
            t0 = System.nanoTime();
            frozen.forEach(pid -> Processes.signal(pid, "STOP"));
            long thaw = t0 + TimeUnit.SECONDS.toNanos(timings.ttl() + 20L);
            first = null;
            while (System.nanoTime() < thaw) {
                if (first == null) {
                    first = writers.firstAckAfter(t0, leader.pgPort);
                }
                LocalCluster.sleep(20);
            }
            frozen.forEach(pid -> Processes.signal(pid, "CONT"));
            frozen.clear();
            long thawed = System.nanoTime();
            try {
                cluster.awaitHealthy(Duration.ofMinutes(3));
                heal = (System.nanoTime() - thawed) / 1e9;
            } catch (IOException e) {
                out.println("  freeze " + trial + ": " + e.getMessage());
            }
            LocalCluster.sleep(1000);
            writers.close();
            double dual = writers.dualAcknowledgementMillis(start);
            int lost = cluster.leader()
                    .map(l -> {
                        try {
                            return writers.lostAcknowledged(l.pgPort).size();
                        } catch (SQLException e) {
                            return -1;
                        }
                    })
                    .orElse(-1);
            double firstWrite = first == null ? -1 : (first.nanos() - t0) / 1e9;
            record("freeze: time two servers acknowledged writes (ms)", dual);
            record("freeze: acknowledged writes lost", lost);
            record("freeze: SIGSTOP to first write on the new primary (s)", firstWrite);
            record("freeze: heal after SIGCONT, to all streaming (s)", heal);
            out.printf(
                    "  freeze %d: %s frozen %d s, first write on port %s after %.2f s, two servers acknowledged"
                            + " for %.0f ms, lost %d, healed %.1f s after SIGCONT%n",
                    trial,
                    leader.name,
                    timings.ttl() + 20,
                    first == null ? "-" : Integer.toString(first.port()),
                    firstWrite,
                    dual,
                    lost,
                    heal);
        } finally {
            frozen.forEach(pid -> Processes.signal(pid, "CONT"));
            writers.close();
        }
    }

    /** A process and every process it started, PostgreSQL's (and what they started) excepted. */
    static List<Long> treeButPostgres(long pid) {
        List<Long> pids = new ArrayList<>();
        ProcessHandle.of(pid).ifPresent(h -> addUnlessPostgres(h, pids));
        return pids;
    }

    private static void addUnlessPostgres(ProcessHandle p, List<Long> pids) {
        String comm;
        try {
            comm = Files.readString(Path.of("/proc", Long.toString(p.pid()), "comm"))
                    .strip();
        } catch (IOException e) {
            return; // gone
        }
        if (comm.equals("postgres") || comm.equals("postmaster")) {
            return;
        }
        pids.add(p.pid());
        p.children().forEach(c -> addUnlessPostgres(c, pids));
    }

    private void record(String figure, double value) {
        figures.computeIfAbsent(figure, k -> new ArrayList<>()).add(value);
    }

    private void printTable(LocalCluster.Timings timings, int trials, int interval, boolean proxy, LocalDcs dcs) {
        out.println();
        out.println("pgha bench: " + timings + "; " + dcs.type() + "; " + trials + " trials; a write every " + interval
                + " ms" + (proxy ? "; HAProxy inter 1s fall 2 rise 1" : ""));
        String fmt = "| %-62s | %3s | %8s | %8s | %8s |%n";
        out.printf(fmt, "figure", "n", "min", "median", "max");
        out.printf(fmt, "-".repeat(62), "---", "--------", "--------", "--------");
        figures.forEach((name, values) -> {
            List<Double> v = values.stream().filter(x -> x >= 0).sorted().toList();
            int failed = values.size() - v.size();
            if (v.isEmpty()) {
                out.printf(fmt, name, "0", "-", "-", "-");
                return;
            }
            double median =
                    v.size() % 2 == 1 ? v.get(v.size() / 2) : (v.get(v.size() / 2 - 1) + v.get(v.size() / 2)) / 2;
            out.printf(
                    fmt,
                    name + (failed > 0 ? " (" + failed + " failed)" : ""),
                    v.size(),
                    f(v.get(0)),
                    f(median),
                    f(v.get(v.size() - 1)));
        });
    }

    private static String f(double v) {
        return v >= 100 ? String.format("%.0f", v) : v >= 10 ? String.format("%.1f", v) : String.format("%.2f", v);
    }

    /** utime + stime of a process, in clock ticks (USER_HZ, 100 on Linux). */
    static long cpuTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"), StandardCharsets.UTF_8);
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ", -1);
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** VmRSS of a process in kB. */
    static long rssKb(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone
        }
        return 0;
    }
}
