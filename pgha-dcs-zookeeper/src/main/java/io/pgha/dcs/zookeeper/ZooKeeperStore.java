package io.pgha.dcs.zookeeper;

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
import java.util.List;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryUntilElapsed;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The storage primitives of ZooKeeper ({@link ClusterStore}) with Apache Curator (the framework
 * only), as Patroni uses ZooKeeper: keys are znodes; the keys on the member's session (the lock,
 * the member record) are EPHEMERAL znodes owned by this member's ZooKeeper session (session
 * timeout = ttl); the others are persistent and written with compare-and-set on the znode.
 *
 * <h2>The lock</h2>
 * The lock is an ephemeral znode holding the holder's name. A renewal proves, with a round trip to
 * the server, that the znode holds that name AND is owned by our current session
 * ({@code ephemeralOwner}); after a session expiry the server has deleted the znode with the
 * session, and the renewal answers false. A znode holding our name under another live session is
 * the lock of this member's previous process (killed and restarted while its PostgreSQL ran on,
 * before the server expired its session): the renewal takes it over, deleting and re-creating it
 * under our session in one transaction (Patroni's "ownership mismatch"). A znode naming another
 * member is never touched.
 *
 * <p>ZooKeeper keeps a session alive while the client heartbeats, whether or not the HA loop
 * runs: the store keeps its own deadline for the ephemeral znodes ({@link EphemeralDeadline}).
 * Past it a renewal answers false and a watchdog removes them; a SUSPENDED connection never
 * extends the lock (CURATOR-460): a renewal that cannot reach the server throws, and the deadline
 * does not move.
 *
 * <h2>Versions</h2>
 * The version handed out with each value is the znode's {@code mzxid} (the transaction that last
 * changed it), not its data version: a data version restarts at 0 when a znode is deleted and
 * created again, so a stale version could match a new znode. A compare-and-set reads the znode,
 * compares its {@code mzxid} and writes with the data version it read, so ZooKeeper itself
 * rejects a write that raced with another. A conditional write that Curator retried after a
 * connection loss and that then finds its condition false may have been applied by the lost
 * attempt: it throws {@link DcsException} (outcome unknown) rather than report a lost race.
 *
 * <h2>Watch</h2>
 * {@link ZooKeeperWatch}: one persistent recursive watch on the cluster znode. Creates and data
 * writes report their zxid as this member's own; deletes cannot tell theirs and go unreported (at
 * worst the member wakes once for its own delete).
 *
 * <h2>Concurrency</h2>
 * Thread-safe. Acquire, renew, the member write and the watchdog are serialized by one lock (they
 * move the deadline); reads and the other writes run concurrently. Every call is bounded by the
 * retry policy (about {@code retryTimeout}) and then throws {@link DcsException}.
 */
final class ZooKeeperStore implements ClusterStore {
    private static final Logger log = LoggerFactory.getLogger(ZooKeeperStore.class);
    private static final long WATCHDOG_RETRY_MILLIS = 1000;
    private static final int CONNECTION_MILLIS_MAX = 1500;

    private final String member;
    private final String ensemble;
    private final CuratorFramework client;
    private final CountingRetryPolicy retryPolicy;
    private final int connectionMillis;
    private final EphemeralDeadline deadline;
    private final ZooKeeperWatch watch;

    private volatile ChangeListener listener;
    private volatile boolean closed;
    private final ZooKeeperOptions.ClientSetup clientSetup;

    ZooKeeperStore(DcsSettings settings, ZooKeeperOptions options) {
        this.member = settings.name();
        this.ensemble = options.connectString();
        Duration ttl = checkTtl(settings.ttl());
        this.clientSetup = options.clientSetup();
        int retryMillis = retryMillis(settings.retryTimeout());
        // one attempt waits up to connectionTimeout for a connection; attempts go on for the rest of
        // retryTimeout: a call is over in about retryTimeout. Curator fixes the connection timeout when
        // the client is built, so it stays short (at most 1.5 s, half the smallest retry_timeout Patroni
        // accepts) for a changed retry_timeout to move the rest (setRetryTimeout)
        this.connectionMillis = Math.max(500, Math.min(CONNECTION_MILLIS_MAX, retryMillis / 2));
        this.retryPolicy = new CountingRetryPolicy(retryUntil(retryMillis));
        CuratorFrameworkFactory.Builder builder = CuratorFrameworkFactory.builder()
                .connectString(options.connectString())
                .sessionTimeoutMs((int) Math.min(Integer.MAX_VALUE, ttl.toMillis()))
                .connectionTimeoutMs(connectionMillis)
                .retryPolicy(retryPolicy)
                .zkClientConfig(clientSetup.config());
        if (!options.acls().isEmpty()) {
            builder.aclProvider(new FixedAclProvider(options.acls()));
        }
        this.client = builder.build();
        this.deadline = new EphemeralDeadline(client, member, ttl);
        this.watch = new ZooKeeperWatch(client, member);
        client.start();
    }

    private static int retryMillis(Duration retryTimeout) {
        return (int) Math.max(1000, Math.min(Integer.MAX_VALUE, retryTimeout.toMillis()));
    }

    private RetryUntilElapsed retryUntil(int retryMillis) {
        return new RetryUntilElapsed(Math.max(0, retryMillis - connectionMillis), 100);
    }

    /**
     * {@code retry_timeout} changed in the dynamic configuration: the next calls retry for the new
     * value less the connection timeout, as Patroni sets its ZooKeeper client's retry deadline.
     */
    @Override
    public void setRetryTimeout(Duration retryTimeout) {
        retryPolicy.delegate(retryUntil(retryMillis(retryTimeout)));
    }

    /** The Curator client, for tests that expire its session. */
    CuratorFramework curator() {
        return client;
    }

    // ------------------------------------------------------------------ reads

    /** Walks the tree key by key (ZooKeeper has no snapshot read); a znode deleted meanwhile is skipped. */
    @Override
    public StoredTree readTree(String prefix) throws DcsException {
        String root = znode(prefix);
        return call("read " + root, () -> {
            List<StoredValue> values = new ArrayList<>();
            walk(root, values);
            return new StoredTree(values, 0);
        });
    }

    private void walk(String parent, List<StoredValue> into) throws Exception {
        for (String child : children(parent)) {
            String path = parent + "/" + child;
            Stat stat = new Stat();
            String raw = getOrNull(path, stat);
            if (raw == null) {
                continue;
            }
            into.add(new StoredValue(path, raw, stat.getMzxid()));
            if (stat.getNumChildren() > 0) {
                walk(path, into);
            }
        }
    }

    // ------------------------------------------------------------------ the lock

    @Override
    public boolean acquireLock(String key, String holder) throws DcsException {
        return withSessionLock("acquire " + key, () -> {
            long start = System.nanoTime();
            try {
                Stat created = new Stat();
                client.create()
                        .storingStatIn(created)
                        .creatingParentsIfNeeded()
                        .withMode(CreateMode.EPHEMERAL)
                        .forPath(key, bytes(holder));
                wrote(created);
            } catch (KeeperException.NodeExistsException e) {
                // ours already? (a create retried after a lost response, or a lock we hold): else taken
                Stat stat = new Stat();
                String current = getOrNull(key, stat);
                if (current == null || !current.equals(holder) || stat.getEphemeralOwner() != deadline.sessionId()) {
                    return false;
                }
            }
            deadline.refreshed(start, key);
            return true;
        });
    }

    @Override
    public boolean renewLock(String key, String holder) throws DcsException {
        return withSessionLock("renew " + key, () -> {
            long start = System.nanoTime();
            Stat stat = new Stat();
            String current = getOrNull(key, stat);
            if (current == null || !current.equals(holder)) {
                return false;
            }
            if (stat.getEphemeralOwner() != deadline.sessionId()) {
                if (!takeOver(key, holder, stat)) {
                    return false;
                }
                deadline.refreshed(start, key);
                return true;
            }
            if (deadline.passedAt(start)) {
                // our own deadline passed before this renewal: by contract the lock lapsed
                log.warn("{}: the lock {} lapsed at its deadline before this renewal; giving it up", member, key);
                deadline.deleteIfOurs(key);
                return false;
            }
            deadline.refreshed(start, key);
            return true;
        });
    }

    /**
     * The lock znode holds our name but another session owns it: this member's previous process
     * was killed and restarted, and the server has not expired its session yet (or the znode was
     * planted by hand). Patroni deletes and re-creates it ("Recreating the leader ZNode due to
     * ownership mismatch"); here both happen in one transaction, the delete conditional on the
     * version just read, so no other member can take the lock in between. Caller holds the deadline's lock.
     *
     * <p>ZooKeeper compares only a znode's data version, and every lock znode is created at
     * version 0: a znode that another member created after the old session expired, between our
     * read and the transaction (one round trip), would match too. The name read just before, and
     * the old session being alive when it was read, make that window small; Patroni's own delete
     * is unconditional.
     */
    private boolean takeOver(String key, String holder, Stat seen) throws Exception {
        log.warn(
                "{}: {} holds this member's name under session 0x{}, not ours (0x{}): re-creating it under our session",
                member,
                key,
                Long.toHexString(seen.getEphemeralOwner()),
                Long.toHexString(deadline.sessionId()));
        retryPolicy.reset();
        try {
            client.transaction()
                    .forOperations(
                            client.transactionOp()
                                    .delete()
                                    .withVersion(seen.getVersion())
                                    .forPath(key),
                            client.transactionOp()
                                    .create()
                                    .withMode(CreateMode.EPHEMERAL)
                                    .forPath(key, bytes(holder)));
            return true;
        } catch (KeeperException.NoNodeException
                | KeeperException.BadVersionException
                | KeeperException.NodeExistsException e) {
            if (!retryPolicy.retried()) {
                log.info("{}: {} changed while we took it over ({}); the lock is not ours", member, key, e.code());
                return false;
            }
            // retried after a connection loss: the lost attempt may have been applied; the znode tells
            Stat now = new Stat();
            String current = getOrNull(key, now);
            return holder.equals(current) && now.getEphemeralOwner() == deadline.sessionId();
        }
    }

    @Override
    public boolean releaseLock(String key, String holder) throws DcsException {
        return call("release " + key, () -> {
            Stat stat = new Stat();
            String current = getOrNull(key, stat);
            if (current == null || !current.equals(holder)) {
                return false;
            }
            retryPolicy.reset();
            try {
                client.delete().withVersion(stat.getVersion()).forPath(key);
                return true;
            } catch (KeeperException.NoNodeException | KeeperException.BadVersionException e) {
                return unlessRetried(key, e);
            }
        });
    }

    // ------------------------------------------------------------------ the member record

    /**
     * One existence check instead of a write: the znode is still this session's, which moves the
     * deadline as a write would (the session itself lives on the client's heartbeats).
     */
    @Override
    public boolean keepOnSession(String key) throws DcsException {
        return withSessionLock("keep " + key, () -> {
            long start = System.nanoTime();
            Stat stat = client.checkExists().forPath(key);
            if (stat == null || stat.getEphemeralOwner() != deadline.sessionId()) {
                return false;
            }
            deadline.refreshed(start, key);
            return true;
        });
    }

    @Override
    public void putOnSession(String key, String value) throws DcsException {
        byte[] data = bytes(value);
        withSessionLock("write " + key, () -> {
            long start = System.nanoTime();
            for (int attempt = 0; ; attempt++) {
                Stat stat = client.checkExists().forPath(key);
                long session = deadline.sessionId();
                try {
                    if (stat != null && stat.getEphemeralOwner() == session) {
                        wrote(client.setData().withVersion(stat.getVersion()).forPath(key, data));
                        break;
                    }
                    if (stat != null) {
                        // left by an earlier session of ours or planted by hand: it would not expire with us
                        client.delete().withVersion(stat.getVersion()).forPath(key);
                    }
                    Stat created = new Stat();
                    client.create()
                            .storingStatIn(created)
                            .creatingParentsIfNeeded()
                            .withMode(CreateMode.EPHEMERAL)
                            .forPath(key, data);
                    wrote(created);
                    break;
                } catch (KeeperException.NoNodeException
                        | KeeperException.NodeExistsException
                        | KeeperException.BadVersionException e) {
                    if (attempt >= 3) {
                        throw new DcsException(
                                key + " keeps changing under us (another process with member name '" + member + "'?)",
                                e);
                    }
                }
            }
            deadline.refreshed(start, key);
            return null;
        });
    }

    /**
     * Applies at once to the local deadline (from the next acquire, renew or member write).
     * ZooKeeper cannot change the timeout of a live session, so the server-side timeout changes
     * with the next session; meanwhile the deadline uses the smaller of the two, so it never
     * outlives the session.
     */
    @Override
    public void setTtl(Duration ttl) {
        deadline.setTtl(checkTtl(ttl));
    }

    // ------------------------------------------------------------------ persistent keys

    /** A compare-and-set write; see the class comment for versions. */
    @Override
    public boolean put(String key, String value, long expectedVersion) throws DcsException {
        return call("write " + key, () -> {
            if (expectedVersion == Dcs.ABSENT) {
                retryPolicy.reset();
                try {
                    Stat created = new Stat();
                    client.create()
                            .storingStatIn(created)
                            .creatingParentsIfNeeded()
                            .forPath(key, bytes(value));
                    wrote(created);
                    return true;
                } catch (KeeperException.NodeExistsException e) {
                    return unlessRetried(key, e);
                }
            }
            if (expectedVersion == Dcs.ANY) {
                writeAny(key, value);
                return true;
            }
            Stat stat = client.checkExists().forPath(key);
            if (stat == null || stat.getMzxid() != expectedVersion) {
                return false;
            }
            retryPolicy.reset();
            try {
                wrote(client.setData().withVersion(stat.getVersion()).forPath(key, bytes(value)));
                return true;
            } catch (KeeperException.NoNodeException | KeeperException.BadVersionException e) {
                return unlessRetried(key, e);
            }
        });
    }

    @Override
    public boolean delete(String key, long expectedVersion) throws DcsException {
        return call("delete " + key, () -> {
            if (expectedVersion == Dcs.ABSENT) {
                return client.checkExists().forPath(key) == null;
            }
            if (expectedVersion == Dcs.ANY) {
                retryPolicy.reset();
                try {
                    client.delete().forPath(key);
                    return true;
                } catch (KeeperException.NoNodeException e) {
                    // gone already; after a retry, the lost attempt may have been the one that deleted it
                    return retryPolicy.retried();
                }
            }
            Stat stat = client.checkExists().forPath(key);
            if (stat == null || stat.getMzxid() != expectedVersion) {
                return false;
            }
            retryPolicy.reset();
            try {
                client.delete().withVersion(stat.getVersion()).forPath(key);
                return true;
            } catch (KeeperException.NoNodeException | KeeperException.BadVersionException e) {
                return unlessRetried(key, e);
            }
        });
    }

    @Override
    public void deleteTree(String prefix) throws DcsException {
        String root = znode(prefix);
        call("delete " + root, () -> {
            for (int attempt = 0; ; attempt++) {
                try {
                    client.delete().deletingChildrenIfNeeded().forPath(root);
                    return null;
                } catch (KeeperException.NoNodeException e) {
                    return null;
                } catch (KeeperException.NotEmptyException e) {
                    // a member wrote its key while the tree was being deleted: go again
                    if (attempt >= 5) {
                        throw new DcsException("cannot delete " + root + ": members keep writing into it", e);
                    }
                }
            }
        });
    }

    /**
     * A conditional write found its condition false: a lost race, unless Curator retried it after
     * a connection loss, in which case the lost attempt may have been applied and the outcome is
     * unknown.
     */
    private boolean unlessRetried(String path, KeeperException e) throws DcsException {
        if (retryPolicy.retried()) {
            throw new DcsException(
                    "outcome of the write to " + path + " unknown: it was retried after a connection loss"
                            + " and then found " + e.code(),
                    e);
        }
        return false;
    }

    private void writeAny(String path, String value) throws Exception {
        while (true) {
            try {
                wrote(client.setData().forPath(path, bytes(value)));
                return;
            } catch (KeeperException.NoNodeException e) {
                try {
                    Stat created = new Stat();
                    client.create()
                            .storingStatIn(created)
                            .creatingParentsIfNeeded()
                            .forPath(path, bytes(value));
                    wrote(created);
                    return;
                } catch (KeeperException.NodeExistsException raced) {
                    // created meanwhile: set it
                }
            }
        }
    }

    // ------------------------------------------------------------------ watch

    @Override
    public void watch(String prefix, ChangeListener listener) {
        this.listener = listener;
        watch.start(znode(prefix), listener);
    }

    /** Reports a write's zxid (its watch event carries the same) as this member's own. */
    private void wrote(Stat stat) {
        if (stat != null && stat.getMzxid() > 0) {
            listener.wroteAt(stat.getMzxid());
        }
    }

    // ------------------------------------------------------------------ close

    /**
     * Closes the ZooKeeper session: the server deletes the ephemeral znodes at once. If the
     * server cannot be reached, they go when the session times out.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        deadline.close();
        watch.close();
        try {
            client.close();
        } catch (RuntimeException e) {
            log.warn("{}: closing the ZooKeeper client failed: {}", member, e.toString());
        }
        try {
            clientSetup.deleteKeyMaterial();
        } catch (IOException | RuntimeException e) {
            log.warn(
                    "{}: cannot delete the joined ZooKeeper key store {}: {}", member, clientSetup.keyMaterialDir(), e);
        }
    }

    @Override
    public String toString() {
        return "ZooKeeper at " + ensemble;
    }

    // ------------------------------------------------------------------ internals

    /** A key prefix as a znode path: without its trailing slash. */
    private static String znode(String prefix) {
        return prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
    }

    private List<String> children(String path) throws Exception {
        try {
            return client.getChildren().forPath(path);
        } catch (KeeperException.NoNodeException e) {
            return List.of();
        }
    }

    private String getOrNull(String path, Stat stat) throws Exception {
        try {
            byte[] data = client.getData().storingStatIn(stat).forPath(path);
            return data == null ? "" : new String(data, StandardCharsets.UTF_8);
        } catch (KeeperException.NoNodeException e) {
            return null;
        }
    }

    private interface ZkCall<T> {
        T run() throws Exception;
    }

    private <T> T withSessionLock(String what, ZkCall<T> call) throws DcsException {
        return call(what, () -> {
            deadline.lock().lockInterruptibly();
            try {
                return call.run();
            } finally {
                deadline.lock().unlock();
            }
        });
    }

    /** Runs one operation; anything but an expected answer becomes a DcsException naming it. */
    private <T> T call(String what, ZkCall<T> call) throws DcsException {
        if (closed) {
            throw new DcsException(what + ": this ZooKeeper Dcs of member '" + member + "' is closed");
        }
        try {
            return call.run();
        } catch (DcsException e) {
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DcsException(what + ": interrupted", e);
        } catch (KeeperException e) {
            throw new DcsException(what + " failed: " + e.getMessage(), e);
        } catch (IllegalStateException e) {
            // Curator's answer once the client is closed
            throw new DcsException(what + " failed: " + e.getMessage(), e);
        } catch (Exception e) {
            throw new DcsException(what + " failed: " + e, e);
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static Duration checkTtl(Duration ttl) {
        if (ttl == null || ttl.isNegative() || ttl.isZero() || ttl.toMillis() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("ttl must be positive (and below 24 days), got " + ttl);
        }
        return ttl;
    }
}
