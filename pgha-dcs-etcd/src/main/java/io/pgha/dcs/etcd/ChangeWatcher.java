package io.pgha.dcs.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.pgha.dcs.DcsException;
import java.io.Closeable;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One etcd watch on the cluster prefix that turns other members' writes into a wake-up of
 * {@link #await}.
 *
 * <p>What counts as a change: an event on a key that steers the HA loop ({@code leader},
 * {@code config}, {@code failover}, {@code sync}, {@code initialize}; not member keys, which every
 * member rewrites each cycle, nor {@code status}/{@code history}: waking on those would make the
 * members wake each other in an endless round of cycles), at a revision this instance did not
 * write itself (the
 * adapter brackets its writes with {@link #beginWrite} and {@link #endWrite}, which reports the
 * revision written), newer than the last snapshot read ({@link #readAt}) and the last change
 * already reported. Without the first rule a leader would wake itself with every status write and
 * spin. Events are judged only while no write of this instance is in flight, because the watch
 * event of a write can arrive before the write's response tells its revision.
 *
 * <p>Keeping the watch alive: jetcd resumes a watch by itself after a transient stream error, but
 * ends it for good when etcd cancels it, notably after a compaction of the revision it wanted to
 * resume from (jetcd #951), and a watch is tied to a client that {@link EtcdConnection} may
 * replace. A maintenance task on this class's own thread (never a jetcd callback thread, which may
 * be an event loop) checks every second and re-creates the watch: from the next revision it
 * expected when nothing can have been missed, otherwise from the current revision, with a wake-up
 * so that the HA loop re-reads what it may have missed.
 *
 * <p>Thread-safe; {@link #await} may be called by one thread while others write and read.
 */
final class ChangeWatcher implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(ChangeWatcher.class);
    /** Bounds of the bookkeeping sets, far above what one HA cycle writes or sees. */
    private static final int REVISIONS_KEPT = 4096;

    /** The keys, relative to the cluster prefix, whose changes wake the HA loop. */
    static final Set<String> WAKING_KEYS = Set.of("leader", "config", "failover", "sync", "initialize");

    private final EtcdConnection connection;
    private final ByteSequence prefix;
    private final ScheduledExecutorService maintenance;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    /** Revisions of events not yet judged own or foreign. Guarded by lock. */
    private final TreeSet<Long> pending = new TreeSet<>();
    /** Revisions this instance wrote (the most recent ones). Guarded by lock. */
    private final TreeSet<Long> ownRevisions = new TreeSet<>();
    /** Writes of this instance whose revision is not known yet. Guarded by lock. */
    private int writesInFlight;
    /** Revisions up to here have been read or reported. Guarded by lock. */
    private long consumedRevision;
    /** A wake-up or a possible loss of events is pending. Guarded by lock. */
    private boolean woken;

    // maintenance-thread state
    private volatile Watch.Watcher watcher;
    private long watcherGeneration;
    private volatile long nextRevision;
    private volatile boolean mustRestart;
    private volatile boolean eventsMayBeLost;
    private volatile boolean closed;
    private volatile long restarts;

    ChangeWatcher(EtcdConnection connection, ByteSequence prefix, String threadName) {
        this.connection = connection;
        this.prefix = prefix;
        this.maintenance = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts watching now, and checks the watch every second from then on. */
    void start() {
        maintenance.scheduleWithFixedDelay(this::maintain, 0, 1, TimeUnit.SECONDS);
    }

    /**
     * The adapter starts a write. Until {@link #endWrite} reports its revision, events are not judged:
     * the watch event of a write may arrive before the write's own response.
     */
    void beginWrite() {
        lock.lock();
        try {
            writesInFlight++;
        } finally {
            lock.unlock();
        }
    }

    /** The write ended; {@code revision} is the revision it wrote at, or 0 when it wrote nothing (or failed). */
    void endWrite(long revision) {
        lock.lock();
        try {
            if (revision > 0) {
                ownRevisions.add(revision);
                if (ownRevisions.size() > REVISIONS_KEPT) {
                    ownRevisions.pollFirst();
                }
            }
            writesInFlight--;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** A snapshot at this revision was read: older events are no longer news. */
    void readAt(long revision) {
        lock.lock();
        try {
            consumedRevision = Math.max(consumedRevision, revision);
            pending.headSet(consumedRevision, true).clear();
        } finally {
            lock.unlock();
        }
    }

    /** Waits for a change (see the class comment), a {@link #wakeUp}, or the timeout. */
    boolean await(long timeoutNanos) throws InterruptedException {
        long remaining = timeoutNanos;
        lock.lock();
        try {
            while (true) {
                if (woken) {
                    woken = false;
                    return true;
                }
                if (writesInFlight == 0 && foreignChangePending()) {
                    return true;
                }
                if (remaining <= 0 || closed) {
                    return false;
                }
                remaining = changed.awaitNanos(remaining);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Judges the pending events; true (and consumed) when one was not this instance's write. Under lock. */
    private boolean foreignChangePending() {
        pending.headSet(consumedRevision, true).clear();
        pending.removeIf(ownRevisions::contains);
        if (pending.isEmpty()) {
            return false;
        }
        consumedRevision = Math.max(consumedRevision, pending.last());
        pending.clear();
        return true;
    }

    void wakeUp() {
        lock.lock();
        try {
            woken = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** A listener like the one the watch feeds; for tests that replay watch events. */
    Watch.Listener newListener() {
        return new Listener();
    }

    /** How many times the watch was re-created (for tests and logs). */
    long restarts() {
        return restarts;
    }

    /** Test hook: re-creates the watch from the given revision (e.g. a compacted one). */
    void restartFrom(long revision) {
        nextRevision = revision;
        mustRestart = true;
        maintenance.execute(this::maintain);
    }

    @Override
    public void close() {
        closed = true;
        maintenance.shutdownNow();
        Watch.Watcher w = watcher;
        if (w != null) {
            try {
                w.close();
            } catch (RuntimeException e) {
                LOG.debug("closing the etcd watch failed", e);
            }
        }
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void maintain() {
        if (closed) {
            return;
        }
        try {
            boolean stale = watcher == null
                    || watcher.isClosed()
                    || mustRestart
                    || connection.generation() != watcherGeneration;
            if (!stale) {
                return;
            }
            Client client = connection.client();
            long generation = connection.generation();
            if (watcher != null) {
                watcher.close();
                restarts++;
            }
            mustRestart = false;
            boolean lost = eventsMayBeLost;
            eventsMayBeLost = false;
            long from = lost ? 0 : nextRevision;
            // requireLeader: an etcd member cut off from its quorum cancels the watch instead of keeping it
            // silently open, so that it is re-created, on another endpoint if there is one
            WatchOption.Builder option =
                    WatchOption.builder().isPrefix(true).withPrevKV(false).withRequireLeader(true);
            if (from > 0) {
                option.withRevision(from);
            }
            watcher = client.getWatchClient().watch(prefix, option.build(), new Listener());
            watcherGeneration = generation;
            LOG.debug("watching {} from revision {}", prefix, from > 0 ? from : "now");
            if (lost || restarts > 0 && from == 0) {
                // events between the old watch and the new one are unknown: let the loop re-read
                wakeUp();
            }
        } catch (DcsException | RuntimeException e) {
            LOG.debug("cannot (re-)create the etcd watch on {}: {}", prefix, e.getMessage());
        }
    }

    private void schedule() {
        if (closed) {
            return;
        }
        try {
            maintenance.schedule(this::maintain, 200, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    private boolean wakes(ByteSequence key) {
        if (!key.startsWith(prefix)) {
            return false;
        }
        return WAKING_KEYS.contains(EtcdDcs.text(key.substring(prefix.size())));
    }

    /** Runs on jetcd's threads: records and signals, never blocks beyond a short lock. */
    private final class Listener implements Watch.Listener {
        @Override
        public void onNext(WatchResponse response) {
            if (response.getEvents().isEmpty()) {
                return;
            }
            lock.lock();
            try {
                for (WatchEvent e : response.getEvents()) {
                    long rev = e.getKeyValue().getModRevision();
                    nextRevision = Math.max(nextRevision, rev + 1);
                    if (rev > consumedRevision && wakes(e.getKeyValue().getKey())) {
                        pending.add(rev);
                        if (pending.size() > REVISIONS_KEPT) {
                            pending.pollFirst(); // nobody is waiting; the newest ones decide
                        }
                    }
                }
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void onError(Throwable t) {
            if (t instanceof CompactedException c) {
                LOG.info(
                        "etcd watch on {} cancelled by compaction at revision {}: re-watching from now",
                        prefix,
                        c.getCompactedRevision());
                eventsMayBeLost = true;
                mustRestart = true;
                schedule();
            } else {
                LOG.debug("etcd watch on {}: {}", prefix, t.getMessage());
            }
        }

        @Override
        public void onCompleted() {
            // jetcd ended the watch (cancelled by etcd, or closed): re-create it unless we are closing
            if (!closed) {
                schedule();
            }
        }
    }
}
