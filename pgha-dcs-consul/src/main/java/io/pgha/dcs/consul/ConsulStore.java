package io.pgha.dcs.consul;

import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsSettings;
import io.pgha.dcs.spi.ChangeListener;
import io.pgha.dcs.spi.ClusterStore;
import io.pgha.dcs.spi.StoredTree;
import io.pgha.dcs.spi.StoredValue;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.kiwiproject.consul.Consul;
import org.kiwiproject.consul.ConsulException;
import org.kiwiproject.consul.KeyValueClient;
import org.kiwiproject.consul.model.ConsulResponse;
import org.kiwiproject.consul.model.kv.Value;
import org.kiwiproject.consul.option.ConsistencyMode;
import org.kiwiproject.consul.option.ImmutablePutOptions;
import org.kiwiproject.consul.option.ImmutableQueryOptions;
import org.kiwiproject.consul.option.PutOptions;
import org.kiwiproject.consul.option.QueryOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The storage primitives of Consul's HTTP API ({@link ClusterStore}), as Patroni uses Consul: keys
 * without a leading slash, the member's keys held by its session with {@code ?acquire}, and
 * compare-and-set on {@code ModifyIndex}.
 *
 * <h2>TTL</h2>
 * One Consul session per member ({@link ConsulSession}: TTL ttl/2, behavior delete). The lock and
 * the member record are written with {@code ?acquire=<session>}: they are deleted when the session
 * is invalidated or destroyed. Each renewal of the lock and each write of the member record renews
 * the session; the lock is only ever claimed on the current one. A key holding this member's name
 * or record under another session is that of this member's previous process (killed and restarted
 * while its PostgreSQL ran on, its session not yet invalidated): as Patroni does, it is deleted
 * with {@code cas} on its ModifyIndex and acquired again with the current session.
 *
 * <h2>Compare-and-set</h2>
 * {@code ?cas=<ModifyIndex>} ({@link Dcs#ABSENT} is {@code cas=0}, {@link Dcs#ANY} no cas), deletes
 * with {@code DELETE ?cas=<ModifyIndex>} (see {@link RawConsul} for why that one, and session
 * creation, are raw HTTP calls).
 *
 * <h2>Errors and time</h2>
 * Every request is bounded by {@link DcsSettings#retryTimeout()} (connect, write and read time
 * together); an unreachable agent or an error status is a {@link DcsException} naming the agent's
 * URL and the operation.
 *
 * <h2>Own writes and the watch</h2>
 * A PUT is answered with true or false only, so a write cannot tell its ModifyIndex: each
 * successful write reports its key as this member's own until the next read
 * ({@link ChangeListener#wroteWithoutRevision}). The watch ({@link ConsulWatch}) runs blocking
 * queries on a thread of its own, started by the first wait.
 *
 * <h2>Concurrency</h2>
 * Thread-safe. Session creation, renewal and replacement are serialized by {@link ConsulSession};
 * other calls run concurrently.
 */
final class ConsulStore implements ClusterStore {
    private static final Logger LOG = LoggerFactory.getLogger(ConsulStore.class);

    private static final Duration WATCH_WAIT = Duration.ofSeconds(10);

    private final ConsulOptions options;
    private final ConsulTls tls;
    private volatile long timeoutMillis;
    private final String url;
    private final String name;
    private volatile Consul consul;
    private volatile KeyValueClient kv;
    /** Clients replaced by {@link #setRetryTimeout}, destroyed at close (a call may still run on one). */
    private final List<Consul> retired = new java.util.concurrent.CopyOnWriteArrayList<>();

    private final RawConsul raw;
    private final AtomicBoolean closed = new AtomicBoolean();

    private final ConsulSession session;
    /** Patroni's register_service; null when off. */
    private final ConsulService service;

    private volatile ChangeListener listener;
    /** The session each member record was last acquired with by this store, and its value. */
    private final Map<String, String> writtenUnder = new java.util.concurrent.ConcurrentHashMap<>();

    private final Map<String, String> writtenValue = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile ConsulWatch watch;

    ConsulStore(DcsSettings settings, ConsulOptions options) {
        this.options = options;
        this.url = options.baseUrl();
        this.name = settings.name();
        this.tls = options.https() ? ConsulTls.from(options) : null;
        this.timeoutMillis = Math.max(100, settings.retryTimeout().toMillis());
        long t = timeoutMillis;
        this.consul = boundedClient(t);
        this.kv = consul.keyValueClient();
        this.raw = new RawConsul(options, tls, Duration.ofMillis(t));
        this.service = options.registerService()
                ? new ConsulService(
                        raw,
                        settings.scope(),
                        settings.name(),
                        options,
                        settings.ttl().toSeconds())
                : null;
        this.session = new ConsulSession(settings, options, consul.sessionClient(), raw, new ConsulSession.Keys() {
            @Override
            public Optional<Value> get(String key) throws DcsException {
                return ConsulStore.this.get(key);
            }

            @Override
            public boolean put(String key, String value, ImmutablePutOptions.Builder opts) throws DcsException {
                return ConsulStore.this.put(key, value, opts);
            }
        });
    }

    /** A client whose connect, write and read time together stay within {@code t} ms (retry_timeout). */
    private Consul boundedClient(long t) {
        return client(t / 4, t / 2, t / 4);
    }

    /**
     * {@code retry_timeout} changed in the dynamic configuration: the next requests are bounded by
     * the new value, as on etcd. The client library fixes its timeouts when built, so a new one
     * replaces it (the old one is destroyed at close: a call may still be running on it); the watch's
     * blocking queries keep theirs.
     */
    @Override
    public synchronized void setRetryTimeout(Duration retryTimeout) {
        long t = Math.max(100, retryTimeout.toMillis());
        if (t == timeoutMillis || closed.get()) {
            return;
        }
        Consul fresh = boundedClient(t);
        retired.add(consul);
        consul = fresh;
        kv = fresh.keyValueClient();
        session.sessions(fresh.sessionClient());
        raw.timeout(Duration.ofMillis(t));
        timeoutMillis = t;
        LOG.info("{}: requests to the Consul agent at {} now bounded by retry_timeout {} ms", name, url, t);
    }

    private Consul client(long connectMs, long readMs, long writeMs) {
        Consul.Builder b = Consul.builder()
                .withUrl(url)
                .withPing(false) // connect lazily: an agent that is down now is a DcsException later, not here
                .withConnectTimeoutMillis(connectMs)
                .withReadTimeoutMillis(readMs)
                .withWriteTimeoutMillis(writeMs);
        if (options.token() != null) {
            b.withAclToken(options.token());
        }
        if (tls != null) {
            b.withSslContext(tls.sslContext()).withTrustManager(tls.trustManager());
            if (tls.hostnameVerifier() != null) {
                b.withHostnameVerifier(tls.hostnameVerifier());
            }
        }
        return b.build();
    }

    /** The current session's id, or null (for tests and diagnostics). */
    String sessionId() {
        return session.id();
    }

    // ---------------------------------------------------------------- read

    /** {@code GET <prefix>?recurse}; versions are ModifyIndexes, the revision the X-Consul-Index. */
    @Override
    public StoredTree readTree(String prefix) throws DcsException {
        ConsulResponse<List<Value>> resp =
                call("read " + prefix, () -> kv.getConsulResponseWithValues(prefix, query()));
        List<Value> found = resp.getResponse() == null ? List.of() : resp.getResponse();
        List<StoredValue> values = new ArrayList<>(found.size());
        Map<String, Long> indexes = new HashMap<>();
        for (Value v : found) {
            values.add(new StoredValue(v.getKey(), text(v), v.getModifyIndex()));
            indexes.put(v.getKey(), v.getModifyIndex());
        }
        long index = resp.getIndex() == null ? 0 : resp.getIndex().longValue();
        ConsulWatch w = watch;
        if (w != null) {
            w.onRead(index, indexes);
        }
        return new StoredTree(values, index);
    }

    /** A value as text; a key with an empty value has Value null in Consul's JSON and reads as "". */
    static String text(Value v) {
        return v.getValueAsString(StandardCharsets.UTF_8).orElse("");
    }

    private QueryOptions query() {
        ImmutableQueryOptions.Builder q = ImmutableQueryOptions.builder();
        switch (options.consistency()) {
            case "consistent" -> q.consistencyMode(ConsistencyMode.CONSISTENT);
            case "stale" -> q.consistencyMode(ConsistencyMode.STALE);
            default -> q.consistencyMode(ConsistencyMode.DEFAULT);
        }
        if (options.dc() != null) {
            q.datacenter(options.dc());
        }
        return q.build();
    }

    private Optional<Value> get(String key) throws DcsException {
        return call("read " + key, () -> kv.getValue(key, query()));
    }

    private static boolean invalidSession(ConsulException e) {
        String m = e.getMessage() == null ? "" : e.getMessage().toLowerCase(Locale.ROOT);
        return e.hasCode() && e.getCode() == 500 && m.contains("invalid session");
    }

    // ---------------------------------------------------------------- the lock

    /** {@code PUT key?acquire=<session>}: Consul refuses while another session holds the key; a key no session holds is free. */
    @Override
    public boolean acquireLock(String key, String holder) throws DcsException {
        return putWithSession(key, holder);
    }

    /**
     * Renews the session and proves that the key holds our name under it. A key holding our name
     * under another session (this member's previous process, killed and restarted while its
     * PostgreSQL ran on, whose session Consul has not invalidated yet) or under none is taken over
     * as Patroni does: deleted with {@code cas} on the ModifyIndex just read, then acquired with our
     * session. Neither step can overwrite another member's lock: the delete fails once the key has
     * changed, the acquire once another session holds it.
     */
    @Override
    public boolean renewLock(String key, String holder) throws DcsException {
        if (session.id() == null) {
            // a new client of this member: nothing of ours to renew unless the key names us (a restart)
            Optional<Value> first = get(key);
            if (first.isEmpty() || !holder.equals(text(first.get()))) {
                return false;
            }
        }
        String sid = session.ensure();
        Optional<Value> v = get(key);
        boolean ours = v.isPresent() && holder.equals(text(v.get()));
        if (ours && !sid.equals(v.get().getSession().orElse(null))) {
            ours = takeOver(key, holder, v.get(), sid);
        }
        if (ours && session.timeLeft().isNegative()) {
            // renewal and check took longer than the session's TTL: what we saw may no longer hold
            LOG.warn("{}: renewing the lock {} took longer than the session TTL; not claiming it", name, key);
            return false;
        }
        if (!ours) {
            LOG.info(
                    "{} no longer holds the lock {}: {}",
                    name,
                    key,
                    v.map(x -> "held by session " + x.getSession().orElse("none") + " with value '" + text(x) + "'")
                            .orElse("no such key"));
        }
        return ours;
    }

    /** Patroni's "Recreating the leader key due to session mismatch": delete with cas, acquire anew. */
    private boolean takeOver(String key, String holder, Value seen, String sid) throws DcsException {
        LOG.warn(
                "{}: {} holds this member's name under {}, not under our session {}: re-creating it",
                name,
                key,
                seen.getSession().map(x -> "session " + x).orElse("no session"),
                sid);
        if (!deleteCas(key, seen.getModifyIndex())) {
            return false; // changed since we read it: not ours to take
        }
        return putWithSession(key, holder);
    }

    @Override
    public boolean releaseLock(String key, String holder) throws DcsException {
        checkOpen();
        Optional<Value> v = get(key);
        if (v.isEmpty() || !holder.equals(text(v.get()))) {
            return false;
        }
        String owner = v.get().getSession().orElse(null);
        String sid = session.id();
        if (owner != null && owner.equals(sid)) {
            // release first: even if the delete below fails, the lock is free
            if (!put(key, holder, ImmutablePutOptions.builder().release(sid))) {
                return false;
            }
            v = get(key);
            if (v.isEmpty()) {
                return true;
            }
            if (!holder.equals(text(v.get())) || v.get().getSession().isPresent()) {
                return false; // someone took it in between
            }
        }
        return deleteCas(key, v.get().getModifyIndex());
    }

    // ---------------------------------------------------------------- the member record

    /**
     * The session renewal a write would have made (it extends every key the session holds), and
     * no write: true while the session is the one the record was acquired with.
     */
    @Override
    public boolean keepOnSession(String key) throws DcsException {
        String under = writtenUnder.get(key);
        String value = writtenValue.get(key);
        if (under == null || value == null) {
            return false;
        }
        if (service != null) {
            service.update(value); // nothing unless a registration failed and is due again
        }
        return under.equals(session.ensure());
    }

    @Override
    public void putOnSession(String key, String value) throws DcsException {
        writtenUnder.remove(key);
        writtenValue.put(key, value);
        if (service != null) {
            service.update(value); // the member record: role, state and addresses (Patroni's touch_member)
        }
        if (putWithSession(key, value)) {
            return;
        }
        // another session holds the key: this member's previous process (killed and restarted), whose
        // session has not lapsed yet. As Patroni does, delete it (with cas: only the key as read) and
        // write it again under our session, rather than leave the member's record stale until then
        Optional<Value> v = get(key);
        String sid = session.id();
        if (v.isPresent() && sid != null && !sid.equals(v.get().getSession().orElse(null))) {
            LOG.warn(
                    "{} is held by {}, not by our session {}: re-creating it",
                    key,
                    v.get().getSession().map(x -> "session " + x).orElse("no session"),
                    sid);
            if (deleteCas(key, v.get().getModifyIndex()) && putWithSession(key, value)) {
                return;
            }
        }
        LOG.warn("{} could not be written under our session; the next write tries again", key);
    }

    /** PUT key?acquire=session, once more with a new session if Consul says ours is invalid. */
    private boolean putWithSession(String key, String value) throws DcsException {
        String sid = session.ensure();
        boolean written;
        try {
            written = putRaw(key, value, ImmutablePutOptions.builder().acquire(sid));
        } catch (ConsulException e) {
            if (!invalidSession(e)) {
                throw translate("write " + key, e);
            }
            LOG.warn("Consul session {} vanished while writing {}; retrying with a new session", sid, key);
            session.forget(sid);
            String fresh = session.ensure();
            written = put(key, value, ImmutablePutOptions.builder().acquire(fresh));
        }
        if (written) {
            session.acquired(key);
            writtenUnder.put(key, session.id());
            wrote(key);
        }
        return written;
    }

    @Override
    public void setTtl(Duration newTtl) {
        if (newTtl == null || newTtl.isNegative() || newTtl.isZero()) {
            throw new IllegalArgumentException("ttl must be positive, got " + newTtl);
        }
        session.setTtl(newTtl); // the session is replaced at the next renewal
    }

    // ---------------------------------------------------------------- versioned keys

    @Override
    public boolean put(String key, String value, long expectedVersion) throws DcsException {
        ImmutablePutOptions.Builder opts = ImmutablePutOptions.builder();
        if (expectedVersion == Dcs.ABSENT) {
            opts.cas(0);
        } else if (expectedVersion != Dcs.ANY) {
            if (expectedVersion <= 0) {
                return false; // no Consul key has ModifyIndex <= 0; cas=0 would mean "absent"
            }
            opts.cas(expectedVersion);
        }
        return put(key, value, opts);
    }

    @Override
    public boolean delete(String key, long expectedVersion) throws DcsException {
        if (expectedVersion == Dcs.ABSENT) {
            return get(key).isEmpty(); // "delete if absent": true exactly when there is nothing
        }
        if (expectedVersion == Dcs.ANY) {
            call("delete " + key, () -> {
                kv.deleteKey(key);
                return null;
            });
            wrote(key);
            return true; // Consul answers a plain DELETE without saying whether there was a key
        }
        return deleteCas(key, expectedVersion);
    }

    @Override
    public void deleteTree(String prefix) throws DcsException {
        call("delete " + prefix + " recursively", () -> {
            kv.deleteKeys(prefix);
            return null;
        });
    }

    // ---------------------------------------------------------------- HTTP primitives

    private boolean put(String key, String value, ImmutablePutOptions.Builder opts) throws DcsException {
        try {
            boolean written = putRaw(key, value, opts);
            if (written) {
                wrote(key);
            }
            return written;
        } catch (ConsulException e) {
            throw translate("write " + key, e);
        }
    }

    /** The library call itself; a ConsulException escapes so that callers can look at it. */
    private boolean putRaw(String key, String value, ImmutablePutOptions.Builder opts) throws DcsException {
        checkOpen();
        if (options.dc() != null) {
            opts.dc(options.dc());
        }
        PutOptions built = opts.build();
        try {
            return kv.putValue(key, value, 0L, built, StandardCharsets.UTF_8);
        } catch (ConsulException e) {
            throw e;
        } catch (RuntimeException e) {
            throw translate("write " + key, e);
        }
    }

    private boolean deleteCas(String key, long index) throws DcsException {
        checkOpen();
        try {
            boolean deleted = raw.deleteCas(key, index);
            if (deleted) {
                wrote(key);
            }
            return deleted;
        } catch (IOException e) {
            throw new DcsException("Consul agent at " + url + ": delete " + key + "?cas=" + index + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DcsException("interrupted while deleting " + key + " at " + url, e);
        }
    }

    /** A PUT or DELETE cannot tell its ModifyIndex: the key's changes are this member's own until the next read. */
    private void wrote(String key) {
        listener.wroteWithoutRevision(key);
    }

    private <T> T call(String what, Supplier<T> op) throws DcsException {
        checkOpen();
        try {
            return op.get();
        } catch (RuntimeException e) {
            throw translate(what, e);
        }
    }

    private DcsException translate(String what, RuntimeException e) {
        return translate(url, what, e);
    }

    /** An error of the client library as a DcsException naming the agent and the operation. */
    static DcsException translate(String url, String what, RuntimeException e) {
        if (e instanceof ConsulException ce && ce.hasCode()) {
            return new DcsException(
                    "Consul agent at " + url + " answered HTTP " + ce.getCode() + " to " + what + ": "
                            + ce.getMessage(),
                    e);
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return new DcsException("Consul agent at " + url + " unreachable (" + what + "): " + root, e);
    }

    private void checkOpen() throws DcsException {
        if (closed.get()) {
            throw new DcsException("the Consul DCS of " + name + " at " + url + " is closed");
        }
    }

    // ---------------------------------------------------------------- watch, close

    @Override
    public void watch(String prefix, ChangeListener listener) {
        this.listener = listener;
        long t = timeoutMillis;
        long watchRead = WATCH_WAIT.toMillis() + WATCH_WAIT.toMillis() / 16 + t;
        Consul[] watchClient = new Consul[1];
        Supplier<KeyValueClient> factory = () -> {
            watchClient[0] = client(t / 4, watchRead, t / 4);
            return watchClient[0].keyValueClient();
        };
        this.watch = new ConsulWatch(
                prefix, listener, factory, () -> watchClient[0].destroy(), options.dc(), WATCH_WAIT, url);
    }

    /** The blocking queries start with the first wait: a member that never waits (a CLI) runs none. */
    @Override
    public Duration beforeWait() {
        ConsulWatch w = watch;
        if (w != null) {
            w.start();
        }
        return null;
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        ConsulWatch w = watch;
        if (w != null) {
            w.close();
        }
        session.close(); // behavior delete: the lock and the member record go with it
        consul.destroy();
        retired.forEach(Consul::destroy);
    }

    @Override
    public String toString() {
        return "Consul agent at " + url;
    }
}
