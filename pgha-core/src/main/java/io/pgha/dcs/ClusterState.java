package io.pgha.dcs;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An immutable snapshot of one cluster's keys in the DCS, as read in one go.
 *
 * <p>Adapters build it from the raw stored strings with {@link #builder(String)}; the builder
 * decodes Patroni's JSON and never throws on a malformed value: the value is treated as absent (or
 * empty), and the problem is recorded in {@link #problems()} naming the key, so that one bad key
 * cannot stop the HA loop.
 */
public final class ClusterState {
    private final String scope;
    private final String initialize;
    private final long initializeVersion;
    private final ClusterConfig config;
    private final Leader leader;
    private final List<Member> members;
    private final ClusterStatus status;
    private final Failover failover;
    private final SyncState sync;
    private final List<HistoryEntry> history;
    private final long historyVersion;
    private final Map<String, String> failsafe;
    private final List<String> problems;

    private ClusterState(Builder b) {
        this.scope = b.scope;
        this.initialize = b.initialize;
        this.initializeVersion = b.initializeVersion;
        this.config = b.config;
        this.leader = b.leader;
        List<Member> sorted = new ArrayList<>(b.members.values());
        sorted.sort(Comparator.comparing(Member::name));
        this.members = Collections.unmodifiableList(sorted);
        this.status = b.status;
        this.failover = b.failover;
        this.sync = b.sync;
        this.history = List.copyOf(b.history);
        this.historyVersion = b.historyVersion;
        this.failsafe = b.failsafe == null ? null : Collections.unmodifiableMap(new LinkedHashMap<>(b.failsafe));
        this.problems = List.copyOf(b.problems);
    }

    /** A cluster with no keys at all. */
    public static ClusterState empty(String scope) {
        return builder(scope).build();
    }

    public static Builder builder(String scope) {
        return new Builder(scope);
    }

    public String scope() {
        return scope;
    }

    /** The system identifier in {@code initialize}; "" while a bootstrap runs; null when absent. */
    public String initialize() {
        return initialize;
    }

    public long initializeVersion() {
        return initializeVersion;
    }

    /** The {@code config} key, or null when absent (or malformed). */
    public ClusterConfig config() {
        return config;
    }

    public Leader leader() {
        return leader;
    }

    public boolean hasLeader() {
        return leader != null;
    }

    public boolean isLeader(String name) {
        return leader != null && leader.name().equals(name);
    }

    /** Members sorted by name. */
    public List<Member> members() {
        return members;
    }

    public Optional<Member> member(String name) {
        return members.stream().filter(m -> m.name().equals(name)).findFirst();
    }

    /** The leader's member record, when the leader key and its member key both exist. */
    public Optional<Member> leaderMember() {
        return leader == null ? Optional.empty() : member(leader.name());
    }

    public ClusterStatus status() {
        return status;
    }

    public Failover failover() {
        return failover;
    }

    public SyncState sync() {
        return sync;
    }

    public List<HistoryEntry> history() {
        return history;
    }

    public long historyVersion() {
        return historyVersion;
    }

    /** The {@code failsafe} key (member name to api_url), null when absent. */
    public Map<String, String> failsafe() {
        return failsafe;
    }

    /** Malformed values found while decoding, each naming its key. Empty when all is well. */
    public List<String> problems() {
        return problems;
    }

    /** True when the config says {@code pause: true}. */
    public boolean isPaused() {
        return config != null && Tags.isTrue(config.data().get("pause"));
    }

    @Override
    public String toString() {
        return "ClusterState{scope=" + scope + ", leader=" + (leader == null ? null : leader.name())
                + ", members=" + members.stream().map(Member::name).toList() + ", initialize=" + initialize
                + (failover == null ? "" : ", failover=" + failover)
                + (problems.isEmpty() ? "" : ", problems=" + problems)
                + "}";
    }

    /** Decodes raw stored values; see the class comment for how malformed values are handled. */
    public static final class Builder {
        private final String scope;
        private String initialize;
        private long initializeVersion = Dcs.ABSENT;
        private ClusterConfig config;
        private Leader leader;
        private final Map<String, Member> members = new LinkedHashMap<>();
        private ClusterStatus status = ClusterStatus.EMPTY;
        private Failover failover;
        private SyncState sync;
        private List<HistoryEntry> history = List.of();
        private long historyVersion = Dcs.ABSENT;
        private Map<String, String> failsafe;
        private final List<String> problems = new ArrayList<>();

        private Builder(String scope) {
            this.scope = scope;
        }

        public Builder initialize(String raw, long version) {
            this.initialize = raw == null ? null : raw.trim();
            this.initializeVersion = version;
            return this;
        }

        /** A malformed config is kept as an empty config with its version, so a CAS write can repair it. */
        public Builder config(String raw, long version) {
            if (raw == null) {
                return this;
            }
            try {
                this.config = new ClusterConfig(DcsJson.readObject(raw), version);
            } catch (IllegalArgumentException e) {
                problem("config", e);
                this.config = new ClusterConfig(Map.of(), version);
            }
            return this;
        }

        public Builder leader(String raw, long version) {
            if (raw == null) {
                return this;
            }
            String name = raw.trim();
            if (name.isEmpty()) {
                problems.add("leader: empty value");
                return this;
            }
            this.leader = new Leader(name, version);
            return this;
        }

        /** A malformed member value keeps the member (it exists) with empty data. */
        public Builder member(String name, String raw, long version) {
            Map<String, Object> data;
            try {
                data = DcsJson.readObject(raw);
            } catch (IllegalArgumentException e) {
                problem("members/" + name, e);
                data = Map.of();
            }
            members.put(name, new Member(name, version, data));
            return this;
        }

        /** Accepts the JSON object and the old plain-number form (optime only). */
        public Builder status(String raw) {
            if (raw == null) {
                return this;
            }
            String v = raw.trim();
            try {
                if (!v.startsWith("{")) {
                    this.status = new ClusterStatus(Long.parseLong(v), Map.of(), List.of());
                    return this;
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
                this.status = new ClusterStatus(optime, slots, retain);
            } catch (IllegalArgumentException e) {
                problem("status", e);
            }
            return this;
        }

        public Builder failover(String raw, long version) {
            if (raw == null) {
                return this;
            }
            try {
                Map<String, Object> json = DcsJson.readObject(raw);
                Object at = json.get("scheduled_at");
                Instant scheduled =
                        at == null || at.toString().isBlank() ? null : DcsJson.parseTimestamp(at.toString());
                this.failover = new Failover(str(json.get("leader")), str(json.get("member")), scheduled, version);
            } catch (IllegalArgumentException e) {
                problem("failover", e);
                // kept so that a CAS delete/overwrite can clear it, but it names nobody
                this.failover = new Failover(null, null, null, version);
            }
            return this;
        }

        public Builder sync(String raw, long version) {
            if (raw == null) {
                return this;
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
                this.sync = new SyncState(
                        str(json.get("leader")), standbys, q == null ? null : (int) asLong(q, 0L), version);
            } catch (IllegalArgumentException e) {
                problem("sync", e);
                this.sync = new SyncState(null, List.of(), null, version);
            }
            return this;
        }

        public Builder history(String raw, long version) {
            if (raw == null) {
                return this;
            }
            this.historyVersion = version;
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
                this.history = entries;
            } catch (IllegalArgumentException e) {
                problem("history", e);
            }
            return this;
        }

        public Builder failsafe(String raw) {
            if (raw == null) {
                return this;
            }
            try {
                Map<String, String> map = new LinkedHashMap<>();
                DcsJson.readObject(raw).forEach((k, v) -> map.put(k, str(v)));
                this.failsafe = map;
            } catch (IllegalArgumentException e) {
                problem("failsafe", e);
            }
            return this;
        }

        public ClusterState build() {
            return new ClusterState(this);
        }

        private void problem(String key, IllegalArgumentException e) {
            problems.add(key + ": " + e.getMessage());
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
}
