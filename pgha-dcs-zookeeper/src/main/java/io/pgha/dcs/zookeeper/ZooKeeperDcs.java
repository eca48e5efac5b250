package io.pgha.dcs.zookeeper;

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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.ACLProvider;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryUntilElapsed;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Dcs} over ZooKeeper with Apache Curator (the framework only), in Patroni's layout: the
 * znodes {@code /<namespace>/<scope>/leader} and {@code members/<name>} are EPHEMERAL, owned by
 * this member's ZooKeeper session (session timeout = ttl); {@code config}, {@code failover},
 * {@code sync}, {@code initialize} are persistent and written with compare-and-set on the znode
 * version.
 *
 * <h2>The lock</h2>
 * The leader lock is the ephemeral {@code leader} znode holding this member's name. A renewal
 * proves, with a round trip to the server, that the znode holds our name AND is owned by our
 * current session ({@code ephemeralOwner}); after a session expiry the server has deleted the
 * znode with the session, and the renewal answers false. A znode holding our name under another
 * live session is the lock of this member's previous process (killed and restarted while its
 * PostgreSQL ran on, before the server expired its session): the renewal takes it over, deleting
 * and re-creating it under our session in one transaction (Patroni's "ownership mismatch"). A
 * znode naming another member is never touched.
 *
 * <p>ZooKeeper keeps a session alive as long as the client process heartbeats, whether or not the
 * HA loop still runs. To hold the ttl contract of {@link Dcs} (a member that stops renewing loses
 * the lock after ttl), this adapter keeps its own deadline: the start of the last successful
 * acquire, renew or touch plus {@code min(ttl, negotiated session timeout)}. Past the deadline a
 * renewal answers false, and a watchdog thread deletes this member's ephemeral znodes; if the
 * server cannot be reached, the server itself expires the session no later than the session
 * timeout after the last heartbeat it saw, which is not before the deadline. A SUSPENDED
 * connection therefore never extends the lock (CURATOR-460): a renewal that cannot reach the
 * server throws, and the deadline does not move.
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
 * A persistent recursive watch on the cluster znode (re-added on every reconnection) marks a
 * change pending when the leader, config, failover, sync or initialize znodes change, when a
 * member znode appears or vanishes, or when the connection is suspended, lost or re-established.
 * Data changes of members, status, history and failsafe are not urgent and do not wake the loop;
 * so a member's own periodic writes cannot make its loop spin. {@link #read()} consumes the
 * pending change, as does an {@link #awaitChange} that returns it.
 *
 * <h2>Concurrency</h2>
 * Thread-safe. Acquire, renew, touch and the watchdog are serialized by one lock (they move the
 * deadline); reads and the other writes run concurrently. Every call is bounded by the retry
 * policy (about {@code retryTimeout}) and then throws {@link DcsException}.
 */
final class ZooKeeperDcs implements Dcs {
    private static final Logger log = LoggerFactory.getLogger(ZooKeeperDcs.class);
    private static final long WATCHDOG_RETRY_MILLIS = 1000;

    private final String member;
    private final String scope;
    private final String clusterPath;
    private final String leaderPath;
    private final String memberPath;
    private final CuratorFramework client;
    private final CountingRetryPolicy retryPolicy;
    private final ScheduledExecutorService watchdog;
    private final Watcher watcher = this::onEvent;

    /** Serializes the calls that move the deadline (acquire, renew, touch, the watchdog). */
    private final ReentrantLock sessionLock = new ReentrantLock();

    private volatile Duration ttl;
    // guarded by sessionLock
    private long deadlineNanos;
    private boolean deadlineSet;
    private ScheduledFuture<?> watchdogTask;

    /** Guards the pending-change state of awaitChange. */
    private final Object changeMonitor = new Object();
    // guarded by changeMonitor
    private long changes;
    private long seenChanges;
    private boolean wakeRequested;

    private volatile boolean closed;

    ZooKeeperDcs(DcsSettings settings, ZooKeeperOptions options) {
        this.member = checkName("name", settings.name());
        this.scope = checkName("scope", settings.scope());
        this.ttl = checkTtl(settings.ttl());
        this.clusterPath = settings.namespace() + scope;
        this.leaderPath = clusterPath + "/leader";
        this.memberPath = clusterPath + "/members/" + member;

        int retryMillis = (int) Math.max(
                1000, Math.min(Integer.MAX_VALUE, settings.retryTimeout().toMillis()));
        // one attempt waits up to connectionTimeout for a connection; attempts go on for the rest of
        // retryTimeout: a call is over in about retryTimeout
        int connectionMillis = Math.max(500, retryMillis / 2);
        this.retryPolicy = new CountingRetryPolicy(new RetryUntilElapsed(retryMillis - connectionMillis, 100));
        CuratorFrameworkFactory.Builder builder = CuratorFrameworkFactory.builder()
                .connectString(options.connectString())
                .sessionTimeoutMs((int) Math.min(Integer.MAX_VALUE, ttl.toMillis()))
                .connectionTimeoutMs(connectionMillis)
                .retryPolicy(retryPolicy)
                .zkClientConfig(options.clientConfig());
        if (!options.acls().isEmpty()) {
            builder.aclProvider(new FixedAclProvider(options.acls()));
        }
        this.client = builder.build();
        this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pgha-zookeeper-ttl-" + member);
            t.setDaemon(true);
            return t;
        });
        client.getConnectionStateListenable().addListener((c, state) -> onConnectionState(state));
        client.start();
    }

    @Override
    public String memberName() {
        return member;
    }

    // ------------------------------------------------------------------ reads

    @Override
    public ClusterState read() throws DcsException {
        return call("read " + clusterPath, () -> {
            synchronized (changeMonitor) {
                seenChanges = changes;
            }
            ClusterState.Builder b = ClusterState.builder(scope);
            List<String> keys = children(clusterPath);
            boolean hasStatus = keys.contains("status");
            for (String key : keys) {
                switch (key) {
                    case "initialize" -> get(key, (raw, stat) -> b.initialize(raw, stat.getMzxid()));
                    case "config" -> get(key, (raw, stat) -> b.config(raw, stat.getMzxid()));
                    case "leader" -> get(key, (raw, stat) -> b.leader(raw, stat.getMzxid()));
                    case "status" -> get(key, (raw, stat) -> b.status(raw));
                    case "failover" -> get(key, (raw, stat) -> b.failover(raw, stat.getMzxid()));
                    case "sync" -> get(key, (raw, stat) -> b.sync(raw, stat.getMzxid()));
                    case "history" -> get(key, (raw, stat) -> b.history(raw, stat.getMzxid()));
                    case "failsafe" -> get(key, (raw, stat) -> b.failsafe(raw));
                    case "members" -> {
                        for (String name : children(clusterPath + "/members")) {
                            get("members/" + name, (raw, stat) -> b.member(name, raw, stat.getMzxid()));
                        }
                    }
                    case "optime" -> {
                        if (!hasStatus) { // Patroni before 2.1 wrote only optime/leader
                            get("optime/leader", (raw, stat) -> b.status(raw));
                        }
                    }
                    default -> {
                        // not a key of Patroni's layout: not ours to read
                    }
                }
            }
            return b.build();
        });
    }

    // ------------------------------------------------------------------ the lock

    @Override
    public boolean acquireLeader() throws DcsException {
        return withSessionLock("acquire " + leaderPath, () -> {
            long start = System.nanoTime();
            try {
                client.create()
                        .creatingParentsIfNeeded()
                        .withMode(CreateMode.EPHEMERAL)
                        .forPath(leaderPath, bytes(member));
            } catch (KeeperException.NodeExistsException e) {
                // ours already? (a create retried after a lost response, or a lock we hold): else taken
                Stat stat = new Stat();
                String holder = getOrNull(leaderPath, stat);
                if (holder == null || !holder.equals(member) || stat.getEphemeralOwner() != sessionId()) {
                    return false;
                }
            }
            refreshDeadline(start);
            return true;
        });
    }

    @Override
    public boolean renewLeader() throws DcsException {
        return withSessionLock("renew " + leaderPath, () -> {
            long start = System.nanoTime();
            Stat stat = new Stat();
            String holder = getOrNull(leaderPath, stat);
            if (holder == null || !holder.equals(member)) {
                return false;
            }
            if (stat.getEphemeralOwner() != sessionId()) {
                if (!takeOver(stat)) {
                    return false;
                }
                refreshDeadline(start);
                return true;
            }
            if (!deadlineSet || start - deadlineNanos >= 0) {
                // our own deadline passed before this renewal: by contract the lock lapsed
                log.warn("{}: the leader lock lapsed at its deadline before this renewal; giving it up", member);
                deleteIfOurs(leaderPath);
                return false;
            }
            refreshDeadline(start);
            return true;
        });
    }

    /**
     * The leader znode holds our name but another session owns it: this member's previous process
     * was killed and restarted, and the server has not expired its session yet (or the znode was
     * planted by hand). Patroni deletes and re-creates it ("Recreating the leader ZNode due to
     * ownership mismatch"); here both happen in one transaction, the delete conditional on the
     * version just read, so no other member can take the lock in between. Caller holds sessionLock.
     *
     * <p>ZooKeeper compares only a znode's data version, and every leader znode is created at
     * version 0: a znode that another member created after the old session expired, between our
     * read and the transaction (one round trip), would match too. The name read just before, and
     * the old session being alive when it was read, make that window small; Patroni's own delete
     * is unconditional.
     */
    private boolean takeOver(Stat seen) throws Exception {
        log.warn(
                "{}: {} holds this member's name under session 0x{}, not ours (0x{}): re-creating it under our session",
                member,
                leaderPath,
                Long.toHexString(seen.getEphemeralOwner()),
                Long.toHexString(sessionId()));
        retryPolicy.reset();
        try {
            client.transaction()
                    .forOperations(
                            client.transactionOp()
                                    .delete()
                                    .withVersion(seen.getVersion())
                                    .forPath(leaderPath),
                            client.transactionOp()
                                    .create()
                                    .withMode(CreateMode.EPHEMERAL)
                                    .forPath(leaderPath, bytes(member)));
            return true;
        } catch (KeeperException.NoNodeException
                | KeeperException.BadVersionException
                | KeeperException.NodeExistsException e) {
            if (!retryPolicy.retried()) {
                log.info(
                        "{}: {} changed while we took it over ({}); the lock is not ours",
                        member,
                        leaderPath,
                        e.code());
                return false;
            }
            // retried after a connection loss: the lost attempt may have been applied; the znode tells
            Stat now = new Stat();
            String holder = getOrNull(leaderPath, now);
            return member.equals(holder) && now.getEphemeralOwner() == sessionId();
        }
    }

    @Override
    public boolean releaseLeader() throws DcsException {
        return call("release " + leaderPath, () -> {
            Stat stat = new Stat();
            String holder = getOrNull(leaderPath, stat);
            if (holder == null || !holder.equals(member)) {
                return false;
            }
            retryPolicy.reset();
            try {
                client.delete().withVersion(stat.getVersion()).forPath(leaderPath);
                return true;
            } catch (KeeperException.NoNodeException | KeeperException.BadVersionException e) {
                return unlessRetried(leaderPath, e);
            }
        });
    }

    // ------------------------------------------------------------------ member

    @Override
    public void touchMember(Map<String, Object> data) throws DcsException {
        byte[] json = bytes(DcsJson.write(Objects.requireNonNull(data, "data")));
        withSessionLock("touch " + memberPath, () -> {
            long start = System.nanoTime();
            for (int attempt = 0; ; attempt++) {
                Stat stat = client.checkExists().forPath(memberPath);
                long session = sessionId();
                try {
                    if (stat != null && stat.getEphemeralOwner() == session) {
                        client.setData().withVersion(stat.getVersion()).forPath(memberPath, json);
                        break;
                    }
                    if (stat != null) {
                        // left by an earlier session of ours or planted by hand: it would not expire with us
                        client.delete().withVersion(stat.getVersion()).forPath(memberPath);
                    }
                    client.create()
                            .creatingParentsIfNeeded()
                            .withMode(CreateMode.EPHEMERAL)
                            .forPath(memberPath, json);
                    break;
                } catch (KeeperException.NoNodeException
                        | KeeperException.NodeExistsException
                        | KeeperException.BadVersionException e) {
                    if (attempt >= 3) {
                        throw new DcsException(
                                memberPath + " keeps changing under us (another process with member name '" + member
                                        + "'?)",
                                e);
                    }
                }
            }
            refreshDeadline(start);
            return null;
        });
    }

    // ------------------------------------------------------------------ compare-and-set keys

    @Override
    public boolean writeInitialize(String systemIdentifier, long expectedVersion) throws DcsException {
        return write("initialize", systemIdentifier == null ? "" : systemIdentifier, expectedVersion);
    }

    @Override
    public boolean cancelInitialize() throws DcsException {
        return call("delete " + clusterPath + "/initialize", () -> {
            retryPolicy.reset();
            try {
                client.delete().forPath(clusterPath + "/initialize");
                return true;
            } catch (KeeperException.NoNodeException e) {
                return unlessRetried(clusterPath + "/initialize", e);
            }
        });
    }

    @Override
    public boolean writeConfig(Map<String, Object> config, long expectedVersion) throws DcsException {
        return write("config", DcsJson.write(Objects.requireNonNull(config, "config")), expectedVersion);
    }

    @Override
    public boolean writeFailover(Failover failover, long expectedVersion) throws DcsException {
        return write("failover", failover == null ? null : DcsJson.write(failover.toJson()), expectedVersion);
    }

    @Override
    public boolean writeSync(SyncState sync, long expectedVersion) throws DcsException {
        return write("sync", sync == null ? null : DcsJson.write(sync.toJson()), expectedVersion);
    }

    @Override
    public void writeStatus(ClusterStatus status) throws DcsException {
        write("status", DcsJson.write(Objects.requireNonNull(status, "status").toJson()), ANY);
    }

    @Override
    public void writeHistory(List<HistoryEntry> history) throws DcsException {
        List<Object> rows = new ArrayList<>();
        Objects.requireNonNull(history, "history").forEach(h -> rows.add(h.toJson()));
        write("history", DcsJson.write(rows), ANY);
    }

    @Override
    public void writeFailsafe(Map<String, String> failsafe) throws DcsException {
        write("failsafe", failsafe == null ? null : DcsJson.write(failsafe), ANY);
    }

    @Override
    public void deleteCluster() throws DcsException {
        call("delete " + clusterPath, () -> {
            for (int attempt = 0; ; attempt++) {
                try {
                    client.delete().deletingChildrenIfNeeded().forPath(clusterPath);
                    return null;
                } catch (KeeperException.NoNodeException e) {
                    return null;
                } catch (KeeperException.NotEmptyException e) {
                    // a member wrote its key while the tree was being deleted: go again
                    if (attempt >= 5) {
                        throw new DcsException("cannot delete " + clusterPath + ": members keep writing into it", e);
                    }
                }
            }
        });
    }

    /**
     * Applies at once to the local deadline (from the next acquire, renew or touch). ZooKeeper
     * cannot change the timeout of a live session, so the server-side timeout changes with the next
     * session; meanwhile the deadline uses the smaller of the two, so it never outlives the session.
     */
    @Override
    public void setTtl(Duration ttl) throws DcsException {
        this.ttl = checkTtl(ttl);
    }

    // ------------------------------------------------------------------ watch

    @Override
    public boolean awaitChange(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + Math.max(0, timeout.toNanos());
        synchronized (changeMonitor) {
            while (true) {
                if (wakeRequested) {
                    wakeRequested = false;
                    return true;
                }
                if (changes != seenChanges) {
                    seenChanges = changes;
                    return true;
                }
                long left = deadline - System.nanoTime();
                if (closed || left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(changeMonitor, left);
            }
        }
    }

    @Override
    public void wakeUp() {
        synchronized (changeMonitor) {
            wakeRequested = true;
            changeMonitor.notifyAll();
        }
    }

    // ------------------------------------------------------------------ close

    /**
     * Closes the ZooKeeper session: the server deletes the leader and member znodes at once. If
     * the server cannot be reached, they go when the session times out.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        watchdog.shutdownNow();
        try {
            client.close();
        } catch (RuntimeException e) {
            log.warn("{}: closing the ZooKeeper client failed: {}", member, e.toString());
        }
        synchronized (changeMonitor) {
            changeMonitor.notifyAll();
        }
    }

    /** The Curator client, for tests that expire its session. */
    CuratorFramework curator() {
        return client;
    }

    @Override
    public String toString() {
        return "ZooKeeperDcs{" + clusterPath + ", member=" + member + "}";
    }

    // ------------------------------------------------------------------ internals

    /** A compare-and-set write; see the class comment for versions. A null value deletes. */
    private boolean write(String key, String value, long expected) throws DcsException {
        String path = clusterPath + "/" + key;
        return call("write " + path, () -> {
            if (expected == ABSENT) {
                if (value == null) {
                    return client.checkExists().forPath(path) == null;
                }
                retryPolicy.reset();
                try {
                    client.create().creatingParentsIfNeeded().forPath(path, bytes(value));
                    return true;
                } catch (KeeperException.NodeExistsException e) {
                    return unlessRetried(path, e);
                }
            }
            if (expected == ANY) {
                return writeAny(path, value);
            }
            Stat stat = client.checkExists().forPath(path);
            if (stat == null || stat.getMzxid() != expected) {
                return false;
            }
            retryPolicy.reset();
            try {
                if (value == null) {
                    client.delete().withVersion(stat.getVersion()).forPath(path);
                } else {
                    client.setData().withVersion(stat.getVersion()).forPath(path, bytes(value));
                }
                return true;
            } catch (KeeperException.NoNodeException | KeeperException.BadVersionException e) {
                return unlessRetried(path, e);
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

    private boolean writeAny(String path, String value) throws Exception {
        if (value == null) {
            try {
                client.delete().forPath(path);
            } catch (KeeperException.NoNodeException e) {
                // already gone
            }
            return true;
        }
        while (true) {
            try {
                client.setData().forPath(path, bytes(value));
                return true;
            } catch (KeeperException.NoNodeException e) {
                try {
                    client.create().creatingParentsIfNeeded().forPath(path, bytes(value));
                    return true;
                } catch (KeeperException.NodeExistsException raced) {
                    // created meanwhile: set it
                }
            }
        }
    }

    private void refreshDeadline(long start) throws Exception {
        long sessionTimeoutMillis = client.getZookeeperClient().getZooKeeper().getSessionTimeout();
        long ttlNanos = ttl.toNanos();
        if (sessionTimeoutMillis > 0 && TimeUnit.MILLISECONDS.toNanos(sessionTimeoutMillis) < ttlNanos) {
            ttlNanos = TimeUnit.MILLISECONDS.toNanos(sessionTimeoutMillis);
        }
        deadlineNanos = start + ttlNanos;
        deadlineSet = true;
        if (watchdogTask != null) {
            watchdogTask.cancel(false);
        }
        if (!closed) {
            watchdogTask = watchdog.schedule(
                    this::expireIfLapsed, Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
        }
    }

    /** The watchdog: past the deadline with no refresh, this member's ephemeral znodes go. */
    private void expireIfLapsed() {
        sessionLock.lock();
        try {
            if (closed || !deadlineSet || System.nanoTime() - deadlineNanos < 0) {
                return;
            }
            deleteIfOurs(leaderPath);
            deleteIfOurs(memberPath);
            deadlineSet = false;
            log.warn(
                    "{}: no renewal or touch within the ttl; the leader lock and member key of this member are removed",
                    member);
        } catch (Exception e) {
            if (!closed) {
                log.warn(
                        "{}: cannot remove the lapsed keys yet ({}); retrying (the server expires the session if it stays"
                                + " unreachable)",
                        member,
                        e.toString());
                watchdogTask = watchdog.schedule(this::expireIfLapsed, WATCHDOG_RETRY_MILLIS, TimeUnit.MILLISECONDS);
            }
        } finally {
            sessionLock.unlock();
        }
    }

    private void deleteIfOurs(String path) throws Exception {
        Stat stat = client.checkExists().forPath(path);
        if (stat != null && stat.getEphemeralOwner() == sessionId()) {
            try {
                client.delete().withVersion(stat.getVersion()).forPath(path);
            } catch (KeeperException.NoNodeException | KeeperException.BadVersionException e) {
                // gone or replaced meanwhile: not ours any more
            }
        }
    }

    private long sessionId() throws Exception {
        return client.getZookeeperClient().getZooKeeper().getSessionId();
    }

    private void onConnectionState(ConnectionState state) {
        log.info("{}: ZooKeeper connection {}", member, state);
        if (state == ConnectionState.CONNECTED || state == ConnectionState.RECONNECTED) {
            // a new session has no watches; the same session keeps them, and adding again is harmless
            try {
                client.watchers()
                        .add()
                        .withMode(AddWatchMode.PERSISTENT_RECURSIVE)
                        .inBackground((c, event) -> {
                            if (event.getResultCode() != KeeperException.Code.OK.intValue()) {
                                // the loop still runs every loop_wait; it only reacts later to changes
                                log.warn(
                                        "{}: cannot watch {}: {}",
                                        member,
                                        clusterPath,
                                        KeeperException.Code.get(event.getResultCode()));
                            }
                        })
                        .usingWatcher(watcher)
                        .forPath(clusterPath);
            } catch (Exception e) {
                log.warn("{}: cannot watch {}: {}", member, clusterPath, e.toString());
            }
        }
        // LOST needs nothing more here: the ephemeral znodes went with the session, and a renewal
        // compares the leader znode's owner with the current session, so it answers false
        changed();
    }

    private void onEvent(WatchedEvent event) {
        String path = event.getPath();
        if (path == null || event.getType() == Watcher.Event.EventType.None) {
            return;
        }
        if (path.equals(clusterPath)) {
            changed(); // the cluster was deleted or created
            return;
        }
        if (!path.startsWith(clusterPath + "/")) {
            return;
        }
        String key = path.substring(clusterPath.length() + 1);
        boolean urgent = switch (key) {
            case "leader", "config", "failover", "sync", "initialize" -> true;
            default -> key.startsWith("members/") && event.getType() != Watcher.Event.EventType.NodeDataChanged;
        };
        if (urgent) {
            changed();
        }
    }

    private void changed() {
        synchronized (changeMonitor) {
            changes++;
            changeMonitor.notifyAll();
        }
    }

    private List<String> children(String path) throws Exception {
        try {
            return client.getChildren().forPath(path);
        } catch (KeeperException.NoNodeException e) {
            return List.of();
        }
    }

    private interface NodeConsumer {
        void accept(String raw, Stat stat);
    }

    /** Reads a key relative to the cluster; a znode deleted since it was listed is skipped. */
    private void get(String key, NodeConsumer consumer) throws Exception {
        Stat stat = new Stat();
        String raw = getOrNull(clusterPath + "/" + key, stat);
        if (raw != null) {
            consumer.accept(raw, stat);
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
            sessionLock.lockInterruptibly();
            try {
                return call.run();
            } finally {
                sessionLock.unlock();
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

    private static String checkName(String what, String name) {
        if (name == null || name.isBlank() || name.contains("/")) {
            throw new IllegalArgumentException(what + " must be a non-empty name without '/', got '" + name + "'");
        }
        return name;
    }

    private static Duration checkTtl(Duration ttl) {
        if (ttl == null || ttl.isNegative() || ttl.isZero() || ttl.toMillis() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("ttl must be positive (and below 24 days), got " + ttl);
        }
        return ttl;
    }

    /** The same ACL list on every znode this member creates (Patroni's set_acls). */
    private record FixedAclProvider(List<ACL> acls) implements ACLProvider {
        @Override
        public List<ACL> getDefaultAcl() {
            return acls.isEmpty() ? ZooDefs.Ids.OPEN_ACL_UNSAFE : acls;
        }

        @Override
        public List<ACL> getAclForPath(String path) {
            return getDefaultAcl();
        }
    }
}
