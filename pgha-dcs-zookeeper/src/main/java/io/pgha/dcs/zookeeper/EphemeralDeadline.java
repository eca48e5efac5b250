package io.pgha.dcs.zookeeper;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The member's own deadline for its ephemeral znodes, and the watchdog that enforces it.
 *
 * <p>ZooKeeper keeps a session alive as long as the client process heartbeats, whether or not the
 * HA loop still runs. To hold the ttl contract of {@code Dcs} (a member that stops renewing loses
 * the lock after ttl), the deadline is the start of the last successful acquire, renew or member
 * write plus {@code min(ttl, negotiated session timeout)}. Past it a renewal must answer false, and
 * the watchdog deletes the ephemeral znodes this member wrote; if the server cannot be reached, the
 * server itself expires the session no later than the session timeout after the last heartbeat it
 * saw, which is not before the deadline. Nothing here moves the deadline but a successful call, so
 * a SUSPENDED connection never extends the lock (CURATOR-460).
 *
 * <p>Thread-safe: the calls that move the deadline run under {@link #lock()}, which the watchdog
 * takes too; {@link #setTtl} and {@link #close} need no lock.
 */
final class EphemeralDeadline {
    private static final Logger log = LoggerFactory.getLogger(EphemeralDeadline.class);
    private static final long RETRY_MILLIS = 1000;

    private final CuratorFramework client;
    private final String member;
    private final ReentrantLock lock = new ReentrantLock();
    private final ScheduledExecutorService watchdog;

    private volatile Duration ttl;
    private volatile boolean closed;
    // guarded by lock
    private long deadlineNanos;
    private boolean set;
    private ScheduledFuture<?> task;
    /** The ephemeral znodes written on the session: the watchdog removes them at the deadline. */
    private final Set<String> written = new LinkedHashSet<>();

    EphemeralDeadline(CuratorFramework client, String member, Duration ttl) {
        this.client = client;
        this.member = member;
        this.ttl = ttl;
        this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pgha-zookeeper-ttl-" + member);
            t.setDaemon(true);
            return t;
        });
    }

    /** Serializes acquire, renew, the member write and the watchdog. */
    ReentrantLock lock() {
        return lock;
    }

    /** Whether the deadline had passed at {@code start} (or was never set). Under the lock. */
    boolean passedAt(long start) {
        return !set || start - deadlineNanos >= 0;
    }

    /**
     * A call that started at {@code start} (System.nanoTime) wrote or proved {@code path} on the
     * session: the deadline moves to {@code start} plus the ttl, capped by the session timeout.
     * Under the lock.
     */
    void refreshed(long start, String path) throws Exception {
        written.add(path);
        long sessionTimeoutMillis = client.getZookeeperClient().getZooKeeper().getSessionTimeout();
        long ttlNanos = ttl.toNanos();
        if (sessionTimeoutMillis > 0 && TimeUnit.MILLISECONDS.toNanos(sessionTimeoutMillis) < ttlNanos) {
            ttlNanos = TimeUnit.MILLISECONDS.toNanos(sessionTimeoutMillis);
        }
        deadlineNanos = start + ttlNanos;
        set = true;
        if (task != null) {
            task.cancel(false);
        }
        if (!closed) {
            task = watchdog.schedule(
                    this::expireIfLapsed, Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
        }
    }

    /** From the next refresh on; see {@code ZooKeeperStore#setTtl}. */
    void setTtl(Duration ttl) {
        this.ttl = ttl;
    }

    /** The current session's id. */
    long sessionId() throws Exception {
        return client.getZookeeperClient().getZooKeeper().getSessionId();
    }

    /** Deletes {@code path} if the current session owns it (and it did not change meanwhile). */
    void deleteIfOurs(String path) throws Exception {
        Stat stat = client.checkExists().forPath(path);
        if (stat != null && stat.getEphemeralOwner() == sessionId()) {
            try {
                client.delete().withVersion(stat.getVersion()).forPath(path);
            } catch (KeeperException.NoNodeException | KeeperException.BadVersionException e) {
                // gone or replaced meanwhile: not ours any more
            }
        }
    }

    void close() {
        closed = true;
        watchdog.shutdownNow();
    }

    /** The watchdog: past the deadline with no refresh, this member's ephemeral znodes go. */
    private void expireIfLapsed() {
        lock.lock();
        try {
            if (closed || !set || System.nanoTime() - deadlineNanos < 0) {
                return;
            }
            for (String path : written) {
                deleteIfOurs(path);
            }
            set = false;
            log.warn(
                    "{}: no renewal or member write within the ttl; the ephemeral znodes of this member are removed",
                    member);
        } catch (Exception e) {
            if (!closed) {
                log.warn(
                        "{}: cannot remove the lapsed keys yet ({}); retrying (the server expires the session if it stays"
                                + " unreachable)",
                        member,
                        e.toString());
                task = watchdog.schedule(this::expireIfLapsed, RETRY_MILLIS, TimeUnit.MILLISECONDS);
            }
        } finally {
            lock.unlock();
        }
    }
}
