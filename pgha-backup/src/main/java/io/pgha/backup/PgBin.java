package io.pgha.backup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Finds PostgreSQL's binaries: the configured bin_dir, else Debian's newest /usr/lib/postgresql/N/bin. */
final class PgBin {

    private PgBin() {}

    static Path dir(Path configured) throws BackupException {
        if (configured != null) {
            return configured;
        }
        Path debian = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(debian)) {
            try (Stream<Path> s = Files.list(debian)) {
                return s.map(p -> p.resolve("bin"))
                        .filter(p -> Files.isExecutable(p.resolve("postgres")))
                        .max(Comparator.comparingInt(PgBin::version))
                        .orElseThrow(() -> new BackupException(
                                "no PostgreSQL binaries in /usr/lib/postgresql/*/bin; " + "set postgresql.bin_dir"));
            } catch (IOException e) {
                throw new BackupException("cannot list /usr/lib/postgresql: " + e, e);
            }
        }
        throw new BackupException("no PostgreSQL binaries found; set postgresql.bin_dir");
    }

    static String bin(Path dir, String name) throws BackupException {
        Path p = dir.resolve(name);
        if (!Files.isExecutable(p)) {
            throw new BackupException(name + " is missing: " + p + " is not executable");
        }
        return p.toString();
    }

    private static int version(Path bin) {
        try {
            return Integer.parseInt(bin.getParent().getFileName().toString().replaceAll("\\D.*", ""));
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
