package io.pgha.backup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Prepares a member's data directory from the repository instead of from a running member, for
 * the two paths Patroni users configure with pgBackRest:
 * <ul>
 *   <li>{@link #prepareReplica}: {@code create_replica_methods: [pgbackrest, basebackup]}; the
 *   directory is restored as a standby ({@code pgbackrest restore --delta --type=standby}), then
 *   the controller writes its own replica settings and starts it, and it streams the rest from the
 *   leader. The caller falls back to {@code pg_basebackup} when this throws.</li>
 *   <li>{@link #prepareBootstrap}: a new cluster from a backup, with point-in-time recovery to a
 *   time or LSN; the copy recovers to the target and promotes.</li>
 * </ul>
 * Neither ever runs on a directory with a running PostgreSQL (postmaster.pid present). Thread-safe.
 */
public final class DataDirectories {

    private static final Logger LOG = LoggerFactory.getLogger(DataDirectories.class);

    private final PgBackRest pgbackrest;

    public DataDirectories(PgBackRest pgbackrest) {
        this.pgbackrest = pgbackrest;
    }

    /**
     * Restores the latest backup into {@code dataDir} as a standby, reusing what already matches
     * ({@code --delta}); the directory is then ready for the controller's replica start.
     *
     * @throws BackupException when the repository has no backup or the restore fails (fall back to
     *     pg_basebackup then)
     */
    public void prepareReplica(Path dataDir) throws BackupException {
        if (pgbackrest.info().latest() == null) {
            throw new BackupException("no backup of stanza '"
                    + pgbackrest.config().stanza() + "' in the repository to create a replica from");
        }
        long t0 = System.nanoTime();
        pgbackrest.restore(dataDir, RestoreTarget.endOfWal(), null, true, !isEmpty(dataDir), false);
        LOG.info(
                "replica data directory {} restored from the repository in {} ms",
                dataDir,
                (System.nanoTime() - t0) / 1_000_000);
    }

    /**
     * Restores into {@code dataDir} for a new cluster, recovering to {@code target} (a time, an LSN,
     * or the end of the archived WAL) and promoting there. Starting it is the caller's.
     *
     * @param set the backup to start from, or null for the latest before the target (pgBackRest
     *     picks it for a time target)
     */
    public void prepareBootstrap(Path dataDir, RestoreTarget target, String set) throws BackupException {
        if (!isEmpty(dataDir)) {
            throw new BackupException("refusing to bootstrap from a backup into " + dataDir + ": it is not empty");
        }
        pgbackrest.restore(dataDir, target, set, false, false, false);
        LOG.info(
                "data directory {} restored from the repository for a new cluster, recovery target {}",
                dataDir,
                target);
    }

    static boolean isEmpty(Path dir) throws BackupException {
        if (!Files.isDirectory(dir)) {
            return true;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            throw new BackupException("cannot list " + dir + ": " + e, e);
        }
    }

    /** The methods of {@code create_replica_methods} this module serves. */
    public static boolean serves(List<String> createReplicaMethods) {
        return createReplicaMethods.contains("pgbackrest");
    }
}
