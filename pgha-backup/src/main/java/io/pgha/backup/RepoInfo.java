package io.pgha.backup;

import io.pgha.dcs.DcsJson;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The repository's state for one stanza, parsed from {@code pgbackrest info --output=json}: its
 * backups (oldest first), the archived WAL range, and pgBackRest's status. This is where the
 * schedule's memory lives (when the last full and diff were taken), so any member, after any
 * failover, reads the same history.
 *
 * @param backups oldest first
 * @param walMin the oldest archived WAL segment, null when none
 * @param walMax the newest archived WAL segment, null when none
 * @param statusCode pgBackRest's status code (0 ok, 1 missing stanza path, 2 no valid backups, ...)
 * @param statusMessage its message
 */
public record RepoInfo(List<BackupSet> backups, String walMin, String walMax, int statusCode, String statusMessage) {

    public RepoInfo {
        backups = List.copyOf(backups);
    }

    /** The newest backup of {@code type} (full, diff, incr), or null. */
    public BackupSet latest(String type) {
        for (int i = backups.size() - 1; i >= 0; i--) {
            if (backups.get(i).type().equals(type)) {
                return backups.get(i);
            }
        }
        return null;
    }

    public BackupSet latest() {
        return backups.isEmpty() ? null : backups.get(backups.size() - 1);
    }

    @SuppressWarnings("unchecked")
    static RepoInfo parse(String json, String stanza) throws BackupException {
        List<Object> stanzas;
        try {
            stanzas = DcsJson.readList(json.strip());
        } catch (IllegalArgumentException e) {
            throw new BackupException("pgbackrest info printed no JSON: " + json.strip(), e);
        }
        for (Object o : stanzas) {
            if (!(o instanceof Map<?, ?> s) || !stanza.equals(s.get("name"))) {
                continue;
            }
            List<BackupSet> sets = new ArrayList<>();
            for (Object b : list(s.get("backup"))) {
                Map<String, Object> m = (Map<String, Object>) b;
                Map<String, Object> ts = map(m.get("timestamp"));
                Map<String, Object> info = map(m.get("info"));
                Map<String, Object> repo = map(info.get("repository"));
                Map<String, Object> archive = map(m.get("archive"));
                Map<String, Object> lsn = map(m.get("lsn"));
                sets.add(new BackupSet(
                        str(m.get("label")),
                        str(m.get("type")),
                        Instant.ofEpochSecond(num(ts.get("start"))),
                        Instant.ofEpochSecond(num(ts.get("stop"))),
                        num(info.get("size")),
                        num(repo.get("delta")),
                        str(archive.get("start")),
                        str(archive.get("stop")),
                        str(lsn.get("stop"))));
            }
            String min = null;
            String max = null;
            for (Object a : list(s.get("archive"))) {
                Map<String, Object> m = map(a);
                if (min == null && m.get("min") != null) {
                    min = str(m.get("min"));
                }
                if (m.get("max") != null) {
                    max = str(m.get("max"));
                }
            }
            Map<String, Object> status = map(s.get("status"));
            return new RepoInfo(sets, min, max, (int) num(status.get("code")), str(status.get("message")));
        }
        return new RepoInfo(List.of(), null, null, 1, "stanza '" + stanza + "' not in pgbackrest info");
    }

    private static List<Object> list(Object o) {
        return o instanceof List<?> l ? new ArrayList<>(l) : List.of();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return o instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
    }

    private static String str(Object o) {
        return o == null ? null : o.toString();
    }

    private static long num(Object o) {
        return o instanceof Number n ? n.longValue() : 0L;
    }
}
