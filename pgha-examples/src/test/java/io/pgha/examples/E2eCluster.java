package io.pgha.examples;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;

/**
 * What an end-to-end test class shares: a DCS, three {@code pgha run} processes from the shaded
 * jar, HAProxy in front when installed. One per test class. Everything it starts is stopped by
 * PID in {@link #close()}, which a JVM shutdown hook also calls in case the test JVM is stopped.
 */
final class E2eCluster implements AutoCloseable {
    static final Path JAR = Path.of("target/pgha.jar");
    static final LocalCluster.Timings TIMINGS = new LocalCluster.Timings(10, 2, 3);

    final Path dir;
    final LocalDcs dcs;
    final LocalCluster cluster;
    final HaProxy haproxy;
    private final Thread hook;

    private E2eCluster(Path dir, LocalDcs dcs, LocalCluster cluster, HaProxy haproxy, Thread hook) {
        this.dir = dir;
        this.dcs = dcs;
        this.cluster = cluster;
        this.haproxy = haproxy;
        this.hook = hook;
    }

    static void assumeMachine(boolean needEtcd) {
        assumeTrue(
                Files.isRegularFile(JAR),
                "target/pgha.jar is missing: run the ITs through 'mvn verify'" + " (the package phase builds it)");
        assumeTrue(Demo.hasPostgres(), "PostgreSQL server binaries are missing: apt-get install postgresql");
        if (needEtcd) {
            assumeTrue(
                    Files.isExecutable(LocalDcs.ETCD), "etcd is missing (/usr/bin/etcd): apt-get install etcd-server");
        }
    }

    static E2eCluster start(String dcsType, String scope) throws IOException {
        Path dir = Files.createTempDirectory("pgha-e2e-" + dcsType + "-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Ports ports = new Ports();
        LocalDcs dcs = LocalDcs.start(dcsType, dir, ports);
        LocalCluster cluster = null;
        HaProxy haproxy = null;
        try {
            cluster = new LocalCluster(dir, scope, 3, dcs, TIMINGS, ports, LocalCluster.jarLauncher(JAR));
            if (HaProxy.installed()) {
                haproxy = HaProxy.start(cluster, dir.resolve("haproxy"), ports);
            } else {
                System.err.println("HAProxy is missing (" + HaProxy.BINARY + "): the HAProxy checks are skipped;"
                        + " apt-get install haproxy");
            }
            LocalCluster c = cluster;
            HaProxy h = haproxy;
            Thread hook = new Thread(() -> stopAll(c, h, dcs), "e2e-cluster-stop");
            Runtime.getRuntime().addShutdownHook(hook);
            cluster.startAll();
            cluster.awaitHealthy(Duration.ofMinutes(4));
            return new E2eCluster(dir, dcs, cluster, haproxy, hook);
        } catch (IOException | RuntimeException e) {
            stopAll(cluster, haproxy, dcs);
            throw e;
        }
    }

    private static void stopAll(LocalCluster cluster, HaProxy haproxy, LocalDcs dcs) {
        if (haproxy != null) {
            haproxy.close();
        }
        if (cluster != null) {
            cluster.close();
        }
        try {
            dcs.close();
        } catch (IOException e) {
            System.err.println("stopping the DCS: " + e);
        }
    }

    /** The multi-host URL that follows the primary. */
    String directUrl() {
        return cluster.primaryJdbcUrl();
    }

    /**
     * Stops everything, then removes the directory (PostgreSQL data, logs) unless
     * {@code -Dpgha.e2e.keep=true} asks to keep it for a post-mortem.
     */
    @Override
    public void close() {
        stopAll(cluster, haproxy, dcs);
        if (!Boolean.getBoolean("pgha.e2e.keep")) {
            try (java.util.stream.Stream<Path> walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder())
                        .forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                System.err.println("could not remove " + dir + ": " + e);
            }
        } else {
            System.err.println("kept " + dir);
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down and the hook runs anyway
        }
    }
}
