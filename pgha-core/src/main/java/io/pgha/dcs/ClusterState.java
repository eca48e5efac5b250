package io.pgha.dcs;

import io.pgha.dcs.spi.PatroniCodec;
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
 * <p>{@code io.pgha.dcs.spi.PatroniDcs} builds it from a store's raw strings with
 * {@link PatroniCodec}, which never throws on a malformed value: the value is treated as absent
 * (or empty), and the problem is recorded in {@link #problems()} naming the key, so that one bad
 * key cannot stop the HA loop.
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

    /**
     * Patroni's {@code Cluster.timeline}: the timeline the cluster is on as its {@code history}
     * tells (the last entry's timeline + 1), 0 when there is no history yet.
     */
    public long timeline() {
        List<HistoryEntry> h = history();
        return h.isEmpty() ? 0 : h.get(h.size() - 1).timeline() + 1;
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

    /**
     * Collects the values of a snapshot. The typed methods take decoded values; the raw-value
     * methods decode Patroni's stored strings with {@link PatroniCodec} (a malformed value is
     * recorded in {@link #problem}, never thrown), as {@code PatroniDcs} does for a store's tree.
     * Not thread-safe.
     */
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

        // ---- decoded values

        /** The {@code initialize} value as stored, trimmed ("" while a bootstrap runs; null: absent). */
        public Builder initialize(String raw, long version) {
            this.initialize = raw == null ? null : raw.trim();
            this.initializeVersion = version;
            return this;
        }

        public Builder config(ClusterConfig config) {
            this.config = config;
            return this;
        }

        public Builder leader(Leader leader) {
            this.leader = leader;
            return this;
        }

        public Builder member(Member member) {
            members.put(member.name(), member);
            return this;
        }

        public Builder status(ClusterStatus status) {
            this.status = status == null ? ClusterStatus.EMPTY : status;
            return this;
        }

        public Builder failover(Failover failover) {
            this.failover = failover;
            return this;
        }

        public Builder sync(SyncState sync) {
            this.sync = sync;
            return this;
        }

        public Builder history(List<HistoryEntry> history, long version) {
            this.history = List.copyOf(history);
            this.historyVersion = version;
            return this;
        }

        public Builder failsafe(Map<String, String> failsafe) {
            this.failsafe = failsafe;
            return this;
        }

        /** Records a malformed value: {@code key} relative to the cluster prefix, then the reason. */
        public Builder problem(String key, String reason) {
            problems.add(key + ": " + reason);
            return this;
        }

        // ---- raw stored values, decoded as PatroniDcs decodes a store's tree

        public Builder config(String raw, long version) {
            PatroniCodec.decodeConfig(this, raw, version);
            return this;
        }

        public Builder leader(String raw, long version) {
            PatroniCodec.decodeLeader(this, raw, version);
            return this;
        }

        public Builder member(String name, String raw, long version) {
            PatroniCodec.decodeMember(this, name, raw, version);
            return this;
        }

        public Builder status(String raw) {
            PatroniCodec.decodeStatus(this, raw);
            return this;
        }

        public Builder failover(String raw, long version) {
            PatroniCodec.decodeFailover(this, raw, version);
            return this;
        }

        public Builder sync(String raw, long version) {
            PatroniCodec.decodeSync(this, raw, version);
            return this;
        }

        public Builder history(String raw, long version) {
            PatroniCodec.decodeHistory(this, raw, version);
            return this;
        }

        public Builder failsafe(String raw) {
            PatroniCodec.decodeFailsafe(this, raw);
            return this;
        }

        public ClusterState build() {
            return new ClusterState(this);
        }
    }
}
