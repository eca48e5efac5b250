package io.pgha.api;

import static io.pgha.api.States.MB;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.ha.NodeState;
import io.pgha.rest.RestApiConfig;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HealthChecksTest extends ApiTestSupport {
    private static final List<String> LEADER_PATHS = List.of("/", "/primary", "/master", "/read-write", "/leader");

    private Http serve(NodeState state) throws Exception {
        return new Http(start(new FakeNode(state, dcs("pg0"))));
    }

    private static void assertCodes(Http http, int code, List<String> paths) {
        for (String p : paths) {
            assertThat(http.get(p).statusCode()).as("GET " + p).isEqualTo(code);
            assertThat(http.send("HEAD", p, null).statusCode()).as("HEAD " + p).isEqualTo(code);
            assertThat(http.send("OPTIONS", p, null).statusCode())
                    .as("OPTIONS " + p)
                    .isEqualTo(code);
        }
    }

    @Test
    void primaryAnswers200OnLeaderPathsAnd503OnReplicaPaths() throws Exception {
        Http http = serve(primary(Map.of()));
        assertCodes(http, 200, LEADER_PATHS);
        assertCodes(http, 200, List.of("/read-only", "/health", "/read-only-sync", "/read-only-quorum"));
        assertCodes(
                http,
                503,
                List.of(
                        "/replica",
                        "/standby-leader",
                        "/standby_leader",
                        "/sync",
                        "/synchronous",
                        "/async",
                        "/asynchronous",
                        "/quorum"));
        HttpResponse<String> r = http.get("/primary");
        assertThat(Http.json(r)).containsEntry("state", "running").containsEntry("role", "master");
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
    }

    @Test
    void headAndOptionsAnswerTheStatusLineWithoutABody() throws Exception {
        Http http = serve(primary(Map.of()));
        assertThat(http.send("OPTIONS", "/primary", null).body()).isEmpty();
        assertThat(http.send("HEAD", "/replica", null).body()).isEmpty();
    }

    @Test
    void tagFiltersAreIgnoredOnLeaderPaths() throws Exception {
        Http http = serve(primary(Map.of()));
        assertThat(http.get("/primary?tag_zone=nowhere").statusCode()).isEqualTo(200);
        assertThat(http.get("/leader?tag_zone=nowhere").statusCode()).isEqualTo(200);
        assertThat(http.get("/read-only?tag_zone=nowhere").statusCode()).isEqualTo(503);
    }

    @Test
    void streamingReplicaAnswers200OnReplicaPaths() throws Exception {
        Http http = serve(replica(100 * MB, 100 * MB, "streaming", Map.of(), Map.of(), null));
        assertCodes(http, 200, List.of("/replica", "/read-only", "/async", "/asynchronous", "/health"));
        assertCodes(http, 503, LEADER_PATHS);
        assertCodes(
                http,
                503,
                List.of("/standby-leader", "/sync", "/synchronous", "/quorum", "/read-only-sync", "/read-only-quorum"));
        assertThat(http.get("/replica?replication_state=streaming").statusCode())
                .isEqualTo(200);
        assertThat(http.get("/replica?replication_state=in%20archive%20recovery")
                        .statusCode())
                .isEqualTo(503);
        assertThat(Http.json(http.get("/replica")))
                .containsEntry("role", "replica")
                .containsEntry("replication_state", "streaming");
    }

    @Test
    void replicaInArchiveRecoveryFailsTheStreamingFilter() throws Exception {
        Http http = serve(replica(100 * MB, 100 * MB, "in archive recovery", Map.of(), Map.of(), null));
        assertThat(http.get("/replica").statusCode()).isEqualTo(200);
        assertThat(http.get("/replica?replication_state=streaming").statusCode())
                .isEqualTo(503);
    }

    @Test
    void laggingReplicaFailsTheLagFilterInBytesAndUnits() throws Exception {
        // the leader is at 100 MB; this replica replayed 10 MB
        Http http = serve(replica(10 * MB, 10 * MB, "streaming", Map.of(), Map.of(), null));
        assertThat(http.get("/replica").statusCode()).isEqualTo(200);
        assertThat(http.get("/replica?lag=1048576").statusCode()).isEqualTo(503);
        assertThat(http.get("/replica?lag=16kB").statusCode()).isEqualTo(503);
        assertThat(http.get("/replica?lag=10MB").statusCode()).isEqualTo(503);
        assertThat(http.get("/replica?lag=100MB").statusCode()).isEqualTo(200);
        assertThat(http.get("/replica?lag=1GB").statusCode()).isEqualTo(200);
        assertThat(http.get("/async?lag=1MB").statusCode()).isEqualTo(503);
        assertThat(http.get("/async?lag=1GB").statusCode()).isEqualTo(200);
        assertThat(http.get("/read-only?lag=1MB").statusCode()).isEqualTo(503);
        // as Patroni: a lag that does not parse is no limit
        assertThat(http.get("/replica?lag=lots").statusCode()).isEqualTo(200);
    }

    @Test
    void replicaTaggedNoloadbalanceIsNotAReadReplica() throws Exception {
        Http http = serve(replica(100 * MB, 100 * MB, "streaming", Map.of(), Map.of("noloadbalance", true), null));
        assertThat(http.get("/replica").statusCode()).isEqualTo(503);
        assertThat(http.get("/read-only").statusCode()).isEqualTo(503);
        assertThat(http.get("/health").statusCode()).isEqualTo(200);
    }

    @Test
    void tagFiltersMatchTheMembersTags() throws Exception {
        Http http = serve(replica(
                100 * MB,
                100 * MB,
                "streaming",
                Map.of(),
                Map.of("zone", "a", "nofailover", true, "priority", 3),
                null));
        assertThat(http.get("/replica?tag_zone=a").statusCode()).isEqualTo(200);
        assertThat(http.get("/replica?tag_zone=b").statusCode()).isEqualTo(503);
        assertThat(http.get("/replica?tag_rack=1").statusCode()).isEqualTo(503);
        assertThat(http.get("/replica?tag_nofailover=true").statusCode()).isEqualTo(200);
        assertThat(http.get("/replica?tag_priority=3&tag_zone=a").statusCode()).isEqualTo(200);
        assertThat(http.get("/read-only?tag_zone=b").statusCode()).isEqualTo(503);
    }

    @Test
    void synchronousStandbyAnswersTheSyncPaths() throws Exception {
        Map<String, Object> sync = Map.of("synchronous_mode", true);
        Http http = serve(replica(100 * MB, 100 * MB, "streaming", sync, Map.of(), "pg1"));
        assertCodes(http, 200, List.of("/sync", "/synchronous", "/read-only-sync", "/replica", "/read-only"));
        assertCodes(http, 503, List.of("/async", "/asynchronous", "/quorum", "/read-only-quorum"));
        assertThat(Http.json(http.get("/sync"))).containsEntry("sync_standby", true);
    }

    @Test
    void quorumStandbyAnswersTheQuorumPaths() throws Exception {
        Map<String, Object> quorum = Map.of("synchronous_mode", "quorum");
        Http http = serve(replica(100 * MB, 100 * MB, "streaming", quorum, Map.of(), "pg1"));
        assertCodes(http, 200, List.of("/quorum", "/read-only-quorum"));
        assertCodes(http, 503, List.of("/sync", "/async", "/read-only-sync"));
        assertThat(Http.json(http.get("/quorum"))).containsEntry("quorum_standby", true);
    }

    @Test
    void syncPathsAnswer503WhenTheDcsWasNotSeenWithinTtl() throws Exception {
        NodeState s = replica(100 * MB, 100 * MB, "streaming", Map.of("synchronous_mode", true), Map.of(), "pg1");
        Http http = serve(States.withTimes(s, Instant.now(), Instant.now().minusSeconds(120)));
        assertThat(http.get("/sync").statusCode()).isEqualTo(503);
        assertThat(http.get("/async").statusCode()).isEqualTo(503);
        assertThat(http.get("/replica").statusCode()).isEqualTo(200);
        assertThat(Http.json(http.get("/replica"))).containsEntry("cluster_unlocked", true);
    }

    @Test
    void stoppedNodeAnswers503Everywhere() throws Exception {
        NodeState s = States.node(
                "pg1",
                "replica",
                false,
                States.stoppedPg(),
                cluster("pg0", 100 * MB, Map.of(), null),
                Map.of(),
                Map.of());
        Http http = serve(s);
        assertCodes(http, 503, LEADER_PATHS);
        assertCodes(http, 503, List.of("/replica", "/read-only", "/health", "/async", "/sync", "/standby-leader"));
        assertThat(Http.json(http.get("/health")))
                .containsEntry("state", "stopped")
                .containsEntry("role", "replica")
                .doesNotContainKey("xlog");
    }

    @Test
    void pausedPrimaryCutOffFromTheDcsStillAnswersByItsPostgresRole() throws Exception {
        NodeState s = States.withRole(primary(Map.of("pause", true)), "primary", false);
        Http http = serve(States.withTimes(s, Instant.now(), Instant.now().minusSeconds(300)));
        assertCodes(http, 200, LEADER_PATHS);
        assertThat(Http.json(http.get("/primary")))
                .containsEntry("pause", true)
                .containsEntry("cluster_unlocked", true);
    }

    @Test
    void unpausedPrimaryWithoutTheLockIsNotAPrimary() throws Exception {
        Http http = serve(States.withRole(primary(Map.of()), "primary", false));
        assertCodes(http, 503, LEADER_PATHS);
        assertThat(http.get("/health").statusCode()).isEqualTo(200);
    }

    @Test
    void standbyLeaderAnswersTheStandbyLeaderPaths() throws Exception {
        Map<String, Object> standby = Map.of("standby_cluster", Map.of("host", "10.0.0.1", "port", 5432));
        NodeState s = States.node(
                "pg0",
                "standby_leader",
                true,
                States.replicaPg(100 * MB, 100 * MB, "streaming"),
                cluster("pg0", 100 * MB, standby, null),
                standby,
                Map.of());
        Http http = serve(s);
        assertCodes(http, 200, List.of("/standby-leader", "/standby_leader", "/leader", "/read-only", "/health"));
        assertCodes(http, 503, List.of("/", "/primary", "/master", "/read-write", "/replica"));
        assertThat(Http.json(http.get("/standby-leader"))).containsEntry("role", "standby_leader");
    }

    @Test
    void livenessFollowsTheHeartbeat() throws Exception {
        FakeNode node = new FakeNode(primary(Map.of()), dcs("pg0"));
        Http http = new Http(start(node));
        assertThat(http.get("/liveness").statusCode()).isEqualTo(200);
        assertThat(http.get("/liveness").body()).isEmpty();
        node.update(s -> States.withTimes(s, Instant.now().minusSeconds(45), s.dcsLastSeen()));
        assertThat(http.get("/liveness").statusCode())
                .as("primary: older than ttl")
                .isEqualTo(503);
        node.state = States.withTimes(
                replica(100 * MB, 100 * MB, "streaming", Map.of(), Map.of(), null),
                Instant.now().minusSeconds(45),
                Instant.now());
        assertThat(http.get("/liveness").statusCode())
                .as("replica: within 2 * ttl")
                .isEqualTo(200);
        node.update(s -> States.withTimes(s, Instant.now().minusSeconds(65), s.dcsLastSeen()));
        assertThat(http.get("/liveness").statusCode())
                .as("replica: older than 2 * ttl")
                .isEqualTo(503);
        node.update(s -> States.withCluster(s, s.cluster(), Map.of("pause", true)));
        assertThat(http.get("/liveness").statusCode()).as("paused").isEqualTo(200);
        assertThat(http.send("HEAD", "/liveness", null).statusCode()).isEqualTo(200);
    }

    @Test
    void readinessNeedsTheLockOrAStreamingReplicaWithinLag() throws Exception {
        FakeNode node = new FakeNode(primary(Map.of()), dcs("pg0"));
        Http http = new Http(start(node));
        assertThat(http.get("/readiness").statusCode()).isEqualTo(200);
        node.state = replica(100 * MB, 100 * MB, "streaming", Map.of(), Map.of(), null);
        assertThat(http.get("/readiness").statusCode()).isEqualTo(200);
        // received 100 MB, replayed 98 MB: 2 MB of apply lag, above maximum_lag_on_failover (1 MB)
        node.state = replica(100 * MB, 98 * MB, "streaming", Map.of(), Map.of(), null);
        assertThat(http.get("/readiness").statusCode()).isEqualTo(503);
        assertThat(http.get("/readiness?lag=4MB").statusCode()).isEqualTo(200);
        assertThat(http.get("/readiness?mode=write").statusCode()).isEqualTo(200);
        node.state = replica(100 * MB, 100 * MB, "in archive recovery", Map.of(), Map.of(), null);
        assertThat(http.get("/readiness").statusCode()).isEqualTo(503);
        node.state = States.node(
                "pg1",
                "replica",
                false,
                States.stoppedPg(),
                cluster("pg0", 100 * MB, Map.of(), null),
                Map.of(),
                Map.of());
        assertThat(http.get("/readiness").statusCode()).isEqualTo(503);
    }

    @Test
    void unknownPathIs404AndUnknownMethodIs501() throws Exception {
        Http http = serve(primary(Map.of()));
        assertThat(http.get("/nonsense").statusCode()).isEqualTo(404);
        assertThat(http.send("POST", "/patroni", "{}").statusCode()).isEqualTo(501);
        assertThat(http.send("DELETE", "/config", null).statusCode()).isEqualTo(501);
        assertThat(http.send("TRACE", "/", null).statusCode()).isIn(405, 501);
    }

    @Test
    void nodeBeforeItsFirstCycleIsAliveButNotHealthy() throws Exception {
        Http http = new Http(start(new FakeNode(null, dcs("pg0"))));
        assertThat(http.get("/liveness").statusCode()).isEqualTo(200);
        assertThat(http.get("/primary").statusCode()).isEqualTo(503);
        assertThat(http.send("OPTIONS", "/replica", null).statusCode()).isEqualTo(503);
        assertThat(http.get("/patroni").body()).isEqualTo("the node has not finished its first HA cycle yet");
    }

    @Test
    void haproxyStyleHttp10OptionsCheckGetsTheStatusLine() throws Exception {
        RestApiServer server = start(new FakeNode(primary(Map.of()), dcs("pg0")));
        for (String[] check : new String[][] {{"/primary", "200"}, {"/replica", "503"}}) {
            try (java.net.Socket s = new java.net.Socket(
                    java.net.InetAddress.getLoopbackAddress(), server.address().getPort())) {
                s.setSoTimeout(10_000);
                s.getOutputStream()
                        .write(("OPTIONS " + check[0] + " HTTP/1.0\r\n\r\n")
                                .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                String answer =
                        new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
                assertThat(answer).startsWith("HTTP/1.1 " + check[1]);
            }
        }
    }

    @Test
    void extraHeadersAreAddedToEveryResponse() throws Exception {
        RestApiServer server = start(
                new FakeNode(primary(Map.of()), dcs("pg0")),
                RestApiConfig.builder()
                        .listen("127.0.0.1", 0)
                        .httpExtraHeaders(Map.of("X-Frame-Options", "SAMEORIGIN"))
                        .build());
        Http http = new Http(server);
        assertThat(http.get("/patroni").headers().firstValue("X-Frame-Options")).hasValue("SAMEORIGIN");
        assertThat(http.send("OPTIONS", "/primary", null).headers().firstValue("X-Frame-Options"))
                .hasValue("SAMEORIGIN");
        assertThat(http.get("/nothing").headers().firstValue("X-Frame-Options")).hasValue("SAMEORIGIN");
    }
}
