package io.pgha.dcs.spi;

import io.pgha.dcs.ClusterConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.ClusterStatus;
import io.pgha.dcs.DcsJson;
import io.pgha.dcs.Failover;
import io.pgha.dcs.HistoryEntry;
import io.pgha.dcs.Leader;
import io.pgha.dcs.Member;
import io.pgha.dcs.SyncState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How each value of Patroni's layout is written and read, byte for byte as Patroni writes it, so
 * that Patroni's tools read what pgha wrote and the other way round: the one codec of every
 * store (JSON through {@link DcsJson}).
 *
 * <p>Decoding never throws on a malformed value: the value is treated as absent or empty (as each
 * method says), and the problem is recorded in {@link ClusterState#problems()} naming the key, so
 * that one bad key can neither stop the HA loop nor hide the rest of the tree.
 *
 * <p>Stateless and thread-safe. The decoding methods are public because
 * {@link ClusterState.Builder}'s raw-value methods (used by tests and tools to build a snapshot
 * from Patroni's strings) delegate to them.
 */
public final class PatroniCodec {

    private PatroniCodec() {}

    // ---------------------------------------------------------------- encoding

    static String member(Map<String, Object> data) {
        return DcsJson.write(Objects.requireNonNull(data, "member data"));
    }

    static String config(Map<String, Object> config) {
        return DcsJson.write(Objects.requireNonNull(config, "config"));
    }

    /** The system identifier as it is stored; null is the "" of a bootstrap in progress. */
    static String initialize(String systemIdentifier) {
        return systemIdentifier == null ? "" : systemIdentifier;
    }

    static String failover(Failover failover) {
        return DcsJson.write(failover.toJson());
    }

    static String sync(SyncState sync) {
        return DcsJson.write(sync.toJson());
    }

    static String status(ClusterStatus status) {
        return DcsJson.write(Objects.requireNonNull(status, "status").toJson());
    }

    static String history(List<HistoryEntry> history) {
        List<Object> rows =
                new ArrayList<>(Objects.requireNonNull(history, "history").size());
        history.forEach(h -> rows.add(h.toJson()));
        return DcsJson.write(rows);
    }

    static String failsafe(Map<String, String> failsafe) {
        return DcsJson.write(failsafe);
    }

    // ---------------------------------------------------------------- the whole tree

    /**
     * The snapshot of a cluster from every key its store holds under the layout's prefix. Keys
     * outside Patroni's layout are skipped. {@code optime/leader}, which Patroni wrote before
     * version 2.1 instead of {@code status}, stands in for {@code status} only when there is no
     * {@code status} key.
     */
    static ClusterState decode(PatroniLayout layout, StoredTree tree) {
        ClusterState.Builder b = ClusterState.builder(layout.scope());
        StoredValue legacyOptime = null;
        boolean hasStatus = false;
        for (StoredValue v : tree.values()) {
            String relative = layout.relative(v.key());
            if (relative == null) {
                continue;
            }
            String raw = v.value();
            long version = v.version();
            switch (PatroniLayout.roleOf(relative)) {
                case LEADER -> decodeLeader(b, raw, version);
                case MEMBER -> decodeMember(b, PatroniLayout.memberName(relative), raw, version);
                case CONFIG -> decodeConfig(b, raw, version);
                case INITIALIZE -> decodeInitialize(b, raw, version);
                case STATUS -> {
                    hasStatus = true;
                    decodeStatus(b, raw);
                }
                case LEGACY_OPTIME -> legacyOptime = v;
                case HISTORY -> decodeHistory(b, raw, version);
                case FAILOVER -> decodeFailover(b, raw, version);
                case SYNC -> decodeSync(b, raw, version);
                case FAILSAFE -> decodeFailsafe(b, raw);
                case FOREIGN -> {
                    // not a key of Patroni's layout: not ours to read
                }
            }
        }
        if (!hasStatus && legacyOptime != null) {
            decodeStatus(b, legacyOptime.value(), PatroniLayout.LEGACY_OPTIME);
        }
        return b.build();
    }

    // ---------------------------------------------------------------- one value each

    /** {@code initialize}: the system identifier, "" while a bootstrap runs. Never malformed. */
    static void decodeInitialize(ClusterState.Builder into, String raw, long version) {
        into.initialize(raw, version);
    }

    /** The leader's bare name. An empty value is a problem, and no leader. */
    public static void decodeLeader(ClusterState.Builder into, String raw, long version) {
        if (raw == null) {
            return;
        }
        String name = raw.trim();
        if (name.isEmpty()) {
            into.problem(PatroniLayout.LEADER, "empty value");
            return;
        }
        into.leader(new Leader(name, version));
    }

    /** A member record, unknown fields kept. A malformed one keeps the member (it exists) with empty data. */
    public static void decodeMember(ClusterState.Builder into, String name, String raw, long version) {
        Map<String, Object> data;
        try {
            data = DcsJson.readObject(raw);
        } catch (IllegalArgumentException e) {
            into.problem(PatroniLayout.MEMBERS + name, e.getMessage());
            data = Map.of();
        }
        into.member(new Member(name, version, data));
    }

    /** A malformed config is kept as an empty config with its version, so that a CAS write can repair it. */
    public static void decodeConfig(ClusterState.Builder into, String raw, long version) {
        if (raw == null) {
            return;
        }
        try {
            into.config(new ClusterConfig(DcsJson.readObject(raw), version));
        } catch (IllegalArgumentException e) {
            into.problem(PatroniLayout.CONFIG, e.getMessage());
            into.config(new ClusterConfig(Map.of(), version));
        }
    }

    /** The JSON object, or the old bare number (optime only). A malformed one leaves the status empty. */
    public static void decodeStatus(ClusterState.Builder into, String raw) {
        decodeStatus(into, raw, PatroniLayout.STATUS);
    }

    private static void decodeStatus(ClusterState.Builder into, String raw, String key) {
        if (raw == null) {
            return;
        }
        String v = raw.trim();
        try {
            if (!v.startsWith("{")) {
                into.status(new ClusterStatus(Long.parseLong(v), Map.of(), List.of()));
                return;
            }
            Map<String, Object> json = DcsJson.readObject(v);
            long optime = asLong(json.get("optime"), 0L);
            Map<String, Long> slots = new LinkedHashMap<>();
            if (json.get("slots") instanceof Map<?, ?> m) {
                m.forEach((k, val) -> slots.put(String.valueOf(k), asLong(val, 0L)));
            }
            List<String> retain = new ArrayList<>();
            if (json.get("retain_slots") instanceof List<?> l) {
                l.forEach(x -> retain.add(String.valueOf(x)));
            }
            into.status(new ClusterStatus(optime, slots, retain));
        } catch (IllegalArgumentException e) { // NumberFormatException included
            into.problem(key, e instanceof NumberFormatException ? "not a number: " + v : e.getMessage());
        }
    }

    /** A malformed failover is kept with its version (so that a CAS can clear it), naming nobody. */
    public static void decodeFailover(ClusterState.Builder into, String raw, long version) {
        if (raw == null) {
            return;
        }
        try {
            Map<String, Object> json = DcsJson.readObject(raw);
            Object at = json.get("scheduled_at");
            Instant scheduled = at == null || at.toString().isBlank() ? null : DcsJson.parseTimestamp(at.toString());
            into.failover(new Failover(str(json.get("leader")), str(json.get("member")), scheduled, version));
        } catch (IllegalArgumentException e) {
            into.problem(PatroniLayout.FAILOVER, e.getMessage());
            into.failover(new Failover(null, null, null, version));
        }
    }

    /** {@code sync_standby} is a comma-separated list; {@code quorum} only in quorum mode. A malformed sync names nobody. */
    public static void decodeSync(ClusterState.Builder into, String raw, long version) {
        if (raw == null) {
            return;
        }
        try {
            Map<String, Object> json = DcsJson.readObject(raw);
            List<String> standbys = new ArrayList<>();
            Object s = json.get("sync_standby");
            if (s != null) {
                for (String n : s.toString().split(",")) {
                    if (!n.isBlank()) {
                        standbys.add(n.trim());
                    }
                }
            }
            Object q = json.get("quorum");
            into.sync(
                    new SyncState(str(json.get("leader")), standbys, q == null ? null : (int) asLong(q, 0L), version));
        } catch (IllegalArgumentException e) {
            into.problem(PatroniLayout.SYNC, e.getMessage());
            into.sync(new SyncState(null, List.of(), null, version));
        }
    }

    /** Rows of 3 to 5 fields; rows of fewer than 2 are skipped. A malformed history reads as empty, its version kept. */
    public static void decodeHistory(ClusterState.Builder into, String raw, long version) {
        if (raw == null) {
            return;
        }
        try {
            List<HistoryEntry> entries = new ArrayList<>();
            for (Object row : DcsJson.readList(raw)) {
                if (row instanceof List<?> r && r.size() >= 2) {
                    entries.add(new HistoryEntry(
                            asLong(r.get(0), 0L),
                            asLong(r.get(1), 0L),
                            r.size() > 2 ? str(r.get(2)) : null,
                            r.size() > 3 ? str(r.get(3)) : null,
                            r.size() > 4 ? str(r.get(4)) : null));
                }
            }
            into.history(entries, version);
        } catch (IllegalArgumentException e) {
            into.problem(PatroniLayout.HISTORY, e.getMessage());
            into.history(List.of(), version);
        }
    }

    /** Member name to api_url. A malformed one reads as absent. */
    public static void decodeFailsafe(ClusterState.Builder into, String raw) {
        if (raw == null) {
            return;
        }
        try {
            Map<String, String> map = new LinkedHashMap<>();
            DcsJson.readObject(raw).forEach((k, v) -> map.put(k, str(v)));
            into.failsafe(map);
        } catch (IllegalArgumentException e) {
            into.problem(PatroniLayout.FAILSAFE, e.getMessage());
        }
    }

    private static String str(Object o) {
        return o == null ? null : o.toString();
    }

    private static long asLong(Object o, long fallback) {
        if (o instanceof Number n) {
            return n.longValue();
        }
        if (o instanceof String s) {
            try {
                return Long.parseLong(s.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not a number: " + s);
            }
        }
        return fallback;
    }
}
