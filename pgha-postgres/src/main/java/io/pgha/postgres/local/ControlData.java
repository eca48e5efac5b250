package io.pgha.postgres.local;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The fields of {@code pg_controldata} output, as Patroni reads them: the database system
 * identifier, the cluster state, the latest checkpoint and the minimum recovery point. Immutable.
 */
final class ControlData {

    private final Map<String, String> fields;

    private ControlData(Map<String, String> fields) {
        this.fields = fields;
    }

    static ControlData parse(String output) {
        Map<String, String> fields = new LinkedHashMap<>();
        for (String line : output.split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                fields.put(
                        line.substring(0, colon).trim(),
                        line.substring(colon + 1).trim());
            }
        }
        return new ControlData(fields);
    }

    String get(String key) {
        return fields.get(key);
    }

    String systemIdentifier() {
        return fields.get("Database system identifier");
    }

    /** e.g. {@code shut down}, {@code shut down in recovery}, {@code in production}, {@code in archive recovery}. */
    String state() {
        return fields.get("Database cluster state");
    }

    /** Shut down cleanly: pg_rewind accepts it as a target. */
    boolean cleanlyShutDown() {
        String s = state();
        return "shut down".equals(s) || "shut down in recovery".equals(s);
    }

    long checkpointTimeline() {
        return longField("Latest checkpoint's TimeLineID");
    }

    long checkpointLsn() {
        String v = fields.get("Latest checkpoint location");
        return v == null ? 0 : Lsn.parse(v);
    }

    long minRecoveryEndLsn() {
        String v = fields.get("Minimum recovery ending location");
        return v == null ? 0 : Lsn.parse(v);
    }

    long minRecoveryEndTimeline() {
        return longField("Min recovery ending loc's timeline");
    }

    private long longField(String key) {
        String v = fields.get(key);
        try {
            return v == null ? 0 : Long.parseLong(v);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /**
     * Where this data directory's WAL ends, as Patroni decides it: on a replica (state in
     * recovery) the minimum recovery point, unless it is 0/0 (it was a primary when it crashed);
     * otherwise the latest checkpoint. Returns {timeline, lsn, inRecovery(1/0)}; {0,0,0} when the
     * state is neither clean nor a replica's.
     */
    long[] localTimelineLsn() {
        String s = state();
        if ("shut down in recovery".equals(s) || "in archive recovery".equals(s)) {
            long lsn = minRecoveryEndLsn();
            long tl = minRecoveryEndTimeline();
            if (lsn != 0 && tl != 0) {
                return new long[] {tl, lsn, 1};
            }
            s = "shut down";
        }
        if ("shut down".equals(s)) {
            return new long[] {checkpointTimeline(), checkpointLsn(), 0};
        }
        return new long[] {0, 0, 0};
    }
}
