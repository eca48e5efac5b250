package io.pgha.ha;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Member;
import io.pgha.dcs.Tags;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Whom a replica streams from, by Patroni's tags: nobody with {@code nostream} (WAL from its
 * {@code restore_command} only), the member its {@code replicatefrom} tag names (a cascade), else
 * the leader. The one place this is worked out: the replica uses it to choose its upstream, and
 * the leader uses the same function over the same snapshot to know which members stream from it
 * (their slots). Stateless.
 *
 * <p>Patroni 3.0.2 falls back to the leader only when the named member has no member key. pgha
 * also falls back while the named member cannot serve WAL: it publishes no {@code conn_url}, is
 * not running, is a replica that says it is not streaming itself (a member that restarts, or is
 * fed from the archive), or its own {@code replicatefrom} chain leads back to this member (two
 * members naming each other would otherwise both receive nothing). It moves back once the named
 * member can serve again.
 */
final class Upstream {

    /** What {@link HaInput#following()} holds for a replica that streams from nobody on purpose. */
    static final String NONE = "";

    private Upstream() {}

    /**
     * The member {@code name} (with {@code tags}) streams from: empty when it streams from nobody
     * ({@code nostream}, or no leader to fall back to).
     */
    static Optional<Member> of(String name, Map<String, Object> tags, ClusterState c) {
        if (Tags.isTrue(tags.get(Tags.NOSTREAM))) {
            return Optional.empty();
        }
        Optional<Member> leader = c.leaderMember().filter(m -> !m.name().equals(name) && m.connUrl() != null);
        String from = replicateFrom(tags);
        if (from == null || from.equals(name)) {
            return leader;
        }
        Optional<Member> named = c.member(from);
        if (named.isEmpty() || named.get().connUrl() == null) {
            return leader;
        }
        Member m = named.get();
        if (c.isLeader(m.name())) {
            return leader;
        }
        if (!canServe(m) || leadsBackTo(name, m, c)) {
            return leader;
        }
        return Optional.of(m);
    }

    /** The name {@link HaInput#following()} holds once the replica points at {@code upstream}. */
    static String nameOf(Optional<Member> upstream) {
        return upstream.map(Member::name).orElse(NONE);
    }

    /**
     * The members (other than {@code name}) whose upstream is {@code name}, each computed by
     * {@link #of} from its own published tags: on the leader, the members that get a slot.
     */
    static Set<String> streamingFrom(String name, ClusterState c) {
        Set<String> out = new LinkedHashSet<>();
        for (Member m : c.members()) {
            if (m.name().equals(name) || Tags.isTrue(m.tags().get(Tags.NOSTREAM))) {
                continue;
            }
            Optional<Member> u = of(m.name(), m.tags(), c);
            // a leader whose own record is missing for a moment still serves every member that
            // names no other upstream (its slots must not be dropped meanwhile)
            if (u.isPresent() ? u.get().name().equals(name) : c.isLeader(name)) {
                out.add(m.name());
            }
        }
        return out;
    }

    /** A short reason for the log: whom it follows and why. */
    static String describe(Optional<Member> upstream, Map<String, Object> tags, ClusterState c) {
        if (upstream.isEmpty()) {
            return Tags.isTrue(tags.get(Tags.NOSTREAM))
                    ? "not streaming (nostream): WAL from restore_command only"
                    : "no member to stream from";
        }
        String u = upstream.get().name();
        if (c.isLeader(u)) {
            String from = replicateFrom(tags);
            return from == null || from.equals(u)
                    ? "the leader (" + u + ")"
                    : "the leader (" + u + "), as replicatefrom's " + from + " cannot serve WAL now";
        }
        return u + " (replicatefrom)";
    }

    private static String replicateFrom(Map<String, Object> tags) {
        Object v = tags.get("replicatefrom");
        if (v == null) {
            return null;
        }
        String s = v.toString().trim();
        return s.isEmpty() ? null : s;
    }

    /** A running member that receives WAL itself (a member of a Patroni without replication_state too). */
    private static boolean canServe(Member m) {
        if (!m.isRunning()) {
            return false;
        }
        String state = m.string("replication_state");
        return state == null || state.equals("streaming");
    }

    /** Whether following {@code replicatefrom} from {@code start} comes back to {@code name}. */
    private static boolean leadsBackTo(String name, Member start, ClusterState c) {
        Set<String> seen = new HashSet<>();
        Member m = start;
        while (m != null && seen.add(m.name())) {
            String next = Tags.isTrue(m.tags().get(Tags.NOSTREAM)) ? null : replicateFrom(m.tags());
            if (next == null) {
                return false;
            }
            if (next.equals(name)) {
                return true;
            }
            m = c.member(next).orElse(null);
        }
        return false;
    }
}
