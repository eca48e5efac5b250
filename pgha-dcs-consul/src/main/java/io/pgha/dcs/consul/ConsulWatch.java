package io.pgha.dcs.consul;

import java.io.Closeable;
import java.math.BigInteger;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import org.kiwiproject.consul.KeyValueClient;
import org.kiwiproject.consul.model.ConsulResponse;
import org.kiwiproject.consul.model.kv.Value;
import org.kiwiproject.consul.option.ImmutableQueryOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the cluster prefix with Consul blocking queries ({@code GET /v1/kv/<prefix>?recurse&index=
 * <X-Consul-Index>&wait=<w>}) on a thread of its own, so that the HA loop's {@link #await} only
 * waits on a monitor and {@link #wakeUp()} can end it at once.
 *
 * <p>What counts as a change: the keys (and their ModifyIndex) the watch last saw differ from the
 * ones of the caller's last {@link ConsulDcs#read()} in a key that this member has not written
 * itself since that read (or since the last {@link #await} that reported a change: a reported
 * change counts as seen). A member's own writes (its member key, the leader's {@code status}) thus
 * do not wake its own loop, while a change made by anyone else between the read and the wait is
 * not missed. A spurious wake-up is harmless (the loop reads again); a missed one costs at most
 * one loop_wait.
 *
 * <p>Thread-safe. The watch thread starts with the first {@link #await} and ends with
 * {@link #close()}; a blocking request in flight then finishes within its wait time, on a daemon
 * thread.
 */
final class ConsulWatch implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(ConsulWatch.class);

    private final String prefix;
    private final Supplier<KeyValueClient> clientFactory;
    private final Runnable clientCloser;
    private final String datacenter;
    private final Duration wait;
    private final String where;

    // guarded by this
    private long readIndex = -1;
    private Map<String, Long> readKeys;
    private final Set<String> ownWrites = new HashSet<>();
    private long seenIndex = -1;
    private Map<String, Long> seenKeys;
    private boolean woken;
    private boolean closed;
    private Thread thread;

    /**
     * @param clientFactory makes the client for blocking requests (its read timeout must exceed
     *     {@code wait} plus Consul's jitter of wait/16), called once on the watch thread
     * @param clientCloser releases it
     */
    ConsulWatch(
            String prefix,
            Supplier<KeyValueClient> clientFactory,
            Runnable clientCloser,
            String datacenter,
            Duration wait,
            String where) {
        this.prefix = prefix;
        this.clientFactory = clientFactory;
        this.clientCloser = clientCloser;
        this.datacenter = datacenter;
        this.wait = wait;
        this.where = where;
    }

    /** The caller read the cluster: that snapshot is the new reference for what counts as a change. */
    synchronized void onRead(long index, Map<String, Long> keys) {
        readIndex = index;
        readKeys = Map.copyOf(keys);
        ownWrites.clear();
    }

    /** The caller wrote (or deleted) this key itself; its change must not wake the caller. */
    synchronized void onOwnWrite(String key) {
        ownWrites.add(key);
    }

    synchronized void wakeUp() {
        woken = true;
        notifyAll();
    }

    /** Waits until a change (see the class comment), a wake-up, or the timeout; true unless timed out. */
    synchronized boolean await(Duration timeout) throws InterruptedException {
        start();
        long deadline = System.nanoTime() + Math.max(0, timeout.toNanos());
        while (true) {
            if (woken) {
                woken = false;
                return true;
            }
            if (closed) {
                return false;
            }
            if (changed()) {
                // a returned change counts as seen: the next wait waits for a newer one
                readIndex = seenIndex;
                readKeys = seenKeys;
                ownWrites.clear();
                return true;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            long ms = Math.max(1, left / 1_000_000);
            wait(ms);
        }
    }

    private boolean changed() {
        if (seenKeys == null || seenIndex <= readIndex) {
            return false;
        }
        if (readKeys == null) {
            // no read yet: the first answer of the watch is the reference
            readIndex = seenIndex;
            readKeys = seenKeys;
            return false;
        }
        Set<String> all = new HashSet<>(readKeys.keySet());
        all.addAll(seenKeys.keySet());
        for (String k : all) {
            if (!Objects.equals(readKeys.get(k), seenKeys.get(k)) && !ownWrites.contains(k) && wakesTheLoop(k)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The keys whose change the HA loop must see at once: the leader, config, failover, sync and
     * initialize keys, and members coming or going. Routine rewrites (a member touching its own key,
     * the leader's status) do not wake anyone, or the members' loops would wake each other in turn.
     */
    private boolean wakesTheLoop(String key) {
        String rel = key.startsWith(prefix) ? key.substring(prefix.length()) : key;
        if (rel.startsWith("/")) {
            rel = rel.substring(1);
        }
        if (WAKING_KEYS.contains(rel)) {
            return true;
        }
        return rel.startsWith("members/") && (readKeys.containsKey(key) != seenKeys.containsKey(key));
    }

    private static final Set<String> WAKING_KEYS = Set.of("leader", "config", "failover", "sync", "initialize");

    private void start() {
        if (thread == null && !closed) {
            thread = new Thread(this::run, "pgha-consul-watch-" + prefix);
            thread.setDaemon(true);
            thread.start();
        }
    }

    private void run() {
        KeyValueClient kv = null;
        BigInteger index = BigInteger.ZERO;
        try {
            kv = clientFactory.get();
            while (!isClosed()) {
                long started = System.nanoTime();
                try {
                    ImmutableQueryOptions.Builder q = ImmutableQueryOptions.builder()
                            .wait(Math.max(1, wait.toSeconds()) + "s")
                            .index(index);
                    if (datacenter != null) {
                        q.datacenter(datacenter);
                    }
                    ConsulResponse<List<Value>> resp = kv.getConsulResponseWithValues(prefix, q.build());
                    BigInteger next = resp.getIndex() == null ? BigInteger.ZERO : resp.getIndex();
                    Map<String, Long> keys = new HashMap<>();
                    if (resp.getResponse() != null) {
                        for (Value v : resp.getResponse()) {
                            keys.put(v.getKey(), v.getModifyIndex());
                        }
                    }
                    synchronized (this) {
                        seenIndex = next.longValue();
                        seenKeys = keys;
                        notifyAll();
                    }
                    // Consul's rules for blocking queries: an index that goes backwards means a reset
                    // (start over from 0), and an index must never be 0 on the next request.
                    boolean unchanged = next.equals(index);
                    index = next.compareTo(index) < 0 || next.signum() <= 0 ? BigInteger.ONE : next;
                    if (unchanged && System.nanoTime() - started < 50_000_000L) {
                        pause(100); // an early answer without a change: do not spin
                    }
                } catch (RuntimeException e) {
                    if (isClosed()) {
                        break;
                    }
                    LOG.debug("watch on {} at {} failed: {}", prefix, where, e.toString());
                    index = BigInteger.ZERO;
                    pause(1000);
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("watch on {} at {} stopped: {}", prefix, where, e.toString());
        } finally {
            if (kv != null) {
                clientCloser.run();
            }
        }
    }

    private synchronized boolean isClosed() {
        return closed;
    }

    private synchronized void pause(long ms) {
        if (!closed) {
            try {
                wait(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                closed = true;
            }
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        notifyAll();
        if (thread == null) {
            return;
        }
        thread.interrupt();
    }
}
