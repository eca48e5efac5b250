package io.pgha.api;

import io.pgha.dcs.Tags;
import io.pgha.ha.NodeControl;
import io.pgha.ha.RestartRequest;
import io.pgha.postgres.PostgresStatus;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code POST /restart} and {@code DELETE /restart}: Patroni's filters, schedule and codes. */
final class Restart {
    private static final Logger LOG = LoggerFactory.getLogger(Restart.class);

    /** The longest {@code timeout} accepted: a day. */
    static final long MAX_TIMEOUT_SECONDS = 86_400;

    private Restart() {}

    static Answer post(NodeControl node, NodeView view, Map<String, Object> request, Clock clock)
            throws InterruptedException {
        if (view.paused() && request.containsKey("schedule")) {
            return new Answer(500, "Can't schedule restart in the paused state");
        }
        Instant schedule = null;
        String role = null;
        String version = null;
        boolean pending = false;
        Duration timeout = null;
        for (Map.Entry<String, Object> e : request.entrySet()) {
            Object v = e.getValue();
            switch (e.getKey()) {
                case "schedule" -> {
                    if (!(v instanceof String s)) {
                        return new Answer(
                                422,
                                "Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601");
                    }
                    Switchover.Schedule parsed = Switchover.Schedule.parse(s, "restart", clock.instant());
                    if (parsed.error() != null) {
                        return new Answer(parsed.status(), parsed.error());
                    }
                    schedule = parsed.at();
                }
                case "role" -> {
                    String r = v == null ? "" : v.toString();
                    if (r.equals("master")) {
                        r = "primary";
                    }
                    if (!r.equals("primary") && !r.equals("standby_leader") && !r.equals("replica")) {
                        return new Answer(400, "PostgreSQL role should be either primary, standby_leader, or replica");
                    }
                    role = r;
                }
                case "postgres_version" -> {
                    try {
                        postgresVersionToInt(v == null ? "" : v.toString());
                    } catch (IllegalArgumentException ex) {
                        return new Answer(400, ex.getMessage());
                    }
                    version = v.toString();
                }
                case "timeout" -> {
                    Long seconds;
                    try {
                        seconds = Units.seconds(v);
                    } catch (Units.OutOfRange ex) {
                        seconds = null;
                    }
                    if (seconds == null || seconds <= 0 || seconds > MAX_TIMEOUT_SECONDS) {
                        return new Answer(400, "Timeout should be a positive number of seconds");
                    }
                    timeout = Duration.ofSeconds(seconds);
                }
                case "restart_pending" -> pending = Tags.isTrue(v);
                default -> {
                    return new Answer(400, "Unknown filter for the scheduled restart: " + e.getKey());
                }
            }
        }
        RestartRequest req = new RestartRequest(schedule, role, version, pending, timeout);
        if (schedule != null) {
            try {
                node.restart(req);
                return new Answer(202, "Restart scheduled");
            } catch (IllegalStateException e) {
                return new Answer(409, "Another restart is already scheduled");
            }
        }
        String mismatch = mismatch(view, req);
        if (mismatch != null) {
            LOG.info("not proceeding with the restart: {}", mismatch);
            return new Answer(503, "restart conditions are not satisfied");
        }
        try {
            return node.restart(req) ? new Answer(200, "restarted successfully") : new Answer(503, "restart failed");
        } catch (IllegalStateException e) {
            return new Answer(503, e.getMessage() == null ? "restart failed" : e.getMessage());
        } catch (RuntimeException e) {
            LOG.error("Exception during restart", e);
            return new Answer(503, "restart failed (see the node's log)");
        }
    }

    /** Patroni's restart_matches: the reason not to restart, or null. */
    static String mismatch(NodeView view, RestartRequest req) {
        if (req.role() != null && !req.role().equals(view.role())) {
            return "host role mismatch";
        }
        PostgresStatus pg = view.pg;
        if (req.postgresVersion() != null
                && pg != null
                && postgresVersionToInt(req.postgresVersion()) <= pg.serverVersion()) {
            return "postgres version mismatch";
        }
        if (req.restartPending() && (pg == null || !pg.pendingRestart())) {
            return "pending restart flag is not set";
        }
        return null;
    }

    /** 9.6.3 is 90603, 15.4 is 150004; anything else is an IllegalArgumentException with Patroni's message. */
    static int postgresVersionToInt(String version) {
        String[] parts = version.split("\\.", -1);
        int[] c = new int[parts.length];
        try {
            for (int i = 0; i < parts.length; i++) {
                c[i] = Integer.parseInt(parts[i]);
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Invalid PostgreSQL version: " + Json.loggable(version));
        }
        if (c.length < 2 || (c.length == 2 && c[0] < 10) || c.length > 3) {
            throw new IllegalArgumentException(
                    "Invalid PostgreSQL version format: X.Y or X.Y.Z is accepted: " + Json.loggable(version));
        }
        return c.length == 2 ? c[0] * 10000 + c[1] : c[0] * 10000 + c[1] * 100 + c[2];
    }
}
