package io.pgha.dcs.zookeeper;

import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsSettings;
import io.pgha.dcs.spi.PatroniDcs;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.KeeperException;

/**
 * A real ZooKeeper server in this JVM (curator-test), on a free loopback port in a temporary
 * directory that is deleted at close, with a tickTime of 500 ms: the server then grants session
 * timeouts between 1 s and 10 s (2 and 20 ticks), so a 4 s ttl is honoured as it is.
 */
final class ZooKeeperTestServer implements Closeable {
    static final int TICK_MILLIS = 500;
    /** Short, so that a call against a stopped server gives up quickly. */
    static final Duration RETRY_TIMEOUT = Duration.ofSeconds(3);

    private final TestingServer server;
    private final CuratorFramework raw;

    ZooKeeperTestServer() throws Exception {
        InstanceSpec spec = new InstanceSpec(
                null, -1, -1, -1, true, -1, TICK_MILLIS, -1, Map.of("clientPortAddress", "127.0.0.1"), "127.0.0.1");
        this.server = new TestingServer(spec, true);
        this.raw = CuratorFrameworkFactory.newClient(server.getConnectString(), 10_000, 5_000, new RetryOneTime(100));
        raw.start();
    }

    String connectString() {
        return server.getConnectString();
    }

    Dcs connect(String scope, String member, Duration ttl) throws DcsException {
        return new ZooKeeperDcsProvider()
                .create(new DcsSettings(null, scope, member, ttl, RETRY_TIMEOUT, Map.of("hosts", connectString())));
    }

    /** The Curator client under a Dcs of this module, for tests that expire or inspect its session. */
    static CuratorFramework curator(Dcs dcs) {
        return ((ZooKeeperStore) ((PatroniDcs) dcs).store()).curator();
    }

    /** Writes a persistent znode at /service/scope/key, bypassing the adapter. */
    void putRaw(String scope, String key, String value) throws Exception {
        String path = "/service/" + scope + "/" + key;
        byte[] data = value.getBytes(StandardCharsets.UTF_8);
        try {
            raw.setData().forPath(path, data);
        } catch (KeeperException.NoNodeException e) {
            raw.create().creatingParentsIfNeeded().forPath(path, data);
        }
    }

    void stop() throws IOException {
        server.stop();
    }

    /** Starts the server again on the same port with the same data. */
    void restart() throws Exception {
        server.restart();
    }

    @Override
    public void close() throws IOException {
        raw.close();
        server.close();
    }
}
