package io.pgha.backup;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the runner publishes about backups (metrics, {@code GET /patroni}, {@code ctl list}).
 *
 * @param lastFull when the newest full backup in the repository finished (null: none)
 * @param lastDiff when the newest differential finished (null: none)
 * @param lastLogical when this member last wrote a logical dump (null: none)
 * @param lastDrill the last restore drill (null: none ran)
 * @param archiveFailures PostgreSQL's {@code pg_stat_archiver.failed_count} on this member (-1: unknown)
 * @param lastError the last backup-side error (unreachable repository, missing binary, ...), null when none
 * @param chosen whether this member is the one that takes the cluster's backups now
 */
public record BackupStatus(
        Instant lastFull,
        Instant lastDiff,
        Instant lastLogical,
        DrillResult lastDrill,
        long archiveFailures,
        String lastError,
        boolean chosen) {

    /** True when the last drill failed: the flag for {@code GET /patroni} and {@code ctl list}. */
    public boolean drillFailed() {
        return lastDrill != null && !lastDrill.ok();
    }

    /** Metric name to value, ages in seconds (-1 when there is none), for the runner to export. */
    public Map<String, Number> metrics(Instant now) {
        Map<String, Number> m = new LinkedHashMap<>();
        m.put("pgha_backup_last_full_age_seconds", age(lastFull, now));
        m.put("pgha_backup_last_diff_age_seconds", age(lastDiff, now));
        m.put("pgha_backup_last_logical_age_seconds", age(lastLogical, now));
        m.put("pgha_backup_last_full_timestamp_seconds", lastFull == null ? -1 : lastFull.getEpochSecond());
        m.put("pgha_backup_drill_ok", lastDrill == null ? -1 : lastDrill.ok() ? 1 : 0);
        m.put(
                "pgha_backup_drill_timestamp_seconds",
                lastDrill == null ? -1 : lastDrill.finishedAt().getEpochSecond());
        m.put("pgha_backup_archive_failures", archiveFailures);
        m.put("pgha_backup_chosen", chosen ? 1 : 0);
        return m;
    }

    private static long age(Instant t, Instant now) {
        return t == null ? -1 : Math.max(0, now.getEpochSecond() - t.getEpochSecond());
    }
}
