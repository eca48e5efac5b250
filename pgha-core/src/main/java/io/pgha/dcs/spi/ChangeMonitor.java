package io.pgha.dcs.spi;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The wait/wake monitor behind {@code awaitChange}: it collects the changes a store's watch
 * reports and decides which of them are news for this member.
 *
 * <p>A change is news when
 * <ul>
 *   <li>it is of a key that wakes the loop ({@link PatroniLayout#wakesTheLoop});</li>
 *   <li>this member's last read did not already see it: its revision is above the read's, or,
 *       for a store without revisions, it arrived after the read began;</li>
 *   <li>it is not this member's own write: its revision is not one the store reported with
 *       {@link #wroteAt}, and its key was not written without a revision since the last read.
 *       Without this rule a leader would wake itself with every status write and spin.</li>
 * </ul>
 * Changes are judged only while none of this member's writes is in flight, because the watch
 * event of a write may arrive before the write's own answer tells its revision. News, a
 * {@link #wakeUp} or a possible loss of events ends a wait; what ends it counts as seen, so the
 * next wait waits for something newer.
 *
 * <p>Thread-safe. Every method takes one short lock; {@link #await} waits on its condition
 * (releasing it) and calls the store's {@code beforeWait} with no lock held, so a store may
 * report changes from within it.
 */
final class ChangeMonitor implements ChangeListener {
    /** Bounds of the bookkeeping, far above what one HA cycle writes or sees. */
    private static final int KEPT = 4096;

    private record Pending(String key, long revision, long sequence) {}

    private final PatroniLayout layout;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    // all guarded by lock
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private final TreeSet<Long> ownRevisions = new TreeSet<>();
    private final Set<String> ownKeys = new HashSet<>();
    /** Counts what the watch reported, so that a read can tell what arrived before it began. */
    private long sequence;
    /** Every change up to this revision has been read or reported. */
    private long seenRevision;
    /** The sequence number of a pending "events may be lost", 0 when none is pending. */
    private long lostAt;

    private int writesInFlight;
    private boolean woken;
    private boolean closed;

    ChangeMonitor(PatroniLayout layout) {
        this.layout = layout;
    }

    @Override
    public void changed(Change change) {
        lock.lock();
        try {
            sequence++;
            if (change.revision() > 0 && change.revision() <= seenRevision) {
                return;
            }
            if (!layout.wakesTheLoop(change.key(), change.kind())) {
                return;
            }
            pending.addLast(new Pending(change.key(), change.revision(), sequence));
            if (pending.size() > KEPT) {
                pending.removeFirst(); // nobody is waiting; the newest ones decide
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void eventsMayBeLost() {
        lock.lock();
        try {
            lostAt = ++sequence;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void wroteAt(long revision) {
        if (revision <= 0) {
            return;
        }
        lock.lock();
        try {
            ownRevisions.add(revision);
            if (ownRevisions.size() > KEPT) {
                ownRevisions.pollFirst();
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void wroteWithoutRevision(String key) {
        lock.lock();
        try {
            ownKeys.add(key);
        } finally {
            lock.unlock();
        }
    }

    /** A read of the cluster begins; pass the token returned to {@link #readDone}. */
    long readBegins() {
        lock.lock();
        try {
            return sequence;
        } finally {
            lock.unlock();
        }
    }

    /**
     * A read that began at {@code token} saw the store at {@code revision} (0: unknown). What it
     * saw is no longer news, and the keys written without a revision before it are no longer
     * taken for this member's own.
     */
    void readDone(long token, long revision) {
        lock.lock();
        try {
            seenRevision = Math.max(seenRevision, revision);
            pending.removeIf(p -> p.sequence() <= token || p.revision() > 0 && p.revision() <= seenRevision);
            if (lostAt > 0 && lostAt <= token) {
                lostAt = 0;
            }
            ownKeys.clear();
        } finally {
            lock.unlock();
        }
    }

    /** One of this member's writes starts; until {@link #writeEnds}, changes are not judged. */
    void writeBegins() {
        lock.lock();
        try {
            writesInFlight++;
        } finally {
            lock.unlock();
        }
    }

    void writeEnds() {
        lock.lock();
        try {
            writesInFlight--;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Ends a pending {@link #await}; if none is pending, the next one returns at once. */
    void wakeUp() {
        lock.lock();
        try {
            woken = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Ends every wait with false, now and from now on (unless woken first). */
    void close() {
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until news (see the class comment), a wake-up or the timeout; true unless timed out or
     * closed. {@code beforeWait} is the store's hook, called with no lock held before each slice.
     */
    boolean await(Duration timeout, Supplier<Duration> beforeWait) throws InterruptedException {
        long deadline = System.nanoTime() + Math.max(0, timeout.toNanos());
        while (true) {
            Duration slice = beforeWait.get();
            lock.lockInterruptibly();
            try {
                if (woken) {
                    woken = false;
                    return true;
                }
                if (closed) {
                    return false;
                }
                if (writesInFlight == 0 && newsPending()) {
                    return true;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                changed.awaitNanos(slice == null ? left : Math.min(left, Math.max(1, slice.toNanos())));
            } finally {
                lock.unlock();
            }
        }
    }

    /** Drops this member's own changes; true (and all of it consumed) when news remains. Under lock. */
    private boolean newsPending() {
        pending.removeIf(p -> p.revision() > 0 && ownRevisions.contains(p.revision()) || ownKeys.contains(p.key()));
        if (pending.isEmpty() && lostAt == 0) {
            return false;
        }
        for (Pending p : pending) {
            seenRevision = Math.max(seenRevision, p.revision());
        }
        pending.clear();
        lostAt = 0;
        ownKeys.clear();
        return true;
    }
}
