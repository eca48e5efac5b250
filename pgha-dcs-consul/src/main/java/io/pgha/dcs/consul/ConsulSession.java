package io.pgha.dcs.consul;

import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsSettings;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.kiwiproject.consul.ConsulException;
import org.kiwiproject.consul.SessionClient;
import org.kiwiproject.consul.model.kv.Value;
import org.kiwiproject.consul.option.ImmutablePutOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The member's Consul session, as Patroni creates it: named {@code <scope>-<name>}, behavior
 * {@code delete}, lock-delay 1 ms, no checks, TTL = ttl/2 (Consul invalidates a session only after
 * up to twice its TTL, so ttl/2 makes its keys vanish within ttl of the last renewal).
 *
 * <p>{@link #ensure} renews the current session, or creates a new one when Consul invalidated it
 * (404: the keys it held are gone, and the lock is never claimed on it again) or when the ttl
 * changed (a session's TTL cannot change: the keys it holds move to the new one, then the old one
 * is destroyed). {@link #timeLeft} says how long Consul certainly keeps it.
 *
 * <p>Thread-safe: every method synchronizes on this object.
 */
final class ConsulSession {
    private static final Logger LOG = LoggerFactory.getLogger(ConsulSession.class);
    /** As small as Consul allows while still being a set lock-delay (Patroni sends 0.001). */
    static final String LOCK_DELAY = "1ms";

    /** The two key calls moving keys to a new session needs, made by the store. */
    interface Keys {
        Optional<Value> get(String key) throws DcsException;

        boolean put(String key, String value, ImmutablePutOptions.Builder options) throws DcsException;
    }

    private final DcsSettings settings;
    private final ConsulOptions options;
    private volatile SessionClient sessions;
    private final RawConsul raw;
    private final Keys keys;
    private final String url;

    private volatile Duration ttl;
    // guarded by this
    private String id;
    private Duration idTtl; // the TTL id was created with
    private long keptUntilNanos; // System.nanoTime() before which Consul keeps it
    private final Set<String> held = new LinkedHashSet<>(); // the keys acquired with it, moved to a new one
    private boolean closed;

    ConsulSession(DcsSettings settings, ConsulOptions options, SessionClient sessions, RawConsul raw, Keys keys) {
        this.settings = settings;
        this.options = options;
        this.sessions = sessions;
        this.raw = raw;
        this.keys = keys;
        this.url = options.baseUrl();
        this.ttl = settings.ttl();
    }

    /** The session client of a client rebuilt with new timeouts ({@code retry_timeout} changed). */
    void sessions(SessionClient sessions) {
        this.sessions = sessions;
    }

    /** The current session's id, or null. */
    synchronized String id() {
        return id;
    }

    /** How long Consul certainly keeps the session (its TTL from the start of the last renewal); zero or less when it may be gone. */
    synchronized Duration timeLeft() {
        return id == null ? Duration.ZERO : Duration.ofNanos(keptUntilNanos - System.nanoTime());
    }

    /** The session is replaced at the next {@link #ensure}. */
    void setTtl(Duration ttl) {
        this.ttl = ttl;
    }

    Duration ttl() {
        return ttl;
    }

    /** A key was acquired with the current session: it moves along if the session is replaced. */
    synchronized void acquired(String key) {
        held.add(key);
    }

    /**
     * Returns a live session, renewing the current one (and so extending every key it holds) or
     * creating a new one when Consul invalidated it or the TTL changed.
     */
    synchronized String ensure() throws DcsException {
        checkOpen();
        Duration want = sessionTtlFor(ttl);
        if (id != null) {
            if (!renew(id)) {
                LOG.warn(
                        "Consul session {} of {} was invalidated (the keys it held are gone); creating a new one",
                        id,
                        settings.name());
                id = null;
            } else if (!want.equals(idTtl)) {
                replace(want);
            }
        }
        if (id == null) {
            long start = System.nanoTime();
            id = create(want);
            idTtl = want;
            keptUntilNanos = start + want.toNanos();
        }
        return id;
    }

    /** Drops the session after Consul said it is invalid, so that the next call creates a new one. */
    synchronized void forget(String sessionId) {
        if (sessionId.equals(id)) {
            id = null;
        }
    }

    /** Destroys the session (behavior delete: the keys it holds go with it). Idempotent. */
    void close() {
        String last;
        synchronized (this) {
            closed = true;
            last = id;
            id = null;
        }
        if (last != null) {
            destroyQuietly(last);
        }
    }

    /** Renews {@code sessionId}; false when Consul no longer knows it (404). Under this object's lock. */
    private boolean renew(String sessionId) throws DcsException {
        long start = System.nanoTime();
        try {
            sessions.renewSession(options.dc(), sessionId);
            keptUntilNanos = start + idTtl.toNanos();
            return true;
        } catch (ConsulException e) {
            if (e.hasCode() && e.getCode() == 404) {
                return false;
            }
            throw ConsulStore.translate(url, "renew session " + sessionId, e);
        } catch (RuntimeException e) {
            throw ConsulStore.translate(url, "renew session " + sessionId, e);
        }
    }

    private String create(Duration sessionTtl) throws DcsException {
        checkOpen();
        String name = settings.scope() + "-" + settings.name();
        String what = "create session " + name;
        try {
            String created = raw.createSession(name, duration(sessionTtl), "delete", LOCK_DELAY, options.checks());
            LOG.info(
                    "created Consul session {} ({}, ttl {}, behavior delete) at {}",
                    created,
                    name,
                    duration(sessionTtl),
                    url);
            return created;
        } catch (RawConsul.StatusException e) {
            if (e.getMessage().toLowerCase(Locale.ROOT).contains("session ttl")) {
                throw new DcsException(
                        "Consul agent at " + url + " refused session TTL " + duration(sessionTtl)
                                + " (ttl/2 of ttl " + ttl.toSeconds()
                                + " s): Consul's session_ttl_min (10s by default) is larger; "
                                + "raise ttl to at least twice session_ttl_min, or lower session_ttl_min on the Consul servers ("
                                + e.getMessage() + ")",
                        e);
            }
            throw new DcsException("Consul agent at " + url + " answered " + e.getMessage() + " to " + what, e);
        } catch (IOException e) {
            throw new DcsException("Consul agent at " + url + " unreachable (" + what + "): " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DcsException("interrupted: " + what + " at " + url, e);
        }
    }

    /**
     * A session's TTL cannot change: with a new ttl, move the keys the old session holds to a new
     * one (release, then acquire with the same value), then destroy the old one. If someone else
     * takes the lock in between, the lock is lost, which its renewal then reports. Under this
     * object's lock.
     */
    private void replace(Duration want) throws DcsException {
        String old = id;
        long start = System.nanoTime();
        String fresh = create(want);
        try {
            for (String key : held) {
                Optional<Value> v = keys.get(key);
                if (v.isPresent() && old.equals(v.get().getSession().orElse(null))) {
                    String value = ConsulStore.text(v.get());
                    keys.put(key, value, ImmutablePutOptions.builder().release(old));
                    if (!keys.put(key, value, ImmutablePutOptions.builder().acquire(fresh))) {
                        LOG.warn(
                                "{} was taken by another session while {} moved to its new session",
                                key,
                                settings.name());
                    }
                }
            }
        } catch (DcsException e) {
            // half moved: drop the new session (and whatever it took); the old one stays current, and
            // a key it no longer holds reads as a lost lock
            destroyQuietly(fresh);
            throw e;
        }
        id = fresh;
        idTtl = want;
        keptUntilNanos = start + want.toNanos();
        destroyQuietly(old);
    }

    private void destroyQuietly(String sessionId) {
        try {
            sessions.destroySession(sessionId, options.dc());
        } catch (RuntimeException e) {
            LOG.warn(
                    "could not destroy Consul session {} at {} (it expires with its TTL): {}",
                    sessionId,
                    url,
                    e.toString());
        }
    }

    private void checkOpen() throws DcsException {
        if (closed) {
            throw new DcsException("the Consul DCS of " + settings.name() + " at " + url + " is closed");
        }
    }

    /** Consul's session TTL for a Patroni ttl: half, since Consul invalidates at up to twice the TTL. */
    static Duration sessionTtlFor(Duration ttl) {
        return ttl.dividedBy(2);
    }

    /** A Go duration string: "15s", "2500ms". */
    static String duration(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? (ms / 1000) + "s" : ms + "ms";
    }
}
