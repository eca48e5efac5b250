package io.pgha.dcs.etcd;

import io.pgha.dcs.DcsException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The member's etcd lease, which carries its leader key and member key, refreshed on demand
 * ({@code keepAliveOnce} with each leader renewal, and for a member record once less than half its
 * TTL is left, as Patroni does) rather than by a background stream.
 *
 * <p><b>The lease's expiry is tracked here, not trusted to jetcd.</b> jetcd's keep-alive stream can
 * end silently (jetcd #965, #1383, #1322) and a keep-alive of an expired lease once raised no error
 * (#1254). So each successful refresh records when it was <em>sent</em>: etcd extends the lease
 * from the moment it handles the request, which is later, so {@code sent + ttl} is a lower bound of
 * the real expiry. Past that bound the lease is presumed dead and {@link #ensure} grants a new one
 * instead of refreshing; the caller then has to move its keys, and may do so for the leader key
 * only under a comparison proving the key still holds its name.
 *
 * <p>Not thread-safe: {@link EtcdStore} calls it under its lease lock.
 */
final class LeaseKeeper {
    private static final Logger LOG = LoggerFactory.getLogger(LeaseKeeper.class);

    /** The lease to write with, and whether it was just granted (keys on an older lease must move). */
    record Lease(long id, boolean fresh) {}

    /** The two etcd lease calls this class makes; a seam for tests. */
    interface LeaseApi {
        /** Refreshes the lease once; returns the TTL etcd answered (0 or less: the lease is gone). */
        long keepAliveOnce(EtcdCalls.Deadline deadline, long leaseId) throws DcsException;

        /** Grants a lease; returns its id and the TTL etcd granted. */
        Granted grant(EtcdCalls.Deadline deadline, long ttlSeconds) throws DcsException;
    }

    record Granted(long id, long ttlSeconds) {}

    /** The LeaseApi over jetcd. */
    static LeaseApi over(EtcdCalls calls) {
        return new LeaseApi() {
            @Override
            public long keepAliveOnce(EtcdCalls.Deadline deadline, long leaseId) throws DcsException {
                return calls.run(
                                deadline,
                                "refresh of lease " + Long.toHexString(leaseId),
                                c -> c.getLeaseClient().keepAliveOnce(leaseId))
                        .getTTL();
            }

            @Override
            public Granted grant(EtcdCalls.Deadline deadline, long ttlSeconds) throws DcsException {
                var r = calls.run(
                        deadline,
                        "grant of a " + ttlSeconds + " s lease",
                        c -> c.getLeaseClient().grant(ttlSeconds));
                return new Granted(r.getID(), r.getTTL());
            }
        };
    }

    private final LeaseApi calls;
    private final LongSupplier nanoClock;
    private long ttlSeconds;
    private boolean ttlChanged;
    private long leaseId;
    private long previousLeaseId;
    private long validUntilNanos;

    LeaseKeeper(LeaseApi calls, Duration ttl, LongSupplier nanoClock) {
        this.calls = calls;
        this.nanoClock = nanoClock;
        this.ttlSeconds = seconds(ttl);
    }

    /** etcd lease TTLs are whole seconds: round up, at least 1. */
    static long seconds(Duration ttl) {
        if (ttl == null || ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("ttl must be positive, not " + ttl);
        }
        return Math.max(1, (ttl.toMillis() + 999) / 1000);
    }

    /**
     * A lease proven alive for at least the TTL from about now: the current one, refreshed, or a new
     * one when the current one is gone, presumed expired, or granted with an old TTL.
     */
    Lease ensure(EtcdCalls.Deadline deadline) throws DcsException {
        if (leaseId != 0 && !ttlChanged) {
            if (nanoClock.getAsLong() - validUntilNanos < 0) {
                long sent = nanoClock.getAsLong();
                long id = leaseId;
                try {
                    long ttl = calls.keepAliveOnce(deadline, id);
                    if (ttl > 0) {
                        validUntilNanos = sent + TimeUnit.SECONDS.toNanos(ttl);
                        return new Lease(id, false);
                    }
                    LOG.warn(
                            "etcd lease {} has expired (keep-alive answered TTL {}): granting a new one",
                            Long.toHexString(id),
                            ttl);
                } catch (EtcdCallException e) {
                    if (!e.isNotFound()) {
                        throw e;
                    }
                    LOG.warn("etcd lease {} no longer exists: granting a new one", Long.toHexString(id));
                }
            } else {
                LOG.warn(
                        "etcd lease {} may have expired (its last refresh was sent more than its TTL ago): "
                                + "granting a new one",
                        Long.toHexString(leaseId));
            }
        }
        return grant(deadline);
    }

    /**
     * A lease that carries a member record only (no lock): the current one as it is while more
     * than half its TTL is left, else as {@link #ensure}. A record needs the lease to outlive the
     * next cycle, not a full TTL from now: refreshing it every cycle would be a request per
     * member and cycle for nothing (Patroni refreshes it at most once per loop_wait). A lock is
     * always renewed with {@link #ensure}: its validity is counted from the renewal.
     */
    Lease keep(EtcdCalls.Deadline deadline) throws DcsException {
        if (leaseId != 0 && !ttlChanged) {
            long halfTtl = TimeUnit.SECONDS.toNanos(ttlSeconds) / 2;
            if (validUntilNanos - nanoClock.getAsLong() > halfTtl) {
                return new Lease(leaseId, false);
            }
        }
        return ensure(deadline);
    }

    private Lease grant(EtcdCalls.Deadline deadline) throws DcsException {
        long ttl = ttlSeconds;
        long sent = nanoClock.getAsLong();
        Granted r = calls.grant(deadline, ttl);
        if (leaseId != 0) {
            previousLeaseId = leaseId;
        }
        leaseId = r.id();
        ttlChanged = false;
        // etcd may raise a TTL below its minimum; the TTL it answers is the one that counts
        validUntilNanos = sent + TimeUnit.SECONDS.toNanos(Math.max(1, r.ttlSeconds()));
        LOG.debug("granted etcd lease {} with TTL {} s", Long.toHexString(leaseId), r.ttlSeconds());
        return new Lease(leaseId, true);
    }

    /** True while the current lease is proven alive by a refresh or grant sent less than its TTL ago. */
    boolean provenAlive() {
        return leaseId != 0 && nanoClock.getAsLong() - validUntilNanos < 0;
    }

    long currentId() {
        return leaseId;
    }

    /** The next {@link #ensure} grants a lease with this TTL. */
    void setTtl(Duration ttl) {
        long s = seconds(ttl);
        if (s != ttlSeconds) {
            ttlSeconds = s;
            ttlChanged = true;
        }
    }

    /** The leases to revoke on close: the current one and the one it replaced (keys may still be on it). */
    long[] toRevoke() {
        long[] ids = new long[] {leaseId, previousLeaseId};
        leaseId = 0;
        previousLeaseId = 0;
        return ids;
    }
}
