package io.pgha.postgres.local;

import java.util.ArrayList;
import java.util.List;

/**
 * A timeline history file ({@code pg_wal/0000000N.history}): one line per ancestor timeline,
 * {@code parentTLI <tab> switchpoint <tab> reason}. Immutable.
 */
final class TimelineHistory {

    /** Timeline {@code parent} ended (and its child began) at {@code switchpoint}. */
    record Entry(long parent, long switchpoint) {}

    private TimelineHistory() {}

    static List<Entry> parse(String content) {
        List<Entry> out = new ArrayList<>();
        for (String raw : content.split("\n")) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] f = line.split("\\s+", 3);
            if (f.length < 2) {
                continue;
            }
            try {
                out.add(new Entry(Long.parseLong(f[0]), Lsn.parse(f[1])));
            } catch (IllegalArgumentException e) {
                // a line PostgreSQL would not write; skip it like Patroni does
            }
        }
        return out;
    }

    /**
     * Patroni's divergence rule: with the leader on {@code leaderTimeline} and this instance's
     * WAL ending at {@code localLsn} on {@code localTimeline}, does this instance need a rewind?
     *
     * @param checkpointEnd for a former primary shut down cleanly, where its shutdown checkpoint
     *     record ends (0 when unknown); the leader's switchpoint is exactly there when the leader
     *     had received everything
     */
    static boolean diverged(
            long localTimeline,
            long localLsn,
            boolean inRecovery,
            long checkpointEnd,
            long leaderTimeline,
            List<Entry> leaderHistory) {
        if (localTimeline > leaderTimeline) {
            return true;
        }
        if (localTimeline == leaderTimeline) {
            return false;
        }
        for (Entry e : leaderHistory) {
            if (e.parent() == localTimeline) {
                if (inRecovery) {
                    return localLsn > e.switchpoint();
                }
                if (localLsn >= e.switchpoint()) {
                    return true;
                }
                return checkpointEnd != e.switchpoint();
            }
            if (e.parent() > localTimeline) {
                return true;
            }
        }
        return true;
    }
}
