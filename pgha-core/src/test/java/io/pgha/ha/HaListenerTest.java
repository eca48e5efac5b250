package io.pgha.ha;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.Failover;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Embedders' events, Patroni's callbacks and the Micrometer meters, on nodes in simulated time. */
class HaListenerTest {

    static final class Recorder implements HaListener {
        final List<String> events = new CopyOnWriteArrayList<>();

        @Override
        public void roleChanged(String from, String to) {
            events.add("role " + from + "->" + to);
        }

        @Override
        public void leaderChanged(String from, String to) {
            events.add("leader " + from + "->" + to);
        }

        @Override
        public void failoverHappened(String previousLeader, String newLeader) {
            events.add("failover " + previousLeader + "->" + newLeader);
        }

        @Override
        public void aboutToDemote(String reason) {
            events.add("demote " + reason);
        }

        @Override
        public void postgresStopped(String role) {
            events.add("stopped " + role);
        }

        @Override
        public void postgresStarted(String role) {
            events.add("started " + role);
        }
    }

    private final Map<String, Recorder> recorders = new java.util.LinkedHashMap<>();

    private SimCluster three() {
        SimCluster sim = SimCluster.withDefaults("events");
        for (String n : List.of("pg0", "pg1", "pg2")) {
            Recorder r = new Recorder();
            recorders.put(n, r);
            sim.start(n).addListener(r);
        }
        assertThat(sim.runUntil(
                        () -> sim.leader() != null
                                && sim.isStreamingReplica(other(sim, 0))
                                && sim.isStreamingReplica(other(sim, 1)),
                        Duration.ofSeconds(60)))
                .isTrue();
        sim.runFor(Duration.ofSeconds(5)); // every node has seen the leader
        return sim;
    }

    private static String other(SimCluster sim, int i) {
        return List.of("pg0", "pg1", "pg2").stream()
                .filter(n -> !n.equals(sim.leader()))
                .toList()
                .get(i);
    }

    @Test
    void switchoverEventsOnBothSides() throws Exception {
        SimCluster sim = three();
        String old = sim.leader();
        String candidate = other(sim, 0);
        assertThat(recorders.get(old).events).contains("role uninitialized->primary", "leader null->" + old);
        sim.observer().writeFailover(Failover.of(old, candidate, null), Dcs.ABSENT);
        assertThat(sim.runUntil(
                        () -> candidate.equals(sim.leader()) && sim.isStreamingReplica(old), Duration.ofSeconds(60)))
                .isTrue();
        assertThat(recorders.get(old).events)
                .containsSubsequence(
                        "demote switchover",
                        "stopped primary",
                        "role primary->stopped",
                        "started replica",
                        "role stopped->replica");
        assertThat(recorders.get(old).events).contains("failover " + old + "->" + candidate);
        assertThat(recorders.get(candidate).events).containsSubsequence("role replica->primary");
        assertThat(recorders.get(candidate).events).contains("failover " + old + "->" + candidate);
        String third = other(sim, 1).equals(candidate) ? other(sim, 0) : other(sim, 1);
        assertThat(recorders.get(third).events)
                .filteredOn(e -> e.startsWith("failover"))
                .hasSize(1);
    }

    @Test
    void aFailingListenerNeverStopsTheLoop() {
        SimCluster sim = SimCluster.withDefaults("throwing");
        HaNode node = sim.start("pg0");
        node.addListener(new HaListener() {
            @Override
            public void roleChanged(String from, String to) {
                throw new IllegalStateException("listener bug");
            }
        });
        assertThat(sim.runUntil(
                        () -> "pg0".equals(sim.leader()) && sim.pg("pg0").isRunningPrimary(), Duration.ofSeconds(30)))
                .isTrue();
        sim.runFor(Duration.ofSeconds(20));
        assertThat(node.state().holdsLock()).isTrue();
    }

    @Test
    void patroniCallbacksRunWithActionRoleAndScope(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("calls.txt");
        Path script = dir.resolve("callback.sh");
        Files.writeString(script, "#!/bin/sh\necho \"$@\" >> " + out + "\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        PatroniCallbacks callbacks = new PatroniCallbacks(
                Map.of("on_start", script.toString(), "on_role_change", script.toString()), "demo", 10);
        callbacks.postgresStarted("replica");
        callbacks.roleChanged("replica", "primary");
        callbacks.postgresStopped("primary"); // not configured: nothing runs
        assertThat(Files.readAllLines(out)).containsExactly("on_start replica demo", "on_role_change primary demo");
    }

    @Test
    void aHungCallbackIsKilledWithItsChildrenAtTheTimeoutAndLaterOnesRun(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("calls.txt");
        Path childPid = dir.resolve("child.pid");
        Path hung = dir.resolve("hung.sh");
        // a child that holds the output pipe open, then a foreground sleep that never ends
        Files.writeString(
                hung, "#!/bin/sh\necho starting\nsleep 1000 &\necho $! > " + childPid + "\nexec sleep 1000\n");
        Path ok = dir.resolve("ok.sh");
        Files.writeString(ok, "#!/bin/sh\necho \"$@\" >> " + out + "\n");
        for (Path script : List.of(hung, ok)) {
            Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        }
        PatroniCallbacks callbacks =
                new PatroniCallbacks(Map.of("on_start", hung.toString(), "on_role_change", ok.toString()), "demo", 1);
        long started = System.nanoTime();
        int code = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                Duration.ofSeconds(20), () -> callbacks.run("on_start", "replica"));
        assertThat(code).isEqualTo(-1);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(15));
        long child = Long.parseLong(Files.readString(childPid).strip());
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (ProcessHandle.of(child).map(ProcessHandle::isAlive).orElse(false) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(ProcessHandle.of(child).map(ProcessHandle::isAlive).orElse(false))
                .as("the callback's child process was killed")
                .isFalse();
        callbacks.roleChanged("replica", "primary");
        assertThat(Files.readAllLines(out)).containsExactly("on_role_change primary demo");
    }

    @Test
    void anUnknownCallbackIsAClearError() {
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> new PatroniCallbacks(Map.of("on_promote", "x"), "demo", 5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("postgresql.callbacks.on_promote");
    }

    @Test
    void micrometerMeters() {
        SimCluster sim = SimCluster.withDefaults("metrics");
        HaNode node = sim.start("pg0");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        PghaMetrics.bind(registry, node);
        assertThat(sim.runUntil(
                        () -> "pg0".equals(sim.leader()) && sim.pg("pg0").isRunningPrimary(), Duration.ofSeconds(30)))
                .isTrue();
        sim.runFor(Duration.ofSeconds(3));
        // Patroni's names, the same table as GET /metrics
        assertThat(registry.get("patroni_primary").tag("name", "pg0").gauge().value())
                .isEqualTo(1.0);
        assertThat(registry.get("patroni_postgres_running").gauge().value()).isEqualTo(1.0);
        assertThat(registry.get("patroni_xlog_location").gauge().value()).isGreaterThan(0);
        assertThat(registry.get("patroni_cluster_unlocked").gauge().value()).isEqualTo(0.0);
        assertThat(registry.get("patroni_replica").gauge().value()).isEqualTo(0.0);
        assertThat(registry.find("patroni_primary").gauges()).hasSize(1);
        assertThat(registry.getMeters().stream().map(m -> m.getId().getName()).filter(n -> n.startsWith("patroni_")))
                .hasSize(io.pgha.api.PatroniMetrics.all().size());
    }
}
