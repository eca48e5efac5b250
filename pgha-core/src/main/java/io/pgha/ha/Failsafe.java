package io.pgha.ha;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Member;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Patroni's failsafe mode, the pure half: what the {@code failsafe} key should hold, and which
 * members a primary cut off from the DCS must reach to go on. Stateless and thread-safe.
 *
 * <p>While the DCS works, the leader keeps {@code failsafe} = every member's name to its api_url.
 * When the DCS cannot be read, a primary named in the key POSTs /failsafe to every other member
 * listed there; only if every one answers {@code Accepted} does it keep running (beyond its lock's
 * expiry), and the node then treats that round as a proof of the lock for another ttl. A replica
 * that accepted such a call does not race for the lock for ttl after the call, even once the DCS is
 * back and the old leader key has lapsed, so the primary it agreed to keep stays the only one.
 */
final class Failsafe {

    private Failsafe() {}

    /** The {@code failsafe} key the leader wants: member name to api_url, members without one left out. */
    public static Map<String, String> wantedKey(ClusterState c) {
        Map<String, String> key = new LinkedHashMap<>();
        for (Member m : c.members()) {
            if (m.apiUrl() != null) {
                key.put(m.name(), m.apiUrl());
            }
        }
        return key;
    }

    /** The leader's writes of the key: kept current while failsafe mode is on, deleted when it is off. */
    public static List<Action> leaderActions(HaInput in, ClusterState c) {
        if (!in.config().isFailsafeMode()) {
            return c.failsafe() == null ? List.of() : List.of(new Action.WriteFailsafe(null));
        }
        Map<String, String> wanted = wantedKey(c);
        if (wanted.isEmpty() || Objects.equals(wanted, c.failsafe())) {
            return List.of();
        }
        return List.of(new Action.WriteFailsafe(wanted));
    }

    /**
     * The members {@code me} must reach, from the last {@code failsafe} key it read; null when it may
     * not use failsafe mode at all (no key, or the key does not name it). Empty: a single-node cluster.
     */
    public static Map<String, String> toReach(String me, Map<String, String> lastKey) {
        if (lastKey == null || !lastKey.containsKey(me)) {
            return null;
        }
        Map<String, String> others = new LinkedHashMap<>(lastKey);
        others.remove(me);
        return others;
    }
}
