package io.pgha.api;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.InMemoryDcs;
import io.pgha.ha.NodeState;
import io.pgha.rest.RestApiConfig;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;

/** Starts REST API servers on free loopback ports over an in-memory DCS and stops them after each test. */
abstract class ApiTestSupport {
    static final Duration TTL = Duration.ofSeconds(30);
    final InMemoryDcs.Store store = new InMemoryDcs.Store(Clock.systemUTC());
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    Dcs dcs(String member) {
        Dcs d = store.connect("/service/", "batman", member, TTL);
        closeables.add(d);
        return d;
    }

    RestApiServer start(FakeNode node) throws IOException {
        return start(node, RestApiConfig.builder().listen("127.0.0.1", 0).build());
    }

    RestApiServer start(FakeNode node, RestApiConfig config) throws IOException {
        return start(node, config, RestApiServer.Options.DEFAULTS);
    }

    RestApiServer start(FakeNode node, RestApiConfig config, RestApiServer.Options options) throws IOException {
        RestApiServer s = RestApiServer.start(config, node, options);
        closeables.add(0, s);
        return s;
    }

    static RestApiServer.Options fastPolling(Duration bound) {
        return new RestApiServer.Options(Clock.systemUTC(), Duration.ofMillis(50), bound, null);
    }

    /** A cluster snapshot: pg0 leads, pg1 and pg2 are members, status optime given. */
    static ClusterState cluster(String leader, long optime, Map<String, Object> config, String syncStandbys) {
        return clusterBuilder(leader, optime, config, syncStandbys).build();
    }

    /** A replica's state after it read the {@code failsafe} key that pg0, the leader, wrote. */
    static NodeState withFailsafeKey(NodeState s, Map<String, Object> config) {
        ClusterState c = clusterBuilder("pg0", 100 * States.MB, config, null)
                .failsafe("{\"pg0\":\"http://127.0.0.1:8008/patroni\",\"pg1\":\"http://127.0.0.1:8009/patroni\"}")
                .build();
        return States.withCluster(s, c, config);
    }

    private static ClusterState.Builder clusterBuilder(
            String leader, long optime, Map<String, Object> config, String syncStandbys) {
        ClusterState.Builder b = ClusterState.builder("batman");
        if (leader != null) {
            b.leader(leader, 1);
        }
        b.member(
                "pg0",
                "{\"conn_url\":\"postgres://127.0.0.1:5432/postgres\",\"api_url\":\"http://127.0.0.1:8008/patroni\","
                        + "\"state\":\"running\",\"role\":\"primary\",\"timeline\":2,\"xlog_location\":" + optime + "}",
                2);
        b.member(
                "pg1",
                "{\"conn_url\":\"postgres://127.0.0.1:5433/postgres\",\"api_url\":\"http://127.0.0.1:8009/patroni\","
                        + "\"state\":\"running\",\"role\":\"replica\",\"timeline\":2,\"replication_state\":\"streaming\","
                        + "\"xlog_location\":" + (optime - 100) + ",\"receive_lsn\":" + (optime - 50)
                        + ",\"replay_lsn\":"
                        + (optime - 100) + ",\"tags\":{\"zone\":\"a\"}}",
                3);
        b.status("{\"optime\":" + optime + "}");
        b.config(io.pgha.dcs.DcsJson.write(config), 4);
        if (syncStandbys != null) {
            b.sync("{\"leader\":\"" + leader + "\",\"sync_standby\":\"" + syncStandbys + "\"}", 5);
        }
        return b;
    }

    static NodeState primary(Map<String, Object> config) {
        return States.node(
                "pg0",
                "primary",
                true,
                States.primaryPg(100 * States.MB),
                cluster("pg0", 100 * States.MB, config, null),
                config,
                Map.of());
    }

    static NodeState replica(
            long received,
            long replayed,
            String replState,
            Map<String, Object> config,
            Map<String, Object> tags,
            String syncStandbys) {
        return States.node(
                "pg1",
                "replica",
                false,
                States.replicaPg(received, replayed, replState),
                cluster("pg0", 100 * States.MB, config, syncStandbys),
                config,
                tags);
    }
}
