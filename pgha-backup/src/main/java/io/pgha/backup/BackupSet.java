package io.pgha.backup;

import java.time.Instant;

/**
 * One backup in the repository, as {@code pgbackrest info --output=json} reports it.
 *
 * @param label pgBackRest's label (e.g. {@code 20261122-223000F})
 * @param type full, diff or incr
 * @param start when it started
 * @param stop when it stopped
 * @param size the database size it covers, bytes
 * @param repoSize what it takes in the repository (compressed, this backup only), bytes
 * @param walStart the first WAL segment it needs
 * @param walStop the last WAL segment it needs
 * @param lsnStop the LSN it is consistent at (null when pgBackRest does not say)
 */
public record BackupSet(
        String label,
        String type,
        Instant start,
        Instant stop,
        long size,
        long repoSize,
        String walStart,
        String walStop,
        String lsnStop) {}
