package io.pgha.dcs.spi;

import io.pgha.dcs.DcsSettings;

/**
 * Patroni's key layout of one cluster: every key under {@code /<namespace>/<scope>/} (Consul:
 * without the leading slash), which of them a change must wake the HA loop for, and how a stored
 * key maps back to its role. This class and {@link PatroniCodec} are the only places in pgha that
 * name Patroni's keys; an adapter's {@link ClusterStore} is handed whole keys and never builds one.
 *
 * <pre>
 * leader            the leader's member name (on the leader's session/lease)
 * members/&lt;name&gt;    the member's JSON (on its session/lease)
 * config            dynamic configuration JSON
 * initialize        the system identifier ("" while a bootstrap runs)
 * status            {"optime": lsn, "slots": {...}, "retain_slots": [...]}, or a bare number
 * optime/leader     the leader's optime as a bare number, written instead of status before Patroni 2.1
 * history           JSON list of [timeline, lsn, reason, timestamp, new_leader]
 * failover          {"leader", "member", "scheduled_at"}
 * sync              {"leader", "sync_standby": "a,b", "quorum": n}
 * failsafe          {name: api_url}
 * </pre>
 *
 * Immutable and thread-safe.
 */
public final class PatroniLayout {
    static final String LEADER = "leader";
    static final String MEMBERS = "members/";
    static final String CONFIG = "config";
    static final String INITIALIZE = "initialize";
    static final String STATUS = "status";
    static final String LEGACY_OPTIME = "optime/leader";
    static final String HISTORY = "history";
    static final String FAILOVER = "failover";
    static final String SYNC = "sync";
    static final String FAILSAFE = "failsafe";

    /** What a key under the cluster prefix is, by its path relative to the prefix. */
    enum Role {
        LEADER,
        MEMBER,
        CONFIG,
        INITIALIZE,
        STATUS,
        LEGACY_OPTIME,
        HISTORY,
        FAILOVER,
        SYNC,
        FAILSAFE,
        /** Not a key of Patroni's layout (a parent znode, another tool's key): not read, never wakes. */
        FOREIGN
    }

    private final String scope;
    private final String prefix;

    private PatroniLayout(String scope, String prefix) {
        this.scope = scope;
        this.prefix = prefix;
    }

    /**
     * The layout of etcd, ZooKeeper and the in-memory store: {@code /<namespace>/<scope>/}.
     *
     * @throws IllegalArgumentException when the scope or the member name is empty or holds a '/'
     *     (checked here, before an adapter opens a connection)
     */
    public static PatroniLayout of(DcsSettings settings) {
        checkMemberName(settings.name());
        return new PatroniLayout(checkScope(settings.scope()), settings.clusterPrefix());
    }

    /** Consul's: Patroni drops the namespace's leading slash there, {@code <namespace>/<scope>/}. */
    public static PatroniLayout withoutLeadingSlash(DcsSettings settings) {
        PatroniLayout rooted = of(settings);
        String prefix = rooted.prefix;
        while (prefix.startsWith("/")) {
            prefix = prefix.substring(1);
        }
        return new PatroniLayout(rooted.scope, prefix);
    }

    public String scope() {
        return scope;
    }

    /** The prefix every key of the cluster starts with, ending with a slash. */
    public String prefix() {
        return prefix;
    }

    String leaderKey() {
        return prefix + LEADER;
    }

    /** The key of a member's record; the name must be a single path element. */
    String memberKey(String member) {
        return prefix + MEMBERS + checkMemberName(member);
    }

    String key(String relative) {
        return prefix + relative;
    }

    /** The path of {@code key} relative to the prefix, or null when it lies outside the cluster. */
    String relative(String key) {
        return key != null && key.startsWith(prefix) ? key.substring(prefix.length()) : null;
    }

    /** The role of a key, given relative to the prefix. */
    static Role roleOf(String relative) {
        return switch (relative) {
            case LEADER -> Role.LEADER;
            case CONFIG -> Role.CONFIG;
            case INITIALIZE -> Role.INITIALIZE;
            case STATUS -> Role.STATUS;
            case LEGACY_OPTIME -> Role.LEGACY_OPTIME;
            case HISTORY -> Role.HISTORY;
            case FAILOVER -> Role.FAILOVER;
            case SYNC -> Role.SYNC;
            case FAILSAFE -> Role.FAILSAFE;
            default -> memberName(relative) != null ? Role.MEMBER : Role.FOREIGN;
        };
    }

    /** The member named by a relative {@code members/<name>} path, or null for anything else. */
    static String memberName(String relative) {
        if (!relative.startsWith(MEMBERS)) {
            return null;
        }
        String name = relative.substring(MEMBERS.length());
        return name.isEmpty() || name.contains("/") ? null : name;
    }

    /**
     * Whether a change of this key must wake a waiting HA loop: the keys it reacts to at once
     * ({@code leader}, {@code config}, {@code failover}, {@code sync}, {@code initialize}) and
     * members coming and going. Not a member rewriting its record, nor {@code status},
     * {@code history} or {@code failsafe}: every member rewrites those each cycle, and waking the
     * others for them would make the loops of a cluster wake each other in turn without end.
     */
    boolean wakesTheLoop(String key, Change.Kind kind) {
        String relative = relative(key);
        if (relative == null) {
            return false;
        }
        return switch (roleOf(relative)) {
            case LEADER, CONFIG, FAILOVER, SYNC, INITIALIZE -> true;
            case MEMBER -> kind != Change.Kind.UPDATED;
            default -> false;
        };
    }

    static String checkMemberName(String name) {
        return checkName("member name", name);
    }

    private static String checkScope(String scope) {
        return checkName("scope", scope);
    }

    private static String checkName(String what, String name) {
        if (name == null || name.isBlank() || name.contains("/")) {
            throw new IllegalArgumentException(what + " must be a non-empty name without '/', got '" + name + "'");
        }
        return name;
    }

    @Override
    public String toString() {
        return prefix;
    }
}
