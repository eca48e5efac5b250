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
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.ClusterStatus;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsJson;
import io.pgha.dcs.DcsSettings;
import io.pgha.dcs.Failover;
import io.pgha.dcs.HistoryEntry;
import io.pgha.dcs.SyncState;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Dcs} over etcd v3, with Patroni's key layout and semantics so that Patroni's own tools
 * read a pgha cluster and the other way round.
 *
 * <ul>
 *   <li>Keys: {@code <namespace><scope>/leader} (the bare member name), {@code members/<name>},
 *       {@code config}, {@code initialize}, {@code status}, {@code history}, {@code failover},
 *       {@code sync}, {@code failsafe}; JSON values from {@link DcsJson}.</li>
 *   <li>TTL: one lease per member ({@link LeaseKeeper}) carrying its leader key and member key,
 *       refreshed with each leader renewal and member touch.</li>
 *   <li>Compare-and-set: etcd transactions. The leader key is only ever written under a comparison
 *       ({@code create_revision == 0} to take it, {@code value == name} to keep or move it): a
 *       thawed old leader can never overwrite a newer one (Patroni PR #2689). {@code config},
 *       {@code failover}, {@code sync} and {@code initialize} compare {@code mod_revision}, which is
 *       the version {@link #read()} reports.</li>
 *   <li>Errors: each operation is bounded by {@code retry_timeout}, retrying lost connections
 *       within it ({@link EtcdCalls}); then a {@link DcsException} names the endpoints.</li>
 * </ul>
 *
 * <p>Concurrency: thread-safe. Operations on the lease (acquire, renew, touch, setTtl, close) are
 * serialized on one lock; reads and other writes run concurrently; {@link #awaitChange} holds no
 * lock that a write needs.
 */
final class EtcdDcs implements Dcs {
    private static final Logger LOG = LoggerFactory.getLogger(EtcdDcs.class);

    private final DcsSettings settings;
    private final String prefix;
    private final ByteSequence prefixKey;
    private final ByteSequence leaderKey;
    private final ByteSequence memberKey;
    private final ByteSequence name;
    private final EtcdConnection connection;
    private final EtcdCalls calls;
    private final ChangeWatcher watcher;
    private final Duration retryTimeout;

    private final Object leaseLock = new Object();
    private final LeaseKeeper lease;
    /** The last member data written, re-written on a new lease. Guarded by leaseLock. */
    private Map<String, Object> memberData;

    private volatile boolean closed;

    EtcdDcs(DcsSettings settings, EtcdOptions options) {
        this.settings = settings;
        if (settings.name().isEmpty() || settings.name().contains("/")) {
            throw new IllegalArgumentException(
                    "member name must be non-empty and contain no '/': '" + settings.name() + "'");
        }
        if (settings.scope().isEmpty() || settings.scope().contains("/")) {
            throw new IllegalArgumentException(
                    "scope must be non-empty and contain no '/': '" + settings.scope() + "'");
        }
        this.retryTimeout = settings.retryTimeout();
        this.prefix = settings.clusterPrefix();
        this.prefixKey = bytes(prefix);
        this.leaderKey = bytes(prefix + "leader");
        this.memberKey = bytes(prefix + "members/" + settings.name());
        this.name = bytes(settings.name());
        this.connection = new EtcdConnection(options, retryTimeout);
        this.calls = new EtcdCalls(connection, retryTimeout);
        this.lease = new LeaseKeeper(LeaseKeeper.over(calls), settings.ttl(), System::nanoTime);
        this.watcher =
                new ChangeWatcher(connection, prefixKey, "pgha-etcd-watch-" + settings.scope() + "-" + settings.name());
        watcher.start();
    }

    @Override
    public String memberName() {
        return settings.name();
    }

    /** The cluster prefix, {@code /service/<scope>/}. */
    String prefix() {
        return prefix;
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

    @Override
    public ClusterState read() throws DcsException {
        checkOpen();
        GetOption all =
                GetOption.builder().isPrefix(true).withSerializable(false).build();
        GetResponse r = calls.run(
                calls.deadline(), "read of " + prefix, c -> c.getKVClient().get(prefixKey, all));
        ClusterState.Builder b = ClusterState.builder(settings.scope());
        String optimeLeader = null;
        boolean hasStatus = false;
        for (KeyValue kv : r.getKvs()) {
            String key = text(kv.getKey());
            if (!key.startsWith(prefix)) {
                continue;
            }
            String rel = key.substring(prefix.length());
            String value = text(kv.getValue());
            long version = kv.getModRevision();
            switch (rel) {
                case "leader" -> b.leader(value, version);
                case "config" -> b.config(value, version);
                case "initialize" -> b.initialize(value, version);
                case "status" -> {
                    b.status(value);
                    hasStatus = true;
                }
                case "optime/leader" -> optimeLeader = value; // written by Patroni before 2.1
                case "history" -> b.history(value, version);
                case "failover" -> b.failover(value, version);
                case "sync" -> b.sync(value, version);
                case "failsafe" -> b.failsafe(value);
                default -> {
                    if (rel.startsWith("members/")) {
                        String member = rel.substring("members/".length());
                        if (!member.isEmpty() && !member.contains("/")) {
                            b.member(member, value, version);
                        }
                    }
                }
            }
        }
        if (!hasStatus && optimeLeader != null) {
            b.status(optimeLeader);
        }
        watcher.readAt(r.getHeader().getRevision());
        return b.build();
    }

    // ---------------------------------------------------------------- the leader lock and the lease

    @Override
    public boolean acquireLeader() throws DcsException {
        checkOpen();
        EtcdCalls.Deadline d = calls.deadline();
        synchronized (leaseLock) {
            LeaseKeeper.Lease l = ensureLease(d);
            PutOption onLease = PutOption.builder().withLeaseId(l.id()).build();
            TxnResponse r = write(
                    d,
                    "acquisition of " + text(leaderKey),
                    c -> c.getKVClient()
                            .txn()
                            .If(new Cmp(leaderKey, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                            .Then(Op.put(leaderKey, name, onLease))
                            .Else(Op.get(leaderKey, GetOption.DEFAULT))
                            .commit(),
                    EtcdDcs::ifSucceeded);
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
    public boolean renewLeader() throws DcsException {
        checkOpen();
        EtcdCalls.Deadline d = calls.deadline();
        synchronized (leaseLock) {
            LeaseKeeper.Lease l = ensureLease(d);
            Cmp ours = new Cmp(leaderKey, Cmp.Op.EQUAL, CmpTarget.value(name));
            TxnResponse check = calls.run(
                    d,
                    "check of " + text(leaderKey),
                    c -> c.getKVClient()
                            .txn()
                            .If(ours)
                            .Then(Op.get(leaderKey, GetOption.DEFAULT))
                            .commit());
            if (!check.isSucceeded()) {
                return false;
            }
            KeyValue kv = check.getGetResponses().get(0).getKvs().get(0);
            if (kv.getLease() == l.id()) {
                return requireProven("renewal");
            }
            // the key is on an older lease (expired, or replaced after a TTL change): move it, but only if
            // it still holds our name at the revision just read
            LOG.info(
                    "moving {} from lease {} to lease {}",
                    text(leaderKey),
                    Long.toHexString(kv.getLease()),
                    Long.toHexString(l.id()));
            long seen = kv.getModRevision();
            PutOption onLease = PutOption.builder().withLeaseId(l.id()).build();
            TxnResponse move = conditionalWrite(
                    d,
                    "move of " + text(leaderKey) + " to a new lease",
                    c -> c.getKVClient()
                            .txn()
                            .If(ours, new Cmp(leaderKey, Cmp.Op.EQUAL, CmpTarget.modRevision(seen)))
                            .Then(Op.put(leaderKey, name, onLease))
                            .commit());
            return move.isSucceeded() && requireProven("renewal");
        }
    }

    @Override
    public boolean releaseLeader() throws DcsException {
        checkOpen();
        TxnResponse r = conditionalWrite(
                calls.deadline(),
                "release of " + text(leaderKey),
                c -> c.getKVClient()
                        .txn()
                        .If(new Cmp(leaderKey, Cmp.Op.EQUAL, CmpTarget.value(name)))
                        .Then(Op.delete(leaderKey, DeleteOption.DEFAULT))
                        .commit());
        return r.isSucceeded();
    }

    @Override
    public void touchMember(Map<String, Object> data) throws DcsException {
        checkOpen();
        Objects.requireNonNull(data, "member data");
        ByteSequence value = bytes(DcsJson.write(data));
        EtcdCalls.Deadline d = calls.deadline();
        synchronized (leaseLock) {
            memberData = new LinkedHashMap<>(data);
            LeaseKeeper.Lease l = lease.ensure(d);
            putMember(d, l.id(), value);
        }
    }

    @Override
    public void setTtl(Duration ttl) throws DcsException {
        checkOpen();
        synchronized (leaseLock) {
            lease.setTtl(ttl);
        }
    }

    /** A live lease; when a new one had to be granted, the member key moves onto it at once. */
    private LeaseKeeper.Lease ensureLease(EtcdCalls.Deadline d) throws DcsException {
        LeaseKeeper.Lease l = lease.ensure(d);
        if (l.fresh() && memberData != null) {
            putMember(d, l.id(), bytes(DcsJson.write(memberData)));
        }
        return l;
    }

    private void putMember(EtcdCalls.Deadline d, long leaseId, ByteSequence value) throws DcsException {
        PutOption onLease = PutOption.builder().withLeaseId(leaseId).build();
        write(
                d,
                "write of " + text(memberKey),
                c -> c.getKVClient().put(memberKey, value, onLease),
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

    // ---------------------------------------------------------------- compare-and-set keys

    @Override
    public boolean writeInitialize(String systemIdentifier, long expectedVersion) throws DcsException {
        Objects.requireNonNull(systemIdentifier, "systemIdentifier");
        return compareAndSet("initialize", systemIdentifier, expectedVersion);
    }

    @Override
    public boolean cancelInitialize() throws DcsException {
        checkOpen();
        ByteSequence key = key("initialize");
        DeleteResponse r = write(
                calls.deadline(), "delete of " + text(key), c -> c.getKVClient().delete(key), EtcdDcs::ifDeleted);
        return r.getDeleted() > 0;
    }

    @Override
    public boolean writeConfig(Map<String, Object> config, long expectedVersion) throws DcsException {
        Objects.requireNonNull(config, "config");
        return compareAndSet("config", DcsJson.write(config), expectedVersion);
    }

    @Override
    public boolean writeFailover(Failover failover, long expectedVersion) throws DcsException {
        return compareAndSet("failover", failover == null ? null : DcsJson.write(failover.toJson()), expectedVersion);
    }

    @Override
    public boolean writeSync(SyncState sync, long expectedVersion) throws DcsException {
        return compareAndSet("sync", sync == null ? null : DcsJson.write(sync.toJson()), expectedVersion);
    }

    /**
     * Writes (or, for a null value, deletes) {@code rel} if its mod_revision is {@code expected};
     * {@link #ABSENT} means create_revision 0 (no such key), {@link #ANY} means no comparison.
     */
    private boolean compareAndSet(String rel, String value, long expected) throws DcsException {
        checkOpen();
        if (expected < 0 && expected != ABSENT && expected != ANY) {
            throw new IllegalArgumentException(
                    "expected version of " + rel + " must be >= 0, ABSENT or ANY, not " + expected);
        }
        ByteSequence key = key(rel);
        Op op = value == null ? Op.delete(key, DeleteOption.DEFAULT) : Op.put(key, bytes(value), PutOption.DEFAULT);
        String what = (value == null ? "delete of " : "write of ")
                + text(key)
                + (expected == ANY ? "" : " at version " + (expected == ABSENT ? "ABSENT" : expected));
        TxnResponse r = conditionalWrite(calls.deadline(), what, c -> {
            var txn = c.getKVClient().txn();
            if (expected == ABSENT) {
                txn = txn.If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0)));
            } else if (expected != ANY) {
                txn = txn.If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(expected)));
            }
            return txn.Then(op).commit();
        });
        return r.isSucceeded();
    }

    // ---------------------------------------------------------------- plain keys

    @Override
    public void writeStatus(ClusterStatus status) throws DcsException {
        Objects.requireNonNull(status, "status");
        put("status", DcsJson.write(status.toJson()));
    }

    @Override
    public void writeHistory(List<HistoryEntry> history) throws DcsException {
        Objects.requireNonNull(history, "history");
        put("history", DcsJson.write(history.stream().map(HistoryEntry::toJson).toList()));
    }

    @Override
    public void writeFailsafe(Map<String, String> failsafe) throws DcsException {
        if (failsafe == null) {
            checkOpen();
            ByteSequence key = key("failsafe");
            write(
                    calls.deadline(),
                    "delete of " + text(key),
                    c -> c.getKVClient().delete(key),
                    EtcdDcs::ifDeleted);
            return;
        }
        put("failsafe", DcsJson.write(failsafe));
    }

    private void put(String rel, String value) throws DcsException {
        checkOpen();
        ByteSequence key = key(rel);
        write(
                calls.deadline(),
                "write of " + text(key),
                c -> c.getKVClient().put(key, bytes(value)),
                r -> r.getHeader().getRevision());
    }

    @Override
    public void deleteCluster() throws DcsException {
        checkOpen();
        DeleteOption all = DeleteOption.builder().isPrefix(true).build();
        write(calls.deadline(), "delete of " + prefix, c -> c.getKVClient().delete(prefixKey, all), EtcdDcs::ifDeleted);
    }

    // ---------------------------------------------------------------- waiting

    @Override
    public boolean awaitChange(Duration timeout) throws InterruptedException {
        return watcher.await(Math.max(0, timeout.toNanos()));
    }

    @Override
    public void wakeUp() {
        watcher.wakeUp();
    }

    // ---------------------------------------------------------------- writes

    /**
     * Runs a write, telling the watcher which revision it wrote so that its own watch event does not
     * wake this member; {@code written} gives that revision, or null when nothing was written.
     */
    private <T> T write(EtcdCalls.Deadline d, String what, EtcdCalls.Call<T> call, Function<T, Long> written)
            throws DcsException {
        watcher.beginWrite();
        long revision = 0;
        try {
            T r = calls.run(d, what, call);
            Long w = written.apply(r);
            revision = w == null ? 0 : w;
            return r;
        } finally {
            watcher.endWrite(revision);
        }
    }

    /**
     * Runs a conditional write (a txn). When it had to be retried and the retry found its condition
     * false, the outcome is unknown: the attempt that seemed to fail may have been applied and made
     * the condition false itself. That is a {@link DcsException} (the caller re-reads), not a lost race.
     */
    private TxnResponse conditionalWrite(EtcdCalls.Deadline d, String what, EtcdCalls.Call<TxnResponse> call)
            throws DcsException {
        watcher.beginWrite();
        long revision = 0;
        try {
            EtcdCalls.Outcome<TxnResponse> o = calls.attempt(d, what, call);
            TxnResponse r = o.value();
            if (r.isSucceeded()) {
                revision = r.getHeader().getRevision();
            } else if (o.attempts() > 1) {
                throw new DcsException("outcome of " + what + " on etcd at " + calls.endpoints() + " is unknown: "
                        + "an attempt that failed for lack of a connection may have been applied before the retry "
                        + "found the condition false");
            }
            return r;
        } finally {
            watcher.endWrite(revision);
        }
    }

    private static Long ifSucceeded(TxnResponse r) {
        return r.isSucceeded() ? r.getHeader().getRevision() : null;
    }

    private static Long ifDeleted(DeleteResponse r) {
        return r.getDeleted() > 0 ? r.getHeader().getRevision() : null;
    }

    // ---------------------------------------------------------------- closing

    /** Revokes the lease (the leader and member keys go at once), then closes the client. */
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
        watcher.close();
        EtcdCalls.Deadline d = calls.deadline();
        for (long id : leases) {
            if (id == 0) {
                continue;
            }
            try {
                calls.run(
                        d,
                        "revoke of lease " + Long.toHexString(id),
                        c -> c.getLeaseClient().revoke(id));
            } catch (EtcdCallException e) {
                if (e.isNotFound()) {
                    continue; // expired already: the keys are gone anyway
                }
                LOG.warn(
                        "could not revoke etcd lease {} on close; its keys expire with its TTL: {}",
                        Long.toHexString(id),
                        e.getMessage());
            } catch (DcsException e) {
                LOG.warn(
                        "could not revoke etcd lease {} on close; its keys expire with its TTL: {}",
                        Long.toHexString(id),
                        e.getMessage());
            }
        }
        connection.close();
    }

    private void checkOpen() throws DcsException {
        if (closed) {
            throw new DcsException("the etcd DCS of member " + settings.name() + " is closed");
        }
    }

    // ---------------------------------------------------------------- bytes

    private ByteSequence key(String rel) {
        return bytes(prefix + rel);
    }

    static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    static String text(ByteSequence b) {
        return b.toString(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "EtcdDcs{" + prefix + ", member=" + settings.name() + ", etcd=" + calls.endpoints() + "}";
    }
}
