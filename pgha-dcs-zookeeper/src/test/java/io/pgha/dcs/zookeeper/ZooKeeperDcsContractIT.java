package io.pgha.dcs.zookeeper;

import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsContract;
import java.time.Duration;
import org.apache.curator.test.KillSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The Dcs contract suite against a real, in-process ZooKeeper server. */
class ZooKeeperDcsContractIT extends DcsContract {
    private static ZooKeeperTestServer server;

    @BeforeAll
    static void startServer() throws Exception {
        server = new ZooKeeperTestServer();
    }

    @AfterAll
    static void stopServer() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    @Override
    protected Dcs connect(String scope, String member, Duration ttl) throws Exception {
        return server.connect(scope, member, ttl);
    }

    @Override
    protected void putRaw(String scope, String key, String value) throws Exception {
        server.putRaw(scope, key, value);
    }

    /**
     * A killed process stops heartbeating without closing its session, which the server then
     * expires after the session timeout. An abandoned Curator client would heartbeat on, so the
     * session is cut on the client side without telling the server (Curator then opens a new,
     * empty session for the abandoned object, which the suite never uses again).
     */
    @Override
    protected void crash(Dcs dcs) throws Exception {
        KillSession.kill(ZooKeeperTestServer.curator(dcs).getZookeeperClient().getZooKeeper());
    }

    @Override
    protected void stopStore() throws Exception {
        server.stop();
    }

    @Override
    protected void startStore() throws Exception {
        server.restart();
    }
}
