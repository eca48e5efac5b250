package io.pgha.examples.ctl;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.DcsJson;
import io.pgha.dcs.Member;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The backup lines under {@code list}'s table: a member whose last restore drill failed (its
 * {@code GET /patroni} has {@code backup.drill_failed: true}) is named loudly. The flag lives in
 * the member's REST API, not in the DCS, so a member whose API does not answer within
 * {@link #TIMEOUT} is skipped silently (the table already shows its state).
 */
final class BackupFlags {
    static final Duration TIMEOUT = Duration.ofSeconds(2);

    private BackupFlags() {}

    static void print(PrintStream out, Session session, ClusterState cluster) {
        for (String line : lines(session, cluster)) {
            out.println(line);
        }
    }

    static List<String> lines(Session session, ClusterState cluster) {
        List<String> lines = new ArrayList<>();
        for (Member m : cluster.members()) {
            try {
                PatroniApi.Response r = session.api().call(m, "GET", "patroni", null, TIMEOUT);
                if (!r.ok()) {
                    continue;
                }
                Map<String, Object> status = DcsJson.readObject(r.body());
                if (status.get("backup") instanceof Map<?, ?> b && Boolean.TRUE.equals(b.get("drill_failed"))) {
                    lines.add(" Backup: RESTORE DRILL FAILED on " + m.name() + ": "
                            + CtlException.oneLine(String.valueOf(b.get("last_drill"))));
                }
            } catch (PatroniApi.Unreachable | RuntimeException e) {
                // no answer, or not JSON: nothing to report for this member
            }
        }
        return lines;
    }
}
