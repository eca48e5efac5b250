package io.pgha.postgres.local;

import io.pgha.postgres.PostgresException;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the PostgreSQL binaries say of themselves, asked once when the controller is built: the
 * major version (for the parameters whose names changed, such as {@code wal_keep_segments}) and
 * whether the compiled-in {@code unix_socket_directories} can be used by the PostgreSQL user.
 * Immutable.
 *
 * @param majorVersion the major version ({@code 15}), 0 when the binaries would not say
 * @param defaultSocketUsable whether PostgreSQL can create its sockets in the compiled-in
 *     directories; when not (no {@code /var/run/postgresql} on this machine, say), pgha puts
 *     them in its private runtime directory
 */
record ServerFacts(int majorVersion, boolean defaultSocketUsable) {

    private static final Logger LOG = LoggerFactory.getLogger(ServerFacts.class);

    /** Asks {@code postgres --version} and {@code postgres --describe-config}; never fails. */
    static ServerFacts probe(Binaries bins, OsCommand asPostgresUser) {
        int major = 0;
        String socketDirs = null;
        try {
            OsCommand.Result v = asPostgresUser.run(List.of(bins.path("postgres"), "--version"), OsCommand.SHORT);
            Matcher m = Pattern.compile("\\) (\\d+)").matcher(v.output());
            if (v.ok() && m.find()) {
                major = Integer.parseInt(m.group(1));
            }
            OsCommand.Result d =
                    asPostgresUser.run(List.of(bins.path("postgres"), "--describe-config"), OsCommand.SHORT);
            if (d.ok()) {
                socketDirs = compiledSocketDirectories(d.output());
            }
            boolean usable = socketDirs != null && !socketDirs.isBlank() && allWritable(asPostgresUser, socketDirs);
            LOG.debug("PostgreSQL {}: compiled unix_socket_directories '{}' usable: {}", major, socketDirs, usable);
            return new ServerFacts(major, usable);
        } catch (PostgresException e) {
            LOG.warn("cannot ask the PostgreSQL binaries for their version and defaults: {}", e.getMessage());
            return new ServerFacts(major, false);
        }
    }

    /** The boot value of unix_socket_directories in {@code postgres --describe-config}'s tab-separated output. */
    static String compiledSocketDirectories(String describeConfig) {
        for (String line : describeConfig.split("\n")) {
            String[] f = line.split("\t", -1);
            if (f.length > 4 && f[0].equals("unix_socket_directories")) {
                return f[4];
            }
        }
        return null;
    }

    private static boolean allWritable(OsCommand asPostgresUser, String dirs) throws PostgresException {
        for (String raw : dirs.split(",")) {
            String d = raw.strip();
            if (d.isEmpty() || d.startsWith("@")) {
                continue; // an abstract socket (Linux) needs no directory
            }
            if (!asPostgresUser
                    .run(List.of("/usr/bin/test", "-d", d, "-a", "-w", d), OsCommand.SHORT)
                    .ok()) {
                return false;
            }
        }
        return true;
    }
}
