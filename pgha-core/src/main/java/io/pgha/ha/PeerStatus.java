package io.pgha.ha;

import io.pgha.dcs.Tags;
import java.util.Map;

/**
 * Another member's answer to {@code GET /patroni}, as the leader race needs it.
 *
 * @param name the member
 * @param role {@code primary}, {@code master}, {@code replica}, {@code standby_leader}, ...
 * @param state {@code running}, {@code stopped}, ...
 * @param walPosition its WAL position (write LSN on a primary, max(received, replayed) on a replica)
 * @param timeline its timeline
 * @param noFailover it may not be promoted
 * @param failoverPriority its failover_priority tag (default 1)
 */
public record PeerStatus(
        String name,
        String role,
        String state,
        long walPosition,
        long timeline,
        boolean noFailover,
        int failoverPriority) {

    public boolean isPrimary() {
        return "running".equals(state) && ("primary".equals(role) || "master".equals(role));
    }

    /** Reads Patroni's GET /patroni JSON (xlog.location on a primary, received/replayed on a replica). */
    @SuppressWarnings("unchecked")
    public static PeerStatus fromPatroniJson(String name, Map<String, Object> json) {
        String role = json.get("role") == null
                ? null
                : io.pgha.dcs.RoleNames.normalize(json.get("role").toString());
        String state = json.get("state") == null ? null : json.get("state").toString();
        long wal = 0;
        if (json.get("xlog") instanceof Map<?, ?> xlog) {
            Map<String, Object> x = (Map<String, Object>) xlog;
            wal = Math.max(
                    asLong(x.get("location")),
                    Math.max(asLong(x.get("received_location")), asLong(x.get("replayed_location"))));
        }
        Map<String, Object> tags = json.get("tags") instanceof Map<?, ?> t ? (Map<String, Object>) t : Map.of();
        return new PeerStatus(
                name,
                role,
                state,
                wal,
                asLong(json.get("timeline")),
                Tags.noFailover(tags),
                Tags.failoverPriority(tags));
    }

    private static long asLong(Object o) {
        if (o instanceof Number n) {
            return n.longValue();
        }
        if (o instanceof String s) {
            try {
                return Long.parseLong(s);
            } catch (NumberFormatException e) {
                return 0;
            }
        }
        return 0;
    }
}
