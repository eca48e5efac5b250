package io.pgha.dcs.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.DeleteResponse;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsSettings;
import io.pgha.dcs.spi.ChangeListener;
import io.pgha.dcs.spi.ClusterStore;
import io.pgha.dcs.spi.StoredTree;
import io.pgha.dcs.spi.StoredValue;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The storage primitives of etcd v3 ({@link ClusterStore}), with the leases and transactions
 * Patroni's {@code etcd3} backend uses, so that Patroni's own tools read a pgha cluster.
 *
 * <ul>
 *   <li>TTL: one lease per member ({@link LeaseKeeper}) carrying its lock and its member record,
 *       refreshed with each lock renewal and member write.</li>
 *   <li>Compare-and-set: etcd transactions. The lock key is only ever written under a comparison
 *       ({@code create_revision == 0} to take it, {@code value == holder} to keep or move it): a
 *       thawed old leader can never overwrite a newer one (Patroni PR #2689). Versioned writes
 *       compare {@code mod_revision}, which is the version {@link #readTree} reports.</li>
 *   <li>Errors: each operation is bounded by {@code retry_timeout}, retrying lost connections
 *       within it ({@link EtcdCalls}); then a {@link DcsException} names the endpoints.</li>
 *   <li>Own writes: every write reports the revision it wrote, the one its watch event carries.</li>
 * </ul>
 *
 * <p>Concurrency: thread-safe. Operations on the lease (acquire, renew, the member record, setTtl,
 * close) are serialized on one lock; reads and other writes run concurrently.
 */
final class EtcdStore implements ClusterStore {
    private static final Logger LOG = LoggerFactory.getLogger(EtcdStore.class);

    private final String member;
    private final String threadName;
    private final EtcdConnection connection;
    private final EtcdCalls calls;

    private final Object leaseLock = new Object();
    private final LeaseKeeper lease;
    /** The keys written on the lease with {@link #putOnSession}, written again on a new lease. Guarded by leaseLock. */
    private final Map<ByteSequence, ByteSequence> onLease = new LinkedHashMap<>();
    /** The lease each of those keys was last written on. Guarded by leaseLock. */
    private final Map<ByteSequence, Long> writtenOn = new LinkedHashMap<>();

    private volatile ChangeListener listener;
    private volatile ChangeWatcher watcher;
    private volatile boolean closed;

    EtcdStore(DcsSettings settings, EtcdOptions options) {
        this.member = settings.name();
        this.threadName = "pgha-etcd-watch-" + settings.scope() + "-" + settings.name();
        this.connection = new EtcdConnection(options, settings.retryTimeout());
        this.calls = new EtcdCalls(connection, settings.retryTimeout());
        this.lease = new LeaseKeeper(LeaseKeeper.over(calls), settings.ttl(), System::nanoTime);
    }

    ChangeWatcher watcher() {
        return watcher;
    }

    long leaseId() {
        synchronized (leaseLock) {
            return lease.currentId();
        }
    }

    // ---------------------------------------------------------------- read

    /** One linearizable range request over the prefix: a snapshot that never mixes revisions. */
    @Override
    public StoredTree readTree(String prefix) throws DcsException {
        checkOpen();
        GetOption all =
                GetOption.builder().isPrefix(true).withSerializable(false).build();
        GetResponse r = calls.run(
                calls.deadline(), "read of " + prefix, c -> c.getKVClient().get(bytes(prefix), all));
        List<StoredValue> values = new ArrayList<>(r.getKvs().size());
        for (KeyValue kv : r.getKvs()) {
            values.add(new StoredValue(text(kv.getKey()), text(kv.getValue()), kv.getModRevision()));
        }
        return new StoredTree(values, r.getHeader().getRevision());
    }

    // ---------------------------------------------------------------- the lock and the lease

    @Override
    public boolean acquireLock(String key, String holder) throws DcsException {
        checkOpen();
        ByteSequence lockKey = bytes(key);
        ByteSequence name = bytes(holder);
        EtcdCalls.Deadline d = calls.deadline();
        synchronized (leaseLock) {
            LeaseKeeper.Lease l = ensureLease(d);
            PutOption onLease = PutOption.builder().withLeaseId(l.id()).build();
            TxnResponse r = write(
                    d,
                    "acquisition of " + key,
                    c -> c.getKVClient()
                            .txn()
                            .If(new Cmp(lockKey, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                            .Then(Op.put(lockKey, name, onLease))
                            .Else(Op.get(lockKey, GetOption.DEFAULT))
                            .commit(),
                    EtcdStore::ifSucceeded);
            if (r.isSucceeded()) {
                return requireProven("acquisition");
            }
            // an attempt that seemed to fail may have won before a retry: the key on our own lease is ours.
            // Otherwise the answer is definite even after retries: had an earlier attempt won, the key
            // would hold our name on this lease (just refreshed, it cannot have expired meanwhile)
            List<KeyValue> kvs = r.getGetResponses().isEmpty()
                    ? List.of()
                    : r.getGetResponses().get(0).getKvs();
            return !kvs.isEmpty()
                    && kvs.get(0).getValue().equals(name)
                    && kvs.get(0).getLease() == l.id()
                    && requireProven("acquisition");
        }
    }

    @Override
    public boolean renewLock(String key, String holder) throws DcsException {
        checkOpen();
        ByteSequence lockKey = bytes(key);
        ByteSequence name = bytes(holder);
        EtcdCalls.Deadline d = calls.deadline();
        synchronized (leaseLock) {
            LeaseKeeper.Lease l = ensureLease(d);
            Cmp ours = new Cmp(lockKey, Cmp.Op.EQUAL, CmpTarget.value(name));
            TxnResponse check = calls.run(
                    d,
                    "check of " + key,
                    c -> c.getKVClient()
                            .txn()
                            .If(ours)
                            .Then(Op.get(lockKey, GetOption.DEFAULT))
                            .commit());
            if (!check.isSucceeded()) {
                return false;
            }
            KeyValue kv = check.getGetResponses().get(0).getKvs().get(0);
            if (kv.getLease() == l.id()) {
                return requireProven("renewal");
            }
            // the key is on an older lease (expired, replaced after a TTL change, or the lease of this
            // member's killed previous process): move it, but only if it still holds our name at the
            // revision just read
            LOG.info(
                    "moving {} from lease {} to lease {}",
                    key,
                    Long.toHexString(kv.getLease()),
                    Long.toHexString(l.id()));
            long seen = kv.getModRevision();
            PutOption onLease = PutOption.builder().withLeaseId(l.id()).build();
            TxnResponse move = conditionalWrite(
                    d,
                    "move of " + key + " to a new lease",
                    c -> c.getKVClient()
                            .txn()
                            .If(ours, new Cmp(lockKey, Cmp.Op.EQUAL, CmpTarget.modRevision(seen)))
                            .Then(Op.put(lockKey, name, onLease))
                            .commit());
            return move.isSucceeded() && requireProven("renewal");
        }
    }

    @Override
    public boolean releaseLock(String key, String holder) throws DcsException {
        checkOpen();
        ByteSequence lockKey = bytes(key);
        TxnResponse r = conditionalWrite(
                calls.deadline(),
                "release of " + key,
                c -> c.getKVClient()
                        .txn()
                        .If(new Cmp(lockKey, Cmp.Op.EQUAL, CmpTarget.value(bytes(holder))))
                        .Then(Op.delete(lockKey, DeleteOption.DEFAULT))
                        .commit());
        return r.isSucceeded();
    }

    @Override
    public void putOnSession(String key, String value) throws DcsException {
        checkOpen();
        ByteSequence k = bytes(key);
        ByteSequence v = bytes(value);
        EtcdCalls.Deadline d = calls.deadline();
        synchronized (leaseLock) {
            onLease.put(k, v);
            writtenOn.remove(k);
            LeaseKeeper.Lease l = lease.keep(d);
            putOnLease(d, l.id(), k, v);
            writtenOn.put(k, l.id());
        }
    }

    /**
     * No request while more than half the lease's TTL is left (the leader's renewal refreshes it
     * each cycle; a replica's record refreshes it about every other cycle); one keep-alive
     * otherwise. A new lease means the record must be written on it: false.
     */
    @Override
    public boolean keepOnSession(String key) throws DcsException {
        checkOpen();
        ByteSequence k = bytes(key);
        EtcdCalls.Deadline d = calls.deadline();
        synchronized (leaseLock) {
            Long on = writtenOn.get(k);
            if (on == null || on != lease.currentId()) {
                return false;
            }
            LeaseKeeper.Lease l = lease.keep(d);
            if (l.fresh()) {
                moveOntoLease(d, l); // the record as last written, which is unchanged
            }
            return true;
        }
    }

    @Override
    public void setRetryTimeout(Duration retryTimeout) {
        calls.bound(retryTimeout);
    }

    @Override
    public void setTtl(Duration ttl) throws DcsException {
        checkOpen();
        synchronized (leaseLock) {
            lease.setTtl(ttl);
        }
    }

    /** A live lease; when a new one had to be granted, the member record moves onto it at once. */
    private LeaseKeeper.Lease ensureLease(EtcdCalls.Deadline d) throws DcsException {
        LeaseKeeper.Lease l = lease.ensure(d);
        if (l.fresh()) {
            moveOntoLease(d, l);
        }
        return l;
    }

    /** Writes the keys kept on the lease onto a new one. Under leaseLock. */
    private void moveOntoLease(EtcdCalls.Deadline d, LeaseKeeper.Lease l) throws DcsException {
        for (Map.Entry<ByteSequence, ByteSequence> e : onLease.entrySet()) {
            writtenOn.remove(e.getKey());
            putOnLease(d, l.id(), e.getKey(), e.getValue());
            writtenOn.put(e.getKey(), l.id());
        }
    }

    private void putOnLease(EtcdCalls.Deadline d, long leaseId, ByteSequence key, ByteSequence value)
            throws DcsException {
        PutOption onLease = PutOption.builder().withLeaseId(leaseId).build();
        write(
                d,
                "write of " + text(key),
                c -> c.getKVClient().put(key, value, onLease),
                r -> r.getHeader().getRevision());
    }

    /**
     * The last safety net: claim the lock only while the lease is proven alive. A renewal that took
     * longer than the TTL (a stalled etcd, a long GC pause) cannot vouch for the key any more.
     */
    private boolean requireProven(String what) throws DcsException {
        if (!lease.provenAlive()) {
            throw new DcsException("leader " + what + " on etcd at " + calls.endpoints() + " took longer than the "
                    + "lease TTL: the lease may have expired meanwhile");
        }
        return true;
    }

    // ---------------------------------------------------------------- versioned keys

    /**
     * {@link Dcs#ANY} is a plain put; {@link Dcs#ABSENT} a transaction on {@code create_revision
     * == 0}; a version a transaction on {@code mod_revision}.
     */
    @Override
    public boolean put(String key, String value, long expectedVersion) throws DcsException {
        checkOpen();
        ByteSequence k = bytes(key);
        ByteSequence v = bytes(value);
        if (expectedVersion == Dcs.ANY) {
            write(
                    calls.deadline(),
                    "write of " + key,
                    c -> c.getKVClient().put(k, v),
                    r -> r.getHeader().getRevision());
            return true;
        }
        return compareAndSet(k, Op.put(k, v, PutOption.DEFAULT), expectedVersion, "write of " + key);
    }

    @Override
    public boolean delete(String key, long expectedVersion) throws DcsException {
        checkOpen();
        ByteSequence k = bytes(key);
        if (expectedVersion == Dcs.ANY) {
            DeleteResponse r = write(
                    calls.deadline(), "delete of " + key, c -> c.getKVClient().delete(k), EtcdStore::ifDeleted);
            return r.getDeleted() > 0;
        }
        return compareAndSet(k, Op.delete(k, DeleteOption.DEFAULT), expectedVersion, "delete of " + key);
    }

    private boolean compareAndSet(ByteSequence key, Op op, long expected, String what) throws DcsException {
        Cmp condition = expected == Dcs.ABSENT
                ? new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0))
                : new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(expected));
        String described = what + " at version " + (expected == Dcs.ABSENT ? "ABSENT" : expected);
        TxnResponse r = conditionalWrite(
                calls.deadline(),
                described,
                c -> c.getKVClient().txn().If(condition).Then(op).commit());
        return r.isSucceeded();
    }

    @Override
    public void deleteTree(String prefix) throws DcsException {
        checkOpen();
        DeleteOption all = DeleteOption.builder().isPrefix(true).build();
        write(
                calls.deadline(),
                "delete of " + prefix,
                c -> c.getKVClient().delete(bytes(prefix), all),
                EtcdStore::ifDeleted);
    }

    // ---------------------------------------------------------------- the watch

    @Override
    public void watch(String prefix, ChangeListener listener) {
        this.listener = listener;
        ChangeWatcher w = new ChangeWatcher(connection, bytes(prefix), listener, threadName);
        this.watcher = w;
        w.start();
    }

    // ---------------------------------------------------------------- writes

    /**
     * Runs a write and reports the revision it wrote (as its watch event will carry it) as this
     * member's own; {@code written} gives that revision, or null when nothing was written.
     */
    private <T> T write(EtcdCalls.Deadline d, String what, EtcdCalls.Call<T> call, Function<T, Long> written)
            throws DcsException {
        T r = calls.run(d, what, call);
        Long revision = written.apply(r);
        if (revision != null) {
            listener.wroteAt(revision);
        }
        return r;
    }

    /**
     * Runs a conditional write (a txn). When it had to be retried and the retry found its condition
     * false, the outcome is unknown: the attempt that seemed to fail may have been applied and made
     * the condition false itself. That is a {@link DcsException} (the caller re-reads), not a lost race.
     */
    private TxnResponse conditionalWrite(EtcdCalls.Deadline d, String what, EtcdCalls.Call<TxnResponse> call)
            throws DcsException {
        EtcdCalls.Outcome<TxnResponse> o = calls.attempt(d, what, call);
        TxnResponse r = o.value();
        if (r.isSucceeded()) {
            listener.wroteAt(r.getHeader().getRevision());
        } else if (o.attempts() > 1) {
            throw new DcsException("outcome of " + what + " on etcd at " + calls.endpoints() + " is unknown: "
                    + "an attempt that failed for lack of a connection may have been applied before the retry "
                    + "found the condition false");
        }
        return r;
    }

    private static Long ifSucceeded(TxnResponse r) {
        return r.isSucceeded() ? r.getHeader().getRevision() : null;
    }

    private static Long ifDeleted(DeleteResponse r) {
        return r.getDeleted() > 0 ? r.getHeader().getRevision() : null;
    }

    // ---------------------------------------------------------------- closing

    /** Revokes the lease (the lock and the member record go at once), then closes the client. */
    @Override
    public void abandon() {
        synchronized (leaseLock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        ChangeWatcher w = watcher;
        if (w != null) {
            w.close();
        }
        // no revoke: the lease, and the keys on it, lapse with the ttl
        connection.close();
    }

    @Override
    public void close() {
        long[] leases;
        synchronized (leaseLock) {
            if (closed) {
                return;
            }
            closed = true;
            leases = lease.toRevoke();
        }
        ChangeWatcher w = watcher;
        if (w != null) {
            w.close();
        }
        EtcdCalls.Deadline d = calls.deadline();
        for (long id : leases) {
            if (id != 0) {
                revoke(d, id);
            }
        }
        connection.close();
    }

    private void revoke(EtcdCalls.Deadline d, long id) {
        try {
            calls.run(
                    d,
                    "revoke of lease " + Long.toHexString(id),
                    c -> c.getLeaseClient().revoke(id));
        } catch (EtcdCallException e) {
            if (!e.isNotFound()) { // not found: expired already, the keys are gone anyway
                LOG.warn(
                        "could not revoke etcd lease {} on close; its keys expire with its TTL: {}",
                        Long.toHexString(id),
                        e.getMessage());
            }
        } catch (DcsException e) {
            LOG.warn(
                    "could not revoke etcd lease {} on close; its keys expire with its TTL: {}",
                    Long.toHexString(id),
                    e.getMessage());
        }
    }

    private void checkOpen() throws DcsException {
        if (closed) {
            throw new DcsException("the etcd DCS of member " + member + " is closed");
        }
    }

    // ---------------------------------------------------------------- bytes

    static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    static String text(ByteSequence b) {
        return b.toString(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "etcd at " + calls.endpoints();
    }
}
