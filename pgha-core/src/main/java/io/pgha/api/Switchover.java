package io.pgha.api;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsJson;
import io.pgha.dcs.Failover;
import io.pgha.dcs.Member;
import io.pgha.dcs.Tags;
import io.pgha.ha.NodeControl;
import io.pgha.rest.PatroniClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /switchover}, {@code POST /failover} and {@code DELETE /switchover} with Patroni's
 * validation and messages ({@code do_POST_failover}, {@code is_failover_possible},
 * {@code poll_failover_result}).
 *
 * <p>Where pgha differs: the result is reported truthfully. While the old leader is still
 * shutting down (its member state is stopping, or the {@code failover} key is still there and no
 * new leader holds the lock) the answer is never "failed": the call keeps waiting up to the bound
 * and then says the status is unknown. "failed" means the {@code failover} key is gone and the old
 * leader still holds the lock, running.
 */
final class Switchover {
    private static final Logger LOG = LoggerFactory.getLogger(Switchover.class);
    private static final Set<String> SHUTTING_DOWN =
            Set.of("stopping", "demoting", "stopped", "restarting", "starting");

    /** The longest member name accepted in a request. */
    static final int MAX_NAME_CHARS = 256;

    private final NodeControl node;
    /** Replaced by {@link #client(PatroniClient)} when the REST settings are reloaded. */
    private volatile PatroniClient client;

    private final ExecutorService executor;
    private final Clock clock;
    private final Duration pollInterval;
    private final Duration pollBound;

    /** {@code pollBound} null: Patroni's max(10, loop_wait) * 2 seconds. */
    Switchover(
            NodeControl node,
            PatroniClient client,
            ExecutorService executor,
            Clock clock,
            Duration pollInterval,
            Duration pollBound) {
        this.node = node;
        this.client = client;
        this.executor = executor;
        this.clock = clock;
        this.pollInterval = pollInterval;
        this.pollBound = pollBound;
    }

    /** The client of reloaded REST settings, for the calls from now on. */
    void client(PatroniClient next) {
        this.client = java.util.Objects.requireNonNull(next, "client");
    }

    Answer post(Map<String, Object> request, String requestedAction) throws ApiError, InterruptedException {
        String action = requestedAction;
        String leader = stringField(request, "leader");
        String candidate = stringField(request, "candidate");
        if (candidate == null) {
            candidate = stringField(request, "member");
        }
        Object scheduledRaw = request.get("scheduled_at");
        if (scheduledRaw != null && !(scheduledRaw instanceof String)) {
            throw new ApiError(
                    400,
                    "'scheduled_at' must be an ISO 8601 timestamp string, got: "
                            + Json.loggable(Json.write(scheduledRaw)));
        }
        String scheduledText = (String) scheduledRaw;
        ClusterState cluster = read();
        DynamicConfig config = DynamicConfig.from(
                cluster.config() == null ? Map.of() : cluster.config().data());
        LOG.info(
                "received {} request with leader={} candidate={} scheduled_at={}",
                action,
                Json.loggable(leader),
                Json.loggable(candidate),
                Json.loggable(scheduledText));

        int status = 400;
        String data = null;
        Instant scheduledAt = null;
        if (action.equals("failover") && candidate == null) {
            data = "Failover could be performed only to a specific candidate";
        } else if (action.equals("switchover") && leader == null) {
            data = "Switchover could be performed only from a specific leader";
        }
        if (data == null && scheduledText != null && !scheduledText.isEmpty()) {
            if (action.equals("failover")) {
                data = "Failover can't be scheduled";
            } else if (config.isPaused()) {
                data = "Can't schedule switchover in the paused state";
            } else {
                Schedule s = Schedule.parse(scheduledText, action, clock.instant());
                if (s.error() != null) {
                    status = s.status();
                    data = s.error();
                } else {
                    scheduledAt = s.at();
                }
            }
        }
        if (data == null && config.isPaused() && candidate == null) {
            data = "Switchover is possible only to a specific candidate in a paused state";
        }
        if (action.equals("failover") && leader != null) {
            LOG.warn("received failover request with leader specified - performing switchover instead");
            action = "switchover";
        }
        if (data == null && leader != null && leader.equals(candidate)) {
            data = "Switchover target and source are the same";
        }
        if (data == null && scheduledAt == null) {
            data = whyNotPossible(cluster, config, leader, candidate, action);
            if (data != null) {
                status = 412;
            }
        }
        if (data != null) {
            return new Answer(status, data);
        }

        long version =
                cluster.failover() == null ? Dcs.ABSENT : cluster.failover().version();
        try {
            if (!node.dcs().writeFailover(Failover.of(leader, candidate, scheduledAt), version)) {
                return new Answer(503, "failed to write failover key into DCS: it changed since it was read");
            }
        } catch (DcsException e) {
            return new Answer(503, "failed to write failover key into DCS: " + e.getMessage());
        }
        node.wakeUp();
        if (scheduledAt != null) {
            return new Answer(202, title(action) + " scheduled");
        }
        String oldLeader = cluster.leader() == null ? null : cluster.leader().name();
        return poll(oldLeader, candidate, action, config);
    }

    Answer delete() throws ApiError {
        ClusterState cluster = read();
        Failover f = cluster.failover();
        if (f == null || f.scheduledAt() == null) {
            return new Answer(404, "no switchover is scheduled");
        }
        try {
            if (!node.dcs().writeFailover(null, f.version())) {
                return new Answer(409, "the scheduled switchover changed since it was read; read it again and retry");
            }
        } catch (DcsException e) {
            return new Answer(503, "DCS is not accessible: " + e.getMessage());
        }
        node.wakeUp();
        return new Answer(200, "scheduled switchover deleted");
    }

    private ClusterState read() throws ApiError {
        try {
            return node.dcs().read();
        } catch (DcsException e) {
            throw new ApiError(503, "DCS is not accessible: " + e.getMessage());
        }
    }

    private static String stringField(Map<String, Object> request, String key) throws ApiError {
        Object v = request.get(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof String s)) {
            throw new ApiError(
                    400, "'" + key + "' must be a member name (a string), got: " + Json.loggable(Json.write(v)));
        }
        if (s.length() > MAX_NAME_CHARS) {
            throw new ApiError(400, "'" + key + "' is longer than " + MAX_NAME_CHARS + " characters");
        }
        return s.isEmpty() ? null : s;
    }

    /** Patroni's is_failover_possible: null when a good candidate answers, else why not. */
    private String whyNotPossible(
            ClusterState cluster, DynamicConfig config, String leader, String candidate, String action) {
        boolean strictSync = config.isSynchronousMode() && !"quorum".equals(config.synchronousMode());
        if (leader != null
                && (cluster.leader() == null || !cluster.leader().name().equals(leader))) {
            return "leader name does not match";
        }
        List<Member> members = new ArrayList<>();
        if (candidate != null) {
            if (action.equals("switchover") && strictSync && !ClusterJson.inSync(cluster, candidate)) {
                return "candidate name does not match with sync_standby";
            }
            cluster.member(candidate).ifPresent(members::add);
            if (members.isEmpty()) {
                return "candidate does not exists";
            }
        } else if (strictSync) {
            for (Member m : cluster.members()) {
                if (ClusterJson.inSync(cluster, m.name())) {
                    members.add(m);
                }
            }
            if (members.isEmpty()) {
                return action + " is not possible: can not find sync_standby";
            }
        } else {
            for (Member m : cluster.members()) {
                if (cluster.leader() == null
                        || (!m.name().equals(cluster.leader().name()) && m.apiUrl() != null)) {
                    members.add(m);
                }
            }
            if (members.isEmpty()) {
                return action + " is not possible: cluster does not have members except leader";
            }
        }
        List<CompletableFuture<Boolean>> checks = new ArrayList<>();
        for (Member m : members) {
            checks.add(CompletableFuture.supplyAsync(() -> canPromote(m), executor));
        }
        for (CompletableFuture<Boolean> c : checks) {
            if (c.join()) {
                return null;
            }
        }
        return action + " is not possible: no good candidates have been found";
    }

    /** Patroni's failover_limitation: reachable, no nofailover tag, no failed watchdog. */
    private boolean canPromote(Member m) {
        if (m.apiUrl() == null) {
            return false;
        }
        Optional<Map<String, Object>> status = client.getPatroni(m.apiUrl(), Duration.ofSeconds(2));
        if (status.isEmpty()) {
            LOG.info("{} cannot take over: not reachable", m.name());
            return false;
        }
        Object tags = status.get().get("tags");
        @SuppressWarnings("unchecked")
        Map<String, Object> tagMap = tags instanceof Map<?, ?> t ? (Map<String, Object>) t : Map.of();
        if (Tags.noFailover(tagMap)) {
            LOG.info("{} cannot take over: not allowed to promote", m.name());
            return false;
        }
        if (Tags.isTrue(status.get().get("watchdog_failed"))) {
            LOG.info("{} cannot take over: not watchdog capable", m.name());
            return false;
        }
        return true;
    }

    /** Waits for the outcome; see the class comment for when it says failed and when unknown. */
    private Answer poll(String oldLeader, String candidate, String action, DynamicConfig config)
            throws InterruptedException {
        Duration bound = pollBound != null
                ? pollBound
                : Duration.ofSeconds(Math.max(10, config.loopWait().toSeconds()) * 2);
        Instant deadline = clock.instant().plus(bound);
        String past = action.equals("switchover") ? "switched" : "failed";
        while (true) {
            Thread.sleep(pollInterval.toMillis());
            try {
                ClusterState c = node.dcs().read();
                String now = c.leader() == null ? null : c.leader().name();
                if (now != null && !now.equals(oldLeader)) {
                    if (candidate == null || candidate.equals(now)) {
                        return new Answer(200, "Successfully " + past + " over to \"" + now + "\"");
                    }
                    return new Answer(
                            200, capitalize(past) + " over to \"" + now + "\" instead of \"" + candidate + "\"");
                }
                if (c.failover() == null && now != null && now.equals(oldLeader) && !shuttingDown(c, oldLeader)) {
                    return new Answer(503, title(action) + " failed");
                }
            } catch (DcsException e) {
                LOG.debug("Exception occurred during polling {} result: {}", action, e.getMessage());
            }
            if (!clock.instant().isBefore(deadline)) {
                break;
            }
        }
        return new Answer(
                503,
                title(action) + " status unknown after " + bound.toSeconds()
                        + " seconds; operation may still be in progress");
    }

    private static boolean shuttingDown(ClusterState c, String oldLeader) {
        return c.member(oldLeader)
                .map(m -> m.state() != null && SHUTTING_DOWN.contains(m.state()))
                .orElse(true);
    }

    private static String title(String action) {
        return capitalize(action);
    }

    private static String capitalize(String s) {
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    /**
     * Patroni's parse_schedule: 400 without a time zone, 422 in the past or unparsable. Beyond
     * Patroni: a text longer than {@link #MAX_CHARS} is 422 unread, and a time more than
     * {@link #MAX_AHEAD} ahead is 400.
     */
    record Schedule(Instant at, int status, String error) {
        static final int MAX_CHARS = 64;
        static final Duration MAX_AHEAD = Duration.ofDays(366);

        static Schedule parse(String text, String action, Instant now) {
            String t = text.trim();
            if (t.length() > MAX_CHARS) {
                return new Schedule(
                        null,
                        422,
                        "Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601");
            }
            if (!hasZone(t)) {
                try {
                    DcsJson.parseTimestamp(t);
                    return new Schedule(null, 400, "Timezone information is mandatory for the scheduled " + action);
                } catch (IllegalArgumentException e) {
                    return new Schedule(
                            null,
                            422,
                            "Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601");
                }
            }
            Instant at;
            try {
                at = DcsJson.parseTimestamp(normalizeOffset(t));
            } catch (IllegalArgumentException e) {
                return new Schedule(
                        null,
                        422,
                        "Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601");
            }
            if (at.isBefore(now)) {
                return new Schedule(null, 422, "Cannot schedule " + action + " in the past");
            }
            if (at.isAfter(now.plus(MAX_AHEAD))) {
                return new Schedule(
                        null, 400, "Cannot schedule " + action + " more than " + MAX_AHEAD.toDays() + " days ahead");
            }
            return new Schedule(at, 0, null);
        }

        private static boolean hasZone(String t) {
            return t.endsWith("Z")
                    || t.matches(".*[T ]\\d{1,2}(:\\d{2}(:\\d{2}(\\.\\d+)?)?)?\\s*[+-]\\d{2}(:?\\d{2})?$");
        }

        /** {@code +02} and {@code +0200} become {@code +02:00}; a space before the offset goes. */
        private static String normalizeOffset(String t) {
            String s = t.replaceAll("\\s+([+-]\\d)", "$1");
            if (s.matches(".*[+-]\\d{2}$")) {
                return s + ":00";
            }
            if (s.matches(".*[+-]\\d{4}$")) {
                return s.substring(0, s.length() - 2) + ":" + s.substring(s.length() - 2);
            }
            return s;
        }
    }
}
