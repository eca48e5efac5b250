package io.pgha.dcs.consul;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

/**
 * A test double of a Consul agent's HTTP API, for exactly what {@link ConsulStore} uses, following
 * Consul's documented semantics (API docs for /v1/kv and /v1/session, and the sessions guide):
 *
 * <ul>
 *   <li>{@code PUT /v1/session/create} (Name, TTL, Behavior release|delete, LockDelay, Checks),
 *       {@code PUT /v1/session/renew/<id>} (404 when unknown), {@code PUT /v1/session/destroy/<id>},
 *       {@code GET /v1/session/info/<id>}, {@code GET /v1/session/list}.</li>
 *   <li>Session TTL between {@code session_ttl_min} (10 s like Consul; a test may lower it as an
 *       operator can) and 24 h. A session that is not renewed is invalidated after
 *       {@code ttlMultiplier} times its TTL: 2 by default, as Consul does (its documented grace of up
 *       to twice the TTL); a test can set 1 to check that the adapter is right either way.</li>
 *   <li>Invalidation (TTL, {@link #invalidateSession}, destroy): keys held by the session are deleted
 *       (behavior delete) or released (behavior release), and each gets the session's lock-delay,
 *       during which {@code ?acquire} on it answers false.</li>
 *   <li>{@code GET /v1/kv/<key>} with {@code recurse}, {@code keys}, blocking {@code index} and
 *       {@code wait} (plus Consul's random jitter of up to wait/16), 404 when nothing matches, and
 *       the headers X-Consul-Index (the largest ModifyIndex under the key or prefix, deletes
 *       included), X-Consul-KnownLeader and X-Consul-LastContact.</li>
 *   <li>{@code PUT /v1/kv/<key>} with {@code cas} (0: only if absent), {@code acquire} (500
 *       "Invalid session" for an unknown session; false if another session holds the key or a
 *       lock-delay runs; LockIndex counts acquisitions), {@code release}, {@code flags}; answers
 *       {@code true}/{@code false}.</li>
 *   <li>{@code DELETE /v1/kv/<key>} with {@code cas} (true when deleted or already absent, like
 *       Consul's state store) and {@code recurse}.</li>
 *   <li>Optional ACL: with {@link #requireToken}, a request without that token (X-Consul-Token
 *       header, {@code ?token=} or a Bearer header) is answered 403 "ACL not found".</li>
 * </ul>
 *
 * <p>One raft index counts every write, as Consul's does. {@link #stop()} and {@link #start()}
 * simulate an unreachable agent on the same port; the store (the "servers") keeps its state and
 * its session timers while the agent is down.
 */
final class ConsulDouble implements Closeable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|µs|ms|s|m|h)");
    private static final long MAX_TTL_NANOS = TimeUnit.HOURS.toNanos(24);

    private final Object lock = new Object();
    // everything below is guarded by lock
    private long index = 1;
    private final TreeMap<String, Entry> kv = new TreeMap<>();
    private final Map<String, Long> tombstones = new HashMap<>();
    private final Map<String, Session> sessions = new LinkedHashMap<>();
    /** The agent's services by ID, as registered ({@code PUT /v1/agent/service/register}). */
    private final Map<String, Map<String, Object>> services = new LinkedHashMap<>();

    private final Map<String, Long> lockDelayUntil = new HashMap<>();
    private Duration sessionTtlMin = Duration.ofSeconds(10);
    private double ttlMultiplier = 2.0;
    private String requiredToken;
    private long requests;
    private HttpServer server;
    private int port;

    private final ExecutorService handlers = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "consul-double-http");
        t.setDaemon(true);
        return t;
    });
    private final ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "consul-double-ttl");
        t.setDaemon(true);
        return t;
    });

    private static final class Entry {
        final String key;
        byte[] value;
        long flags;
        long createIndex;
        long modifyIndex;
        long lockIndex;
        String session;

        Entry(String key) {
            this.key = key;
        }
    }

    private static final class Session {
        String id;
        String name;
        String ttl; // as given, "" when none
        long ttlNanos;
        String behavior;
        long lockDelayNanos;
        List<String> checks;
        long createIndex;
        long expiresAt; // System.nanoTime(); 0 = no TTL
    }

    private final SSLContext tls;
    private final boolean needClientAuth;

    private ConsulDouble(SSLContext tls, boolean needClientAuth) {
        this.tls = tls;
        this.needClientAuth = needClientAuth;
        // runs until close() shuts the sweeper down
        ScheduledFuture<?> unused = sweeper.scheduleWithFixedDelay(this::expireSessions, 20, 20, TimeUnit.MILLISECONDS);
    }

    /** A double listening on a free loopback port. */
    static ConsulDouble create() throws IOException {
        ConsulDouble d = new ConsulDouble(null, false);
        d.start();
        return d;
    }

    /** A double speaking HTTPS with this server context, optionally requiring a client certificate. */
    static ConsulDouble createHttps(SSLContext tls, boolean needClientAuth) throws IOException {
        ConsulDouble d = new ConsulDouble(tls, needClientAuth);
        d.start();
        return d;
    }

    ConsulDouble sessionTtlMin(Duration min) {
        synchronized (lock) {
            this.sessionTtlMin = min;
        }
        return this;
    }

    ConsulDouble ttlMultiplier(double multiplier) {
        synchronized (lock) {
            this.ttlMultiplier = multiplier;
        }
        return this;
    }

    ConsulDouble requireToken(String token) {
        synchronized (lock) {
            this.requiredToken = token;
        }
        return this;
    }

    int port() {
        synchronized (lock) {
            return port;
        }
    }

    String hostPort() {
        return "127.0.0.1:" + port();
    }

    long requestCount() {
        synchronized (lock) {
            return requests;
        }
    }

    /** (Re)starts the HTTP listener, on the same port as before once it had one. */
    void start() throws IOException {
        synchronized (lock) {
            if (server != null) {
                return;
            }
            IOException last = null;
            for (int attempt = 0; attempt < 50; attempt++) {
                try {
                    InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
                    HttpServer s;
                    if (tls == null) {
                        s = HttpServer.create(address, 64);
                    } else {
                        HttpsServer https = HttpsServer.create(address, 64);
                        https.setHttpsConfigurator(new HttpsConfigurator(tls) {
                            @Override
                            public void configure(HttpsParameters params) {
                                SSLParameters p = tls.getDefaultSSLParameters();
                                p.setNeedClientAuth(needClientAuth);
                                params.setSSLParameters(p);
                            }
                        });
                        s = https;
                    }
                    s.setExecutor(handlers);
                    s.createContext("/", this::handle);
                    s.start();
                    server = s;
                    port = s.getAddress().getPort();
                    return;
                } catch (BindException e) {
                    last = e;
                    try {
                        lock.wait(100);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        throw new IOException("interrupted while rebinding port " + port, ie);
                    }
                }
            }
            throw last;
        }
    }

    /** Stops the listener (connections are refused) and keeps the state: an agent that is down. */
    void stop() {
        HttpServer s;
        synchronized (lock) {
            s = server;
            server = null;
            lock.notifyAll(); // blocking queries end
        }
        if (s != null) {
            s.stop(0);
        }
    }

    @Override
    public void close() {
        stop();
        sweeper.shutdownNow();
        handlers.shutdownNow();
    }

    /** Invalidates a session now, as a failed health check would. */
    void invalidateSession(String id) {
        synchronized (lock) {
            invalidate(id);
        }
    }

    List<String> sessionIds() {
        synchronized (lock) {
            return List.copyOf(sessions.keySet());
        }
    }

    Optional<Map<String, Object>> sessionInfo(String id) {
        synchronized (lock) {
            Session s = sessions.get(id);
            return s == null ? Optional.empty() : Optional.of(info(s));
        }
    }

    /** A key as Consul's JSON would show it, or empty. */
    Optional<Map<String, Object>> entry(String key) {
        synchronized (lock) {
            Entry e = kv.get(key);
            return e == null ? Optional.empty() : Optional.of(json(e));
        }
    }

    // ------------------------------------------------------------------ HTTP

    private void handle(HttpExchange ex) {
        try (ex) {
            synchronized (lock) {
                requests++;
            }
            String path = ex.getRequestURI().getRawPath();
            Map<String, String> q = query(ex.getRequestURI().getRawQuery());
            if (!authorized(ex, q)) {
                send(ex, 403, "ACL not found");
                return;
            }
            String method = ex.getRequestMethod();
            if (path.startsWith("/v1/kv/")) {
                String key = URLDecoder.decode(path.substring("/v1/kv/".length()), StandardCharsets.UTF_8);
                switch (method) {
                    case "GET" -> kvGet(ex, key, q);
                    case "PUT" -> kvPut(ex, key, q, ex.getRequestBody().readAllBytes());
                    case "DELETE" -> kvDelete(ex, key, q);
                    default -> send(ex, 405, "method " + method + " not allowed");
                }
            } else if (path.equals("/v1/session/create") && method.equals("PUT")) {
                sessionCreate(ex, ex.getRequestBody().readAllBytes());
            } else if (path.startsWith("/v1/session/renew/") && method.equals("PUT")) {
                sessionRenew(ex, path.substring("/v1/session/renew/".length()));
            } else if (path.startsWith("/v1/session/destroy/") && method.equals("PUT")) {
                synchronized (lock) {
                    invalidate(path.substring("/v1/session/destroy/".length()));
                }
                send(ex, 200, "true");
            } else if (path.startsWith("/v1/session/info/") && method.equals("GET")) {
                List<Object> out = new ArrayList<>();
                synchronized (lock) {
                    Session s = sessions.get(path.substring("/v1/session/info/".length()));
                    if (s != null) {
                        out.add(info(s));
                    }
                }
                sendJson(ex, 200, out);
            } else if (path.equals("/v1/session/list") && method.equals("GET")) {
                List<Object> out = new ArrayList<>();
                synchronized (lock) {
                    sessions.values().forEach(s -> out.add(info(s)));
                }
                sendJson(ex, 200, out);
            } else if (path.equals("/v1/agent/service/register") && method.equals("PUT")) {
                @SuppressWarnings("unchecked")
                Map<String, Object> def = new com.fasterxml.jackson.databind.ObjectMapper()
                        .readValue(ex.getRequestBody().readAllBytes(), Map.class);
                Object name = def.get("Name");
                if (name == null) {
                    send(ex, 400, "Missing service name");
                    return;
                }
                synchronized (lock) {
                    services.put(String.valueOf(def.getOrDefault("ID", name)), def);
                }
                send(ex, 200, "");
            } else if (path.startsWith("/v1/agent/service/deregister/") && method.equals("PUT")) {
                String id = URLDecoder.decode(
                        path.substring("/v1/agent/service/deregister/".length()), StandardCharsets.UTF_8);
                synchronized (lock) {
                    services.remove(id);
                }
                send(ex, 200, "");
            } else {
                send(ex, 404, "no handler for " + method + " " + path + " in the Consul double");
            }
        } catch (IOException | RuntimeException e) {
            // the client went away (or the listener stopped under us): nothing to answer
        }
    }

    private boolean authorized(HttpExchange ex, Map<String, String> q) {
        String required;
        synchronized (lock) {
            required = requiredToken;
        }
        if (required == null) {
            return true;
        }
        String token = ex.getRequestHeaders().getFirst("X-Consul-Token");
        if (token == null) {
            token = q.get("token");
        }
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        if (token == null && auth != null && auth.startsWith("Bearer ")) {
            token = auth.substring("Bearer ".length());
        }
        return required.equals(token);
    }

    // ------------------------------------------------------------------ sessions

    private void sessionCreate(HttpExchange ex, byte[] body) throws IOException {
        Map<String, Object> req =
                new TreeMap<>(String.CASE_INSENSITIVE_ORDER); // Go decodes JSON keys case-insensitively
        if (body.length > 0) {
            req.putAll(JSON.readValue(body, new TypeReference<Map<String, Object>>() {}));
        }
        Session s = new Session();
        s.id = UUID.randomUUID().toString();
        s.name = req.get("Name") == null ? "" : req.get("Name").toString();
        s.ttl = req.get("TTL") == null ? "" : req.get("TTL").toString();
        s.behavior =
                req.get("Behavior") == null || req.get("Behavior").toString().isEmpty()
                        ? "release"
                        : req.get("Behavior").toString();
        s.checks = new ArrayList<>();
        if (req.get("Checks") instanceof List<?> l) {
            l.forEach(c -> s.checks.add(String.valueOf(c)));
        } else if (!req.containsKey("Checks") && !req.containsKey("NodeChecks") && !req.containsKey("ServiceChecks")) {
            s.checks.add("serfHealth"); // Consul's default
        }
        try {
            s.ttlNanos = s.ttl.isEmpty() ? 0 : parseDuration(s.ttl);
            Object ld = req.get("LockDelay");
            if (ld == null) {
                s.lockDelayNanos = TimeUnit.SECONDS.toNanos(15);
            } else if (ld instanceof Number n) {
                // Consul: a number below 1000 is seconds, otherwise nanoseconds
                s.lockDelayNanos = n.doubleValue() < 1000 ? (long) (n.doubleValue() * 1e9) : n.longValue();
            } else {
                s.lockDelayNanos = parseDuration(ld.toString());
            }
        } catch (IllegalArgumentException e) {
            send(ex, 400, "Request decode failed: " + e.getMessage());
            return;
        }
        if (!s.behavior.equals("release") && !s.behavior.equals("delete")) {
            send(ex, 500, "Invalid Behavior setting '" + s.behavior + "'");
            return;
        }
        if (s.lockDelayNanos > TimeUnit.SECONDS.toNanos(60)) {
            send(ex, 500, "Lock delay must be less than 60s");
            return;
        }
        synchronized (lock) {
            if (s.ttlNanos != 0 && (s.ttlNanos < sessionTtlMin.toNanos() || s.ttlNanos > MAX_TTL_NANOS)) {
                send(
                        ex,
                        500,
                        "Invalid Session TTL '" + s.ttl + "', must be between [" + sessionTtlMin.toSeconds()
                                + "s=24h0m0s]");
                return;
            }
            s.createIndex = ++index;
            if (s.ttlNanos > 0) {
                s.expiresAt = System.nanoTime() + (long) (s.ttlNanos * ttlMultiplier);
            }
            sessions.put(s.id, s);
            lock.notifyAll();
        }
        sendJson(ex, 200, Map.of("ID", s.id));
    }

    private void sessionRenew(HttpExchange ex, String id) throws IOException {
        Map<String, Object> out;
        synchronized (lock) {
            Session s = sessions.get(id);
            if (s == null) {
                out = null;
            } else {
                if (s.ttlNanos > 0) {
                    s.expiresAt = System.nanoTime() + (long) (s.ttlNanos * ttlMultiplier);
                }
                out = info(s);
            }
        }
        if (out == null) {
            send(ex, 404, "Session id '" + id + "' not found");
        } else {
            sendJson(ex, 200, List.of(out));
        }
    }

    private void expireSessions() {
        synchronized (lock) {
            long now = System.nanoTime();
            for (Session s : List.copyOf(sessions.values())) {
                if (s.expiresAt != 0 && now - s.expiresAt >= 0) {
                    invalidate(s.id);
                }
            }
        }
    }

    /** Caller holds lock. Applies the behavior and the lock-delay to every key the session holds. */
    private void invalidate(String id) {
        Session s = sessions.remove(id);
        if (s == null) {
            return;
        }
        long idx = ++index;
        long now = System.nanoTime();
        for (Entry e : List.copyOf(kv.values())) {
            if (id.equals(e.session)) {
                if (s.behavior.equals("delete")) {
                    kv.remove(e.key);
                    tombstones.put(e.key, idx);
                } else {
                    e.session = null;
                    e.modifyIndex = idx;
                }
                if (s.lockDelayNanos > 0) {
                    lockDelayUntil.put(e.key, now + s.lockDelayNanos);
                }
            }
        }
        lock.notifyAll();
    }

    private static Map<String, Object> info(Session s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ID", s.id);
        m.put("Name", s.name);
        m.put("Node", "consul-double");
        m.put("Checks", s.checks);
        m.put("LockDelay", s.lockDelayNanos);
        m.put("Behavior", s.behavior);
        m.put("TTL", s.ttl);
        m.put("CreateIndex", s.createIndex);
        m.put("ModifyIndex", s.createIndex);
        return m;
    }

    // ------------------------------------------------------------------ kv

    private void kvGet(HttpExchange ex, String key, Map<String, String> q) throws IOException {
        boolean recurse = q.containsKey("recurse") || q.containsKey("keys");
        long deadline = 0;
        long wanted = 0;
        if (q.containsKey("index")) {
            wanted = Long.parseLong(q.get("index"));
            long wait = q.containsKey("wait") ? parseDuration(q.get("wait")) : TimeUnit.MINUTES.toNanos(5);
            wait = Math.min(wait, TimeUnit.MINUTES.toNanos(10));
            wait += ThreadLocalRandom.current().nextLong(wait / 16 + 1); // Consul adds up to wait/16
            deadline = System.nanoTime() + wait;
        }
        List<Object> out = new ArrayList<>();
        long idx;
        synchronized (lock) {
            HttpServer serving = server;
            while (wanted > 0 && indexOf(key, recurse) <= wanted && server == serving && server != null) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                try {
                    lock.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            idx = indexOf(key, recurse);
            for (Entry e : recurse ? kv.tailMap(key, true).values() : List.<Entry>of()) {
                if (!e.key.startsWith(key)) {
                    break;
                }
                out.add(q.containsKey("keys") ? e.key : json(e));
            }
            if (!recurse && kv.containsKey(key)) {
                out.add(json(kv.get(key)));
            }
        }
        ex.getResponseHeaders().set("X-Consul-Index", Long.toString(idx));
        ex.getResponseHeaders().set("X-Consul-KnownLeader", "true");
        ex.getResponseHeaders().set("X-Consul-LastContact", "0");
        if (out.isEmpty()) {
            ex.sendResponseHeaders(404, -1);
        } else {
            sendJson(ex, 200, out);
        }
    }

    /** Caller holds lock: the largest index that touched the key (or the prefix), deletes included; at least 1. */
    private long indexOf(String key, boolean prefix) {
        long max = 1;
        if (prefix) {
            for (Entry e : kv.tailMap(key, true).values()) {
                if (!e.key.startsWith(key)) {
                    break;
                }
                max = Math.max(max, e.modifyIndex);
            }
            for (Map.Entry<String, Long> t : tombstones.entrySet()) {
                if (t.getKey().startsWith(key)) {
                    max = Math.max(max, t.getValue());
                }
            }
        } else {
            Entry e = kv.get(key);
            max = Math.max(max, e == null ? 0 : e.modifyIndex);
            max = Math.max(max, tombstones.getOrDefault(key, 0L));
        }
        return max;
    }

    private void kvPut(HttpExchange ex, String key, Map<String, String> q, byte[] value) throws IOException {
        boolean result;
        synchronized (lock) {
            Entry existing = kv.get(key);
            long flags = q.containsKey("flags") ? Long.parseLong(q.get("flags")) : 0;
            if (q.containsKey("acquire")) {
                String sid = q.get("acquire");
                if (!sessions.containsKey(sid)) {
                    send(ex, 500, "Invalid session \"" + sid + "\"");
                    return;
                }
                Long delay = lockDelayUntil.get(key);
                if (delay != null && System.nanoTime() - delay < 0) {
                    result = false;
                } else if (existing != null && existing.session != null && !existing.session.equals(sid)) {
                    result = false;
                } else {
                    Entry e = write(key, value, flags);
                    if (!sid.equals(e.session)) {
                        e.session = sid;
                        e.lockIndex++;
                    }
                    result = true;
                }
            } else if (q.containsKey("release")) {
                String sid = q.get("release");
                if (existing == null || !sid.equals(existing.session)) {
                    result = false;
                } else {
                    Entry e = write(key, value, flags);
                    e.session = null;
                    result = true;
                }
            } else if (q.containsKey("cas")) {
                long cas = Long.parseLong(q.get("cas"));
                if (cas == 0 ? existing != null : existing == null || existing.modifyIndex != cas) {
                    result = false;
                } else {
                    write(key, value, flags);
                    result = true;
                }
            } else {
                write(key, value, flags);
                result = true;
            }
            if (result) {
                lock.notifyAll();
            }
        }
        send(ex, 200, Boolean.toString(result));
    }

    /** Caller holds lock: sets the value with a new ModifyIndex, keeping any lock. */
    private Entry write(String key, byte[] value, long flags) {
        long idx = ++index;
        Entry e = kv.get(key);
        if (e == null) {
            e = new Entry(key);
            e.createIndex = idx;
            kv.put(key, e);
            tombstones.remove(key);
        }
        e.value = value;
        e.flags = flags;
        e.modifyIndex = idx;
        return e;
    }

    private void kvDelete(HttpExchange ex, String key, Map<String, String> q) throws IOException {
        boolean result = true;
        synchronized (lock) {
            if (q.containsKey("recurse")) {
                List<String> doomed = new ArrayList<>();
                for (String k : kv.tailMap(key, true).keySet()) {
                    if (!k.startsWith(key)) {
                        break;
                    }
                    doomed.add(k);
                }
                if (!doomed.isEmpty()) {
                    long idx = ++index;
                    doomed.forEach(k -> {
                        kv.remove(k);
                        tombstones.put(k, idx);
                    });
                }
            } else {
                Entry existing = kv.get(key);
                if (q.containsKey("cas")) {
                    long cas = Long.parseLong(q.get("cas"));
                    // Consul's kvsDeleteCAS: a missing key counts as deleted (true); a different index is false
                    if (existing != null && existing.modifyIndex != cas) {
                        result = false;
                    }
                }
                if (result && existing != null) {
                    kv.remove(key);
                    tombstones.put(key, ++index);
                }
            }
            lock.notifyAll();
        }
        send(ex, 200, Boolean.toString(result));
    }

    private static Map<String, Object> json(Entry e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("LockIndex", e.lockIndex);
        m.put("Key", e.key);
        m.put("Flags", e.flags);
        m.put(
                "Value",
                e.value == null || e.value.length == 0
                        ? null
                        : Base64.getEncoder().encodeToString(e.value));
        if (e.session != null) {
            m.put("Session", e.session);
        }
        m.put("CreateIndex", e.createIndex);
        m.put("ModifyIndex", e.modifyIndex);
        return m;
    }

    // ------------------------------------------------------------------ helpers

    private static Map<String, String> query(String raw) {
        Map<String, String> q = new HashMap<>();
        if (raw == null || raw.isEmpty()) {
            return q;
        }
        for (String part : raw.split("&", -1)) {
            int eq = part.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? part : part.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8);
            q.put(k, v);
        }
        return q;
    }

    /** A Go duration ("10s", "1.5s", "1ms", "1m30s"); a bare number is seconds. */
    static long parseDuration(String text) {
        String t = text.trim();
        if (t.matches("\\d+(\\.\\d+)?")) {
            return (long) (Double.parseDouble(t) * 1e9);
        }
        Matcher m = DURATION.matcher(t);
        long total = 0;
        int end = 0;
        while (m.find()) {
            if (m.start() != end) {
                throw new IllegalArgumentException("time: invalid duration \"" + text + "\"");
            }
            double n = Double.parseDouble(m.group(1));
            double unit = switch (m.group(2)) {
                case "ns" -> 1;
                case "us", "µs" -> 1e3;
                case "ms" -> 1e6;
                case "s" -> 1e9;
                case "m" -> 60e9;
                default -> 3600e9;
            };
            total += (long) (n * unit);
            end = m.end();
        }
        if (end != t.length() || t.isEmpty()) {
            throw new IllegalArgumentException("time: invalid duration \"" + text + "\"");
        }
        return total;
    }

    /** The agent's registered services by ID (copies). */
    Map<String, Map<String, Object>> services() {
        synchronized (lock) {
            return new LinkedHashMap<>(services);
        }
    }

    private static void send(HttpExchange ex, int code, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        ex.sendResponseHeaders(code, b.length == 0 ? -1 : b.length);
        if (b.length > 0) {
            try (OutputStream os = ex.getResponseBody()) {
                os.write(b);
            }
        }
    }

    private static void sendJson(HttpExchange ex, int code, Object body) throws IOException {
        byte[] b = JSON.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(code, b.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(b);
        }
    }

    @Override
    public String toString() {
        return "ConsulDouble{127.0.0.1:" + port() + "}";
    }
}
