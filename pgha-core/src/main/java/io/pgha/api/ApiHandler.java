package io.pgha.api;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.Tags;
import io.pgha.ha.NodeControl;
import io.pgha.ha.NodeState;
import io.pgha.rest.RestApiConfig;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes every request to its endpoint and turns errors into plain-text answers. Stateless
 * beyond its collaborators; runs on the server's worker threads, one request per thread.
 */
final class ApiHandler implements HttpHandler {
    private static final Logger LOG = LoggerFactory.getLogger(ApiHandler.class);
    /** How long a request other than a health check waits for one of the permits. */
    static final Duration PERMIT_WAIT = Duration.ofSeconds(2);

    private static final Set<String> VIEWS =
            Set.of("/patroni", "/cluster", "/history", "/config", "/failsafe", "/metrics");

    private final NodeControl node;
    private final Switchover switchover;
    private final ScheduledExecutorService watchdog;
    private final Clock clock;
    private final String version;
    private final Instant startedAt;
    private final Semaphore permits;
    private final Reloads reloads;
    /**
     * What the {@code restapi} section says about each request (headers, limits, who may write),
     * swapped whole by {@link #apply} when the file is reloaded; a request reads it as it goes.
     */
    private volatile Settings settings;

    /** The settings a reload can change without binding again. */
    private record Settings(RestApiConfig config, AccessControl access, WriteGuard writeGuard) {}

    ApiHandler(
            RestApiConfig config,
            NodeControl node,
            AccessControl access,
            Switchover switchover,
            ScheduledExecutorService watchdog,
            java.util.concurrent.Executor background,
            Clock clock,
            String version) {
        this.node = node;
        this.settings = new Settings(config, access, new WriteGuard(config));
        this.switchover = switchover;
        this.watchdog = watchdog;
        this.clock = clock;
        this.version = version;
        this.startedAt = clock.instant();
        this.permits = new Semaphore(config.threadPoolSize(), true);
        this.reloads = new Reloads(node, background);
    }

    /**
     * A reload's new {@code restapi} settings: credentials, allowlist, client-certificate check,
     * extra headers, body limits. Requests that start from now on read them; {@code thread_pool_size}
     * stays as it was at start.
     */
    void apply(RestApiConfig config, AccessControl access) {
        settings = new Settings(config, access, new WriteGuard(config));
    }

    private AccessControl access() {
        return settings.access();
    }

    @Override
    public void handle(HttpExchange http) {
        RestApiConfig config = settings.config();
        ApiExchange ex = new ApiExchange(
                http,
                config.httpExtraHeaders(),
                config.maxBodyBytes(),
                config.readTimeout().toMillis(),
                watchdog);
        long start = System.nanoTime();
        boolean permit = false;
        try {
            if (!isHealthCheck(ex)) {
                if (!permits.tryAcquire(PERMIT_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                    throw new ApiError(503, "the REST API is busy, try again", Map.of("Retry-After", "1"));
                }
                permit = true;
            }
            route(ex);
        } catch (ApiError e) {
            answer(ex, e.status(), e.getMessage(), e.headers());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            answer(ex, 503, "interrupted: the REST API is shutting down", Map.of());
        } catch (IOException e) {
            LOG.debug(
                    "{} {} from {}: connection problem: {}", ex.method, ex.path, http.getRemoteAddress(), e.toString());
            http.close();
        } catch (RuntimeException e) {
            LOG.warn(
                    "Exception while processing {} {} from {}",
                    Json.loggable(ex.method),
                    Json.loggable(ex.path),
                    http.getRemoteAddress(),
                    e);
            answer(ex, 500, "internal error (see the node's log)", Map.of());
        } catch (StackOverflowError e) {
            LOG.warn(
                    "Stack overflow while processing {} {} from {}",
                    Json.loggable(ex.method),
                    Json.loggable(ex.path),
                    http.getRemoteAddress());
            answer(ex, 400, "request too deeply nested", Map.of());
        } finally {
            if (permit) {
                permits.release();
            }
            if (LOG.isDebugEnabled()) {
                LOG.debug(
                        "API thread: {} - \"{} {}\" {} latency: {} ms",
                        http.getRemoteAddress(),
                        ex.method,
                        http.getRequestURI(),
                        http.getResponseCode(),
                        (System.nanoTime() - start) / 1_000_000.0);
            }
        }
    }

    /**
     * {@code POST /reload} off the API thread (a reload re-reads the file and may wait for
     * PostgreSQL, which a clone can hold for long): requests coalesce, at most one reload runs and
     * one more is pending, and the caller waits for it at most {@link #RELOAD_WAIT}.
     */
    static final class Reloads {
        private final NodeControl node;
        private final java.util.concurrent.Executor executor;
        private final java.util.concurrent.atomic.AtomicBoolean pending =
                new java.util.concurrent.atomic.AtomicBoolean();
        private final java.util.concurrent.atomic.AtomicBoolean running =
                new java.util.concurrent.atomic.AtomicBoolean();
        private volatile java.util.concurrent.CompletableFuture<Void> current =
                java.util.concurrent.CompletableFuture.completedFuture(null);

        Reloads(NodeControl node, java.util.concurrent.Executor executor) {
            this.node = node;
            this.executor = executor;
        }

        /** Schedules a reload; true when none was running, false when it joined one (it runs after). */
        boolean request() throws InterruptedException {
            pending.set(true);
            boolean started = running.compareAndSet(false, true);
            if (started) {
                java.util.concurrent.CompletableFuture<Void> f = new java.util.concurrent.CompletableFuture<>();
                current = f;
                executor.execute(() -> drain(f));
            }
            try {
                current.get(RELOAD_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
                // still running (or failed, logged): the answer says scheduled, which is true
            }
            return started;
        }

        private void drain(java.util.concurrent.CompletableFuture<Void> done) {
            try {
                while (pending.getAndSet(false)) {
                    try {
                        node.reload();
                    } catch (RuntimeException e) {
                        LOG.warn("Reload failed", e);
                    }
                }
            } finally {
                running.set(false);
                done.complete(null);
                if (pending.get() && running.compareAndSet(false, true)) {
                    java.util.concurrent.CompletableFuture<Void> f = new java.util.concurrent.CompletableFuture<>();
                    current = f;
                    executor.execute(() -> drain(f));
                }
            }
        }
    }

    /** How long {@code POST /reload} waits for the reload before answering 202 anyway. */
    static final Duration RELOAD_WAIT = Duration.ofSeconds(2);

    /** A read of a health path: answered from memory, never waits for a permit. */
    private static boolean isHealthCheck(ApiExchange ex) {
        if (!ex.method.equals("GET") && !ex.method.equals("HEAD") && !ex.method.equals("OPTIONS")) {
            return false;
        }
        String p = ex.path.length() > 1 && ex.path.endsWith("/") ? ex.path.substring(0, ex.path.length() - 1) : ex.path;
        return HealthCheck.PATHS.contains(p) || p.equals("/liveness") || p.equals("/readiness");
    }

    private void answer(ApiExchange ex, int status, String message, Map<String, String> headers) {
        if (ex.answered()) {
            ex.http.close();
            return;
        }
        try {
            boolean close = status == 408 || status == 413;
            Map<String, String> h = close ? merge(headers, Map.of("Connection", "close")) : headers;
            ex.text(status, message, h);
        } catch (IOException e) {
            LOG.debug("Cannot answer {} {}: {}", ex.method, ex.path, e.toString());
            ex.http.close();
        }
    }

    private static Map<String, String> merge(Map<String, String> a, Map<String, String> b) {
        Map<String, String> m = new LinkedHashMap<>(a);
        m.putAll(b);
        return m;
    }

    private NodeState state() throws ApiError {
        NodeState s = node.state();
        if (s == null) {
            throw new ApiError(503, "the node has not finished its first HA cycle yet");
        }
        return s;
    }

    private NodeView view() throws ApiError {
        NodeState s = node.currentState();
        if (s == null) {
            throw new ApiError(503, "the node has not finished its first HA cycle yet");
        }
        return new NodeView(s, clock.instant(), version, node.extensions(), node.watchdogFailed());
    }

    private void route(ApiExchange ex) throws ApiError, IOException, InterruptedException {
        ex.checkLimits();
        if (WriteGuard.isWrite(ex.method)) {
            settings.writeGuard().check(ex.http.getRequestHeaders());
        }
        String path =
                ex.path.length() > 1 && ex.path.endsWith("/") ? ex.path.substring(0, ex.path.length() - 1) : ex.path;
        switch (ex.method) {
            case "GET", "HEAD", "OPTIONS" -> read(ex, path);
            case "POST" -> post(ex, path);
            case "PUT", "PATCH" -> {
                if (!path.equals("/config")) {
                    throw unsupported(ex);
                }
                access().check(ex.http, true);
                Map<String, Object> body = ex.jsonObject(false);
                Map<String, Object> result = ex.method.equals("PATCH")
                        ? ConfigWrites.patch(node.dcs(), body)
                        : ConfigWrites.put(node.dcs(), body);
                node.wakeUp();
                ex.json(200, result);
            }
            case "DELETE" -> {
                if (path.equals("/switchover")) {
                    access().check(ex.http, true);
                    Answer r = switchover.delete();
                    ex.text(r.status(), r.message());
                } else if (path.equals("/restart")) {
                    access().check(ex.http, true);
                    if (node.cancelScheduledRestart()) {
                        ex.text(200, "scheduled restart deleted");
                    } else {
                        ex.text(404, "no restarts are scheduled");
                    }
                } else {
                    throw unsupported(ex);
                }
            }
            default -> throw unsupported(ex);
        }
    }

    private static ApiError unsupported(ApiExchange ex) {
        return new ApiError(501, "Unsupported method ('" + ex.method + "') for " + ex.path);
    }

    private void read(ApiExchange ex, String path) throws ApiError, IOException {
        boolean codeOnly = !ex.method.equals("GET");
        if (HealthCheck.PATHS.contains(path) || path.equals("/readiness")) {
            HealthCheck.validate(ex.query);
        }
        if (HealthCheck.PATHS.contains(path)) {
            NodeView v = view();
            int status = HealthCheck.status(v, path, ex.query);
            if (codeOnly) {
                ex.statusOnly(status);
            } else {
                ex.json(status, v.statusJson());
            }
            return;
        }
        switch (path) {
            case "/liveness" -> {
                if (node.state() == null) {
                    // no cycle finished yet: alive while within 2 * the default ttl of the start
                    ex.statusOnly(startedAt.plusSeconds(2L * 30).isAfter(clock.instant()) ? 200 : 503);
                    return;
                }
                ex.statusOnly(HealthCheck.liveness(view(), clock.instant(), startedAt));
            }
            case "/readiness" -> {
                String reason = HealthCheck.notReadyReason(view(), ex.query);
                if (reason != null) {
                    LOG.debug("Readiness check failure: {}", reason);
                }
                ex.statusOnly(reason == null ? 200 : 503);
            }
            default -> {
                if (!VIEWS.contains(path)) {
                    throw new ApiError(404, "Not found: " + path);
                }
                if (codeOnly) {
                    ex.statusOnly(200);
                    return;
                }
                view(ex, path);
            }
        }
    }

    private void view(ApiExchange ex, String path) throws ApiError, IOException {
        switch (path) {
            case "/patroni" -> ex.json(200, view().statusJson());
            case "/cluster" -> {
                ClusterState c;
                try {
                    c = node.dcs().read();
                } catch (DcsException e) {
                    throw new ApiError(503, "DCS is not accessible: " + e.getMessage());
                }
                ex.json(200, ClusterJson.of(c, state().scope()));
            }
            case "/history" -> ex.json(200, ClusterJson.history(readOrCached()));
            case "/config" -> {
                ClusterState c = readOrCached();
                if (c.config() == null || c.config().version() == Dcs.ABSENT) {
                    throw new ApiError(502, "no configuration in the DCS");
                }
                ex.json(200, c.config().data());
            }
            case "/failsafe" -> {
                ClusterState c = state().cluster();
                if (c == null || c.failsafe() == null) {
                    throw new ApiError(502, "failsafe mode is not active (no failsafe key in the DCS)");
                }
                ex.json(200, c.failsafe());
            }
            case "/metrics" -> ex.prometheus(MetricsText.of(view()));
            default -> throw new ApiError(404, "Not found: " + path);
        }
    }

    /**
     * {@code POST /failsafe} comes from the primary that the last {@code failsafe} key read names,
     * with the api_url the key gives it, and not from a member other than the last leader seen; the
     * body is Patroni's ({@code name}, {@code api_url}, {@code conn_url}, {@code slots}) or pgha's
     * ({@code timeline} instead of {@code slots}) with the right types. 400 for a malformed body, 403
     * for a sender the key does not name; nothing changes then.
     */
    private void checkFailsafeSender(Map<String, Object> body) throws ApiError {
        if (!(body.get("name") instanceof String name) || name.isEmpty() || name.length() > 256) {
            throw new ApiError(400, "failsafe: 'name' must be a member name");
        }
        if (!(body.get("api_url") instanceof String apiUrl) || apiUrl.length() > 2048) {
            throw new ApiError(400, "failsafe: 'api_url' must be a URL");
        }
        Object connUrl = body.get("conn_url");
        if (connUrl != null && !(connUrl instanceof String)) {
            throw new ApiError(400, "failsafe: 'conn_url' must be a string");
        }
        Object slots = body.get("slots");
        if (slots != null) {
            if (!(slots instanceof Map<?, ?> m)
                    || !m.values().stream().allMatch(x -> x instanceof Long || x instanceof Integer)) {
                throw new ApiError(400, "failsafe: 'slots' must map slot names to LSNs");
            }
        }
        Object timeline = body.get("timeline");
        if (timeline != null && !(timeline instanceof Long || timeline instanceof Integer)) {
            throw new ApiError(400, "failsafe: 'timeline' must be an integer");
        }
        ClusterState c = state().cluster();
        Map<String, String> key = c == null ? null : c.failsafe();
        if (key == null || !apiUrl.equals(key.get(name))) {
            LOG.warn(
                    "POST /failsafe from {} refused: not named with that api_url in the failsafe key",
                    Json.loggable(name));
            throw new ApiError(403, "failsafe: the sender is not named in the failsafe key");
        }
        if (c.leader() != null && !c.leader().name().equals(name)) {
            LOG.warn(
                    "POST /failsafe from {} refused: the leader is {}",
                    name,
                    c.leader().name());
            throw new ApiError(403, "failsafe: the sender is not the leader");
        }
    }

    /** A fresh read, or the last snapshot when the DCS is out of reach (these views change rarely). */
    private ClusterState readOrCached() throws ApiError {
        try {
            return node.dcs().read();
        } catch (DcsException e) {
            ClusterState cached = node.state() == null ? null : node.state().cluster();
            if (cached == null) {
                throw new ApiError(503, "DCS is not accessible: " + e.getMessage());
            }
            return cached;
        }
    }

    private void post(ApiExchange ex, String path) throws ApiError, IOException, InterruptedException {
        switch (path) {
            case "/switchover", "/failover" -> {
                access().check(ex.http, true);
                Answer r = switchover.post(ex.jsonObject(false), path.substring(1));
                ex.text(r.status(), r.message());
            }
            case "/restart" -> {
                access().check(ex.http, true);
                Answer r = Restart.post(node, view(), ex.jsonObject(true), clock);
                ex.text(r.status(), r.message());
            }
            case "/reload" -> {
                access().check(ex.http, true);
                ex.text(202, reloads.request() ? "reload scheduled" : "reload scheduled (one is already running)");
            }
            case "/reinitialize" -> {
                access().check(ex.http, true);
                Map<String, Object> body = ex.jsonObject(true);
                boolean force = Tags.isTrue(body.get("force"));
                boolean fromLeader = Tags.isTrue(body.get("from_leader")) || Tags.isTrue(body.get("from-leader"));
                NodeState s = state();
                if (s.holdsLock()) {
                    throw new ApiError(503, "I am the leader, can not reinitialize");
                }
                if (s.cluster() != null && !s.cluster().hasLeader()) {
                    throw new ApiError(503, "Cluster has no leader, can not reinitialize");
                }
                try {
                    node.reinitialize(force, fromLeader);
                } catch (IllegalStateException e) {
                    throw new ApiError(503, e.getMessage() == null ? "reinitialize failed" : e.getMessage());
                }
                ex.text(200, "reinitialize started");
            }
            case "/failsafe" -> {
                access().check(ex.http, false);
                NodeView v = view();
                if (!v.config.isFailsafeMode()) {
                    throw new ApiError(502, "failsafe_mode is not enabled");
                }
                Map<String, Object> body = ex.jsonObject(false);
                if (v.pg != null && v.pg.isPrimary()) {
                    ex.text(500, "Running as a leader");
                    return;
                }
                checkFailsafeSender(body);
                node.failsafeHeartbeat(body);
                long lsn = v.pg == null ? 0 : v.pg.lastLsn();
                ex.text(200, "Accepted", Map.of("lsn", String.valueOf(lsn)));
            }
            default -> throw unsupported(ex);
        }
    }
}
