package io.pgha.ha;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.Failover;
import io.pgha.dcs.Member;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The simulation's standby-cluster mode: a remote primary with no agent (another site's primary,
 * taking writes), and a cluster of 2 to 4 real {@link HaNode}s with {@code standby_cluster}
 * pointing at it, under a fault schedule drawn from a seed (agents killed, frozen past the ttl and
 * thawed, nodes crashed or stopped and started again, links cut between members and to the remote
 * site, switchover requests). After every event: no member of the standby cluster runs as a
 * primary ("never a primary while standby_cluster is set"). After the heal: a standby leader
 * replicates from the remote primary and has every write it took; the key removed, exactly one
 * member promotes. {@code -Dpgha.sim.standby.seeds=N} runs N seeds (default 200) from
 * {@code -Dpgha.sim.seed} (default 1).
 */
class SimStandbyClusterTest {
    private static final int DEFAULT_SEEDS = 200;

    @Test
    void neverAPrimaryWhileStandbyClusterIsSet() {
        long first = Long.getLong("pgha.sim.seed", 1L);
        int count = Integer.getInteger("pgha.sim.standby.seeds", DEFAULT_SEEDS);
        Object quiet = SimLogs.silence();
        List<String> failures = new ArrayList<>();
        try {
            for (long seed = first; seed < first + count; seed++) {
                String failure = run(seed, false);
                if (failure != null) {
                    failures.add("seed " + seed + ": " + failure);
                    if (failures.size() == 1) {
                        runTraced(seed);
                    }
                }
            }
        } finally {
            SimLogs.restore(quiet);
        }
        System.out.println("standby cluster: " + count + " seeds, " + failures.size() + " failing");
        assertThat(failures).as(String.join("\n", failures)).isEmpty();
    }

    private static void runTraced(long seed) {
        Run r = new Run(seed, true);
        r.execute();
        r.sim.trace().forEach(l -> System.out.println("  " + l));
    }

    /** Null when the seed passes, else what failed first. */
    static String run(long seed, boolean trace) {
        return new Run(seed, trace).execute();
    }

    private static final class Run {
        final Random random;
        final SimCluster sim;
        final String remote;
        final List<String> names = new ArrayList<>();
        final Map<String, Object> dyn = new LinkedHashMap<>();
        String failure;

        Run(long seed, boolean trace) {
            random = new Random(seed);
            int profile = random.nextInt(3);
            dyn.put("ttl", new int[] {10, 20, 30}[profile]);
            dyn.put("loop_wait", new int[] {2, 3, 10}[profile]);
            dyn.put("retry_timeout", new int[] {3, 5, 10}[profile]);
            dyn.put("postgresql", Map.of("use_pg_rewind", true, "use_slots", true));
            dyn.put("standby_cluster", Map.of("host", "remote-site", "port", 5432));
            sim = new SimCluster("standby", dyn);
            sim.setTraceEnabled(trace);
            sim.net.setLagged(true);
            int maxAction = new int[] {0, 1000, 3000}[random.nextInt(3)];
            if (maxAction > 0) {
                sim.setActionDelays(new Random(random.nextLong()), maxAction);
            }
            remote = StandbyCluster.remote(DynamicConfig.from(dyn)).name();
            int members = 2 + random.nextInt(3);
            for (int i = 0; i < members; i++) {
                names.add("pg" + i);
            }
        }

        String execute() {
            try {
                sim.net.node(remote).bootstrap(); // the other site's primary, no agent of ours
            } catch (Exception e) {
                return "the remote primary did not start: " + e;
            }
            names.forEach(sim::start);
            if (!runChecked(this::standbyLeaderCaughtUp, Duration.ofMinutes(2))) {
                return failure != null ? failure : "no standby leader following the remote primary within 120 s";
            }
            Duration span = sim.ttl().multipliedBy(3 + random.nextInt(4));
            long spanMillis = span.toMillis();
            List<long[]> events = new ArrayList<>(); // [at, kind, member, duration]
            int count = 2 + random.nextInt(5);
            for (int i = 0; i < count; i++) {
                events.add(new long[] {
                    (long) (random.nextDouble() * spanMillis),
                    random.nextInt(7),
                    random.nextInt(names.size()),
                    (long) (sim.ttl().toMillis() * (0.5 + random.nextDouble() * 2))
                });
            }
            events.sort((a, b) -> Long.compare(a[0], b[0]));
            java.time.Instant start = sim.clock.instant();
            List<Runnable> heals = new ArrayList<>();
            for (long[] e : events) {
                if (!runCheckedUntil(start.plusMillis(e[0]))) {
                    return failure;
                }
                heals.add(fault((int) e[1], names.get((int) e[2])));
            }
            if (!runCheckedUntil(start.plus(span))) {
                return failure;
            }
            heals.forEach(Runnable::run);
            names.stream().filter(n -> !sim.isRunning(n) && !sim.isPaused(n)).forEach(sim::start);
            if (!runChecked(
                    this::standbyLeaderCaughtUp, sim.ttl().multipliedBy(4).plus(Duration.ofMinutes(1)))) {
                return failure != null ? failure : "after the heal, no standby leader has the remote's writes";
            }
            // the DR drill: remove standby_cluster, exactly one member promotes
            Map<String, Object> promoted = new LinkedHashMap<>(dyn);
            promoted.remove("standby_cluster");
            try {
                ClusterState c = sim.cluster();
                sim.observer().writeConfig(promoted, c.config().version());
            } catch (DcsException e) {
                return "could not write the config: " + e;
            }
            boolean one = sim.runUntil(
                    () -> members(sim.primaries()).size() == 1, sim.ttl().multipliedBy(3));
            if (!one) {
                return "no member promoted after standby_cluster was removed: " + members(sim.primaries());
            }
            sim.runFor(sim.loopWait().multipliedBy(3));
            if (members(sim.primaries()).size() != 1) {
                return "two primaries after the promotion: " + members(sim.primaries());
            }
            return null;
        }

        /** A fault now; returns its heal. */
        Runnable fault(int kind, String n) {
            switch (kind) {
                case 0 -> {
                    sim.killAgent(n);
                    return () -> {
                        if (!sim.isRunning(n)) {
                            sim.start(n);
                        }
                    };
                }
                case 1 -> {
                    sim.pause(n);
                    return () -> sim.resume(n, random.nextBoolean());
                }
                case 2 -> {
                    sim.killNode(n);
                    return () -> {
                        if (!sim.isRunning(n)) {
                            sim.start(n);
                        }
                    };
                }
                case 3 -> {
                    sim.cutLink(n, remote, true);
                    return () -> sim.cutLink(n, remote, false);
                }
                case 4 -> {
                    String other = names.get((names.indexOf(n) + 1) % names.size());
                    sim.cutLink(n, other, true);
                    return () -> sim.cutLink(n, other, false);
                }
                case 5 -> {
                    String leader = sim.leader();
                    if (leader != null) {
                        try {
                            ClusterState c = sim.cluster();
                            sim.observer()
                                    .writeFailover(
                                            Failover.of(leader, n.equals(leader) ? null : n, null),
                                            c.failover() == null
                                                    ? io.pgha.dcs.Dcs.ABSENT
                                                    : c.failover().version());
                        } catch (DcsException e) {
                            // the request is lost: nothing to heal
                        }
                    }
                    return () -> {};
                }
                default -> {
                    sim.stopNode(n);
                    return () -> {
                        if (!sim.isRunning(n)) {
                            sim.start(n);
                        }
                    };
                }
            }
        }

        /** The remote keeps taking writes; a standby leader follows it and has them all. */
        boolean standbyLeaderCaughtUp() {
            String leader = sim.leader();
            if (leader == null || !sim.isRunning(leader)) {
                return false;
            }
            SimulatedPostgres pg = sim.pg(leader);
            return pg.isRunning()
                    && !pg.isRunningPrimary()
                    && remote.equals(pg.upstream())
                    && pg.lsn() >= sim.pg(remote).lsn();
        }

        boolean runChecked(java.util.function.BooleanSupplier done, Duration limit) {
            java.time.Instant end = sim.clock.instant().plus(limit);
            while (sim.clock.instant().isBefore(end)) {
                if (!checked()) {
                    return false;
                }
                if (done.getAsBoolean()) {
                    return true;
                }
                sim.step();
            }
            return checked() && done.getAsBoolean();
        }

        boolean runCheckedUntil(java.time.Instant end) {
            while (sim.clock.instant().isBefore(end)) {
                if (!checked()) {
                    return false;
                }
                sim.step();
            }
            return checked();
        }

        /** The invariant, after every event; the remote primary takes a write now and then. */
        boolean checked() {
            if (random.nextInt(4) == 0) {
                sim.pg(remote).write(100);
                sim.net.stream();
            }
            List<String> primaries = members(sim.primaries());
            if (!primaries.isEmpty() && failure == null) {
                failure = "a member runs as a primary while standby_cluster is set: " + primaries + " at "
                        + sim.clock.instant();
            }
            return failure == null;
        }

        List<String> members(List<String> primaries) {
            List<String> m = new ArrayList<>(primaries);
            m.remove(remote);
            return m;
        }
    }

    @Test
    void theRemoteMemberRecordHasItsConnUrl() {
        Member remote = StandbyCluster.remote(
                DynamicConfig.from(Map.of("standby_cluster", Map.of("host", "remote-site", "port", 5432))));
        assertThat(remote.connUrl()).isEqualTo("postgres://remote-site:5432/postgres");
    }
}
