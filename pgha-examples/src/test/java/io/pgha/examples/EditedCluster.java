package io.pgha.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.function.UnaryOperator;

/**
 * Three {@code pgha run} processes on a fresh etcd, each member's Patroni YAML edited before it
 * starts (a setting under test added to the file the runner writes). {@link #close} stops the
 * runners by PID, then etcd, and removes the directory unless {@code -Dpgha.e2e.keep=true}.
 */
final class EditedCluster implements AutoCloseable {
    final Path dir;
    final LocalDcs dcs;
    final LocalCluster cluster;

    private EditedCluster(Path dir, LocalDcs dcs, LocalCluster cluster) {
        this.dir = dir;
        this.dcs = dcs;
        this.cluster = cluster;
    }

    /** A traversable temporary directory for {@link #start} (its files may be named in the edit). */
    static Path newDirectory(String prefix) throws IOException {
        Path dir = Files.createTempDirectory(prefix);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        return dir;
    }

    /** Starts the cluster in {@code dir} and waits until it is healthy. */
    static EditedCluster start(Path dir, String scope, UnaryOperator<String> edit) throws IOException {
        Ports ports = new Ports();
        LocalDcs dcs = LocalDcs.start("etcd3", dir, ports);
        EditedCluster c = new EditedCluster(dir, dcs, null);
        try {
            LocalCluster cluster = new LocalCluster(
                    dir, scope, 3, dcs, E2eCluster.TIMINGS, ports, LocalCluster.jarLauncher(E2eCluster.JAR));
            c = new EditedCluster(dir, dcs, cluster);
            for (LocalCluster.Member m : cluster.members()) {
                Files.writeString(m.yaml, edit.apply(Files.readString(m.yaml)));
            }
            cluster.startAll();
            cluster.awaitHealthy(Duration.ofMinutes(3));
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    @Override
    public void close() {
        if (cluster != null) {
            cluster.close();
        }
        try {
            dcs.close();
        } catch (IOException e) {
            System.err.println("could not stop the DCS: " + e.getMessage());
        }
        if (!Boolean.getBoolean("pgha.e2e.keep")) {
            try (java.util.stream.Stream<Path> walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder())
                        .forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                System.err.println("could not remove " + dir + ": " + e.getMessage());
            }
        }
    }
}
