package io.pgha.postgres.local;

import io.pgha.postgres.PostgresException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a primary offers its replicas: {@code synchronous_standby_names}, written to pgha's own
 * file and applied by a reload (never ALTER SYSTEM). The replication slots are {@link Slots}'.
 *
 * <p>Threading: runs only under the controller's action lock. The value of
 * synchronous_standby_names lives in {@link ManagedFiles}, so that every later rewrite of the
 * file keeps it.
 */
final class Replication {

    private static final Logger LOG = LoggerFactory.getLogger(Replication.class);

    private final LocalPostgresConfig config;
    private final DataDirectory dir;
    private final ManagedFiles files;
    private final Postmaster postmaster;

    Replication(LocalPostgresConfig config, DataDirectory dir, ManagedFiles files, Postmaster postmaster) {
        this.config = config;
        this.dir = dir;
        this.files = files;
        this.postmaster = postmaster;
    }

    /** Refuses a value that would break the one line it is written on; checked before any lock is taken. */
    static String checkSynchronousStandbyNames(String value) throws PostgresException {
        String v = value == null ? "" : value;
        if (v.indexOf('\n') >= 0 || v.indexOf('\r') >= 0 || v.indexOf('\0') >= 0) {
            throw new PostgresException("synchronous_standby_names must be a single line");
        }
        return v;
    }

    /** Writes and reloads {@code value} (already checked); the old value stays when that fails. */
    void setSynchronousStandbyNames(String value) throws PostgresException {
        String before = files.synchronousStandbyNames();
        files.synchronousStandbyNames(value);
        try {
            if (!dir.isEmpty()) {
                files.rewrite();
                postmaster.reload();
            }
        } catch (PostgresException e) {
            files.synchronousStandbyNames(before);
            throw e;
        }
        LOG.info("{}: synchronous_standby_names = '{}'", config.name(), value);
    }
}
