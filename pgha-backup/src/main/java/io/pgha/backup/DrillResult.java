package io.pgha.backup;

import io.pgha.dcs.DcsJson;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The outcome of one restore drill.
 *
 * @param ok whether every check passed
 * @param finishedAt when the drill ended
 * @param backupLabel the backup it restored (null when it never got that far)
 * @param backupRepoSize that backup's size in the repository, bytes
 * @param restoreTime how long the restore plus WAL replay to a consistent, promoted copy took
 * @param verifyTime how long the checks took
 * @param checks one line per check, e.g. {@code "public.accounts: 1000 rows (>= 1)"}
 * @param error why it failed, null when ok
 */
public record DrillResult(
        boolean ok,
        Instant finishedAt,
        String backupLabel,
        long backupRepoSize,
        Duration restoreTime,
        Duration verifyTime,
        List<String> checks,
        String error) {

    public DrillResult {
        checks = List.copyOf(checks);
    }

    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ok", ok);
        m.put("finished_at", finishedAt.toString());
        m.put("backup", backupLabel);
        m.put("backup_repo_size", backupRepoSize);
        m.put("restore_ms", restoreTime.toMillis());
        m.put("verify_ms", verifyTime.toMillis());
        m.put("checks", checks);
        m.put("error", error);
        return DcsJson.write(m);
    }

    @SuppressWarnings("unchecked")
    static DrillResult fromJson(String json) {
        Map<String, Object> m = DcsJson.readObject(json);
        Object checks = m.get("checks");
        return new DrillResult(
                Boolean.TRUE.equals(m.get("ok")),
                Instant.parse(m.get("finished_at").toString()),
                m.get("backup") == null ? null : m.get("backup").toString(),
                ((Number) m.getOrDefault("backup_repo_size", 0)).longValue(),
                Duration.ofMillis(((Number) m.getOrDefault("restore_ms", 0)).longValue()),
                Duration.ofMillis(((Number) m.getOrDefault("verify_ms", 0)).longValue()),
                checks instanceof List
                        ? ((List<Object>) checks).stream().map(String::valueOf).toList()
                        : List.of(),
                m.get("error") == null ? null : m.get("error").toString());
    }

    public String summary() {
        return (ok ? "passed" : "FAILED") + " at " + finishedAt + (backupLabel == null ? "" : " on " + backupLabel)
                + ", restore " + restoreTime.toMillis() + " ms, verify " + verifyTime.toMillis() + " ms"
                + (error == null ? "" : ": " + error);
    }
}
