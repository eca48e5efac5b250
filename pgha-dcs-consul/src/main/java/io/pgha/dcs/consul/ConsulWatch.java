package io.pgha.dcs.consul;

import io.pgha.dcs.spi.Change;
import io.pgha.dcs.spi.ChangeListener;
import java.io.Closeable;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.kiwiproject.consul.KeyValueClient;
import org.kiwiproject.consul.model.ConsulResponse;
import org.kiwiproject.consul.model.kv.Value;
import org.kiwiproject.consul.option.ImmutableQueryOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the cluster prefix with Consul blocking queries ({@code GET /v1/kv/<prefix>?recurse&index=
 * <X-Consul-Index>&wait=<w>}) on a thread of its own, and reports to a {@link ChangeListener} what
 * changed since the newest look at the prefix, its own last answer or the store's last read,
 * whichever saw the higher index: a key that appeared (at its ModifyIndex), changed (at its new
 * ModifyIndex) or vanished (at the answer's index). Consul answers with the whole prefix, not with
 * events, so a key deleted and created again between two looks is a change, and several writes of a
 * key between two looks are one.
 *
 * <p>Thread-safe. The watch thread starts with the first {@link #start()} (the first wait) and ends
 * with {@link #close()}; a blocking request in flight then finishes within its wait time, on a
 * daemon thread. The listener is called from the watch thread, outside this object's lock.
 */
final class ConsulWatch implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(ConsulWatch.class);

    private final String prefix;
    private final ChangeListener listener;
    private final Supplier<KeyValueClient> clientFactory;
    private final Runnable clientCloser;
    private final String datacenter;
    private final Duration wait;
    private final String where;

    // guarded by this
    private long lookedAt = -1;
    private Map<String, Long> looked;
    private boolean closed;
    private Thread thread;

    /**
     * @param clientFactory makes the client for blocking requests (its read timeout must exceed
     *     {@code wait} plus Consul's jitter of wait/16), called once on the watch thread
     * @param clientCloser releases it
     */
    ConsulWatch(
            String prefix,
            ChangeListener listener,
            Supplier<KeyValueClient> clientFactory,
            Runnable clientCloser,
            String datacenter,
            Duration wait,
            String where) {
        this.prefix = prefix;
        this.listener = listener;
        this.clientFactory = clientFactory;
        this.clientCloser = clientCloser;
        this.datacenter = datacenter;
        this.wait = wait;
        this.where = where;
    }

    /** The store read the prefix at this index: the reference for what counts as a change, if newer. */
    synchronized void onRead(long index, Map<String, Long> keys) {
        if (index >= lookedAt) {
            lookedAt = index;
            looked = Map.copyOf(keys);
        }
    }

    /** Starts the watch thread, once. */
    synchronized void start() {
        if (thread == null && !closed) {
            thread = new Thread(this::run, "pgha-consul-watch-" + prefix);
            thread.setDaemon(true);
            thread.start();
        }
    }

    /** A watch answer: reports what differs from the newest look, which it then becomes. */
    private void answered(long index, List<Value> values, boolean indexWentBack) {
        Map<String, Long> now = new HashMap<>();
        Map<String, String> text = new HashMap<>();
        for (Value v : values) {
            now.put(v.getKey(), v.getModifyIndex());
            text.put(v.getKey(), v.getValueAsString(StandardCharsets.UTF_8).orElse(""));
        }
        List<Change> changes = new ArrayList<>();
        boolean lost;
        synchronized (this) {
            lost = indexWentBack && looked != null;
            if (looked != null && !indexWentBack && index <= lookedAt) {
                return; // older than a read that came back meanwhile: nothing it can tell
            }
            if (looked != null && !indexWentBack) {
                for (Map.Entry<String, Long> e : now.entrySet()) {
                    Long before = looked.get(e.getKey());
                    if (!Objects.equals(before, e.getValue())) {
                        Change.Kind kind = before == null ? Change.Kind.CREATED : Change.Kind.UPDATED;
                        changes.add(new Change(e.getKey(), kind, text.get(e.getKey()), e.getValue()));
                    }
                }
                for (String key : looked.keySet()) {
                    if (!now.containsKey(key)) {
                        changes.add(new Change(key, Change.Kind.DELETED, null, index));
                    }
                }
            }
            // the first answer (no read yet) is the reference, and so is one after Consul's index reset
            looked = now;
            lookedAt = index;
        }
        changes.forEach(listener::changed);
        if (lost) {
            listener.eventsMayBeLost();
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
                    boolean wentBack = next.compareTo(index) < 0;
                    answered(next.longValue(), resp.getResponse() == null ? List.of() : resp.getResponse(), wentBack);
                    // Consul's rules for blocking queries: an index that goes backwards means a reset
                    // (start over from 0), and an index must never be 0 on the next request.
                    boolean unchanged = next.equals(index);
                    index = wentBack || next.signum() <= 0 ? BigInteger.ONE : next;
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
        if (thread != null) {
            thread.interrupt();
        }
    }
}
