package io.pgha.postgres.local;

import io.pgha.postgres.PostgresException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the PostgreSQL binaries are: {@code postgresql.bin_dir} when set, else the newest
 * {@code /usr/lib/postgresql/<version>/bin} (Debian and Ubuntu), else {@code pg_config --bindir}.
 * Immutable.
 */
final class Binaries {

    private static final Logger LOG = LoggerFactory.getLogger(Binaries.class);
    private static final Path DEBIAN_ROOT = Path.of("/usr/lib/postgresql");

    private final Path dir;
    private final boolean configured;

    private Binaries(Path dir, boolean configured) {
        this.dir = dir;
        this.configured = configured;
    }

    static Binaries locate(Path configured) throws PostgresException {
        if (configured != null) {
            Binaries b = new Binaries(configured, true);
            b.path("postgres");
            LOG.info("PostgreSQL binaries from postgresql.bin_dir: {}", configured);
            return b;
        }
        Optional<Path> debian = newestDebian();
        if (debian.isPresent()) {
            LOG.info(
                    "PostgreSQL binaries: {} (newest under {}; set postgresql.bin_dir to choose)",
                    debian.get(),
                    DEBIAN_ROOT);
            return new Binaries(debian.get(), false);
        }
        Path fromPgConfig = pgConfigBindir();
        if (fromPgConfig != null) {
            LOG.info("PostgreSQL binaries: {} (pg_config --bindir)", fromPgConfig);
            return new Binaries(fromPgConfig, false);
        }
        throw new PostgresException("no PostgreSQL binaries found: postgresql.bin_dir is not set, there is no "
                + DEBIAN_ROOT + "/<version>/bin/postgres and no pg_config on the PATH");
    }

    private static Optional<Path> newestDebian() {
        if (!Files.isDirectory(DEBIAN_ROOT)) {
            return Optional.empty();
        }
        try (Stream<Path> versions = Files.list(DEBIAN_ROOT)) {
            return versions.filter(p -> p.getFileName().toString().matches("\\d+(\\.\\d+)?"))
                    .filter(p -> Files.isExecutable(p.resolve("bin/postgres")))
                    .max(Comparator.comparingDouble(
                            p -> Double.parseDouble(p.getFileName().toString())))
                    .map(p -> p.resolve("bin"));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static Path pgConfigBindir() {
        try {
            Process p = new ProcessBuilder("pg_config", "--bindir")
                    .redirectErrorStream(true)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0 && !out.isEmpty()) {
                Path dir = Path.of(out);
                return Files.isExecutable(dir.resolve("postgres")) ? dir : null;
            }
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return null;
    }

    Path dir() {
        return dir;
    }

    /** The path of binary {@code name}; a PostgresException naming postgresql.bin_dir when it is missing. */
    String path(String name) throws PostgresException {
        Path p = dir.resolve(name);
        if (!Files.isRegularFile(p) || !Files.isExecutable(p)) {
            throw new PostgresException(
                    "PostgreSQL binary " + name + " not found: " + p + " is missing or not executable ("
                            + (configured ? "check postgresql.bin_dir" : "set postgresql.bin_dir") + ")");
        }
        return p.toString();
    }
}
