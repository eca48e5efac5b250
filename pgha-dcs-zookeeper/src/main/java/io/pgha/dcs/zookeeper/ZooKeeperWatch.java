package io.pgha.dcs.zookeeper;

import io.pgha.dcs.spi.Change;
import io.pgha.dcs.spi.ChangeListener;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One persistent recursive watch on the cluster znode (ZooKeeper 3.6+), reporting every znode
 * created, changed or deleted under it to a {@link ChangeListener} with the zxid of the change, and
 * every change of the connection (suspended, lost, re-established) as a possible loss of events.
 *
 * <p>The watch is added on the ZooKeeper handle itself, again on every (re)connection (a new
 * session has no watches; the same session keeps them, and adding again is harmless): Curator's
 * own {@code watchers().add()} hands events on without their zxid, which tells this member's own
 * writes apart.
 *
 * <p>Thread-safe: Curator's and ZooKeeper's event threads call it; {@link #start} once.
 */
final class ZooKeeperWatch {
    private static final Logger log = LoggerFactory.getLogger(ZooKeeperWatch.class);

    private final CuratorFramework client;
    private final String member;
    private final Watcher watcher = this::onEvent;
    private volatile String path;
    private volatile ChangeListener listener;
    private volatile boolean closed;

    /** Follows the connection of {@code client}; register before the client starts. */
    ZooKeeperWatch(CuratorFramework client, String member) {
        this.client = client;
        this.member = member;
        client.getConnectionStateListenable().addListener((c, state) -> onConnectionState(state));
    }

    /** Watches {@code path} from now on (at once if connected, else once connected). */
    void start(String path, ChangeListener listener) {
        this.path = path;
        this.listener = listener;
        if (client.getZookeeperClient().isConnected()) {
            addWatch();
        }
    }

    void close() {
        closed = true;
    }

    private void onConnectionState(ConnectionState state) {
        log.info("{}: ZooKeeper connection {}", member, state);
        if (state == ConnectionState.CONNECTED || state == ConnectionState.RECONNECTED) {
            addWatch();
        }
        // LOST needs nothing more here: the ephemeral znodes went with the session, and a renewal
        // compares the lock znode's owner with the current session, so it answers false
        ChangeListener l = listener;
        if (l != null) {
            l.eventsMayBeLost();
        }
    }

    /** Asynchronous, so that Curator's event thread never waits on the server. */
    private void addWatch() {
        String p = path;
        if (p == null || closed) {
            return;
        }
        try {
            client.getZookeeperClient()
                    .getZooKeeper()
                    .addWatch(
                            p,
                            watcher,
                            AddWatchMode.PERSISTENT_RECURSIVE,
                            (rc, at, ctx) -> {
                                if (rc != KeeperException.Code.OK.intValue()) {
                                    // the loop still runs every loop_wait; it only reacts later to changes
                                    log.warn("{}: cannot watch {}: {}", member, p, KeeperException.Code.get(rc));
                                }
                            },
                            null);
        } catch (Exception e) {
            log.warn("{}: cannot watch {}: {}", member, p, e.toString());
        }
    }

    private void onEvent(WatchedEvent event) {
        ChangeListener l = listener;
        Change.Kind kind = switch (event.getType()) {
            case NodeCreated -> Change.Kind.CREATED;
            case NodeDataChanged -> Change.Kind.UPDATED;
            case NodeDeleted -> Change.Kind.DELETED;
            default -> null;
        };
        if (l == null || kind == null || event.getPath() == null || closed) {
            return;
        }
        long zxid = event.getZxid() == WatchedEvent.NO_ZXID ? 0 : event.getZxid();
        l.changed(new Change(event.getPath(), kind, null, zxid));
    }
}
