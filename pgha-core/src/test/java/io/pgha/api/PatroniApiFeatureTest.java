package io.pgha.api;

import static io.pgha.api.States.MB;
import static io.pgha.api.SwitchoverTest.assertAnswer;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.Failover;
import io.pgha.ha.NodeState;
import io.pgha.postgres.PostgresStatus;
import io.pgha.rest.RestApiConfig;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The scenarios of Patroni's {@code features/patroni_api.feature}, ported: each test is named after
 * its scenario. PostgreSQL and the HA loop are played by the test (the node states it sets and the
 * DCS keys it writes); the REST API under test is the real one.
 */
class PatroniApiFeatureTest extends ApiTestSupport {

    private static NodeState standalonePrimary() {
        return States.node(
                "postgres-0",
                "primary",
                true,
                States.primaryPg(100 * MB),
                io.pgha.dcs.ClusterState.builder("batman")
                        .leader("postgres-0", 1)
                        .build(),
                Map.of(),
                Map.of());
    }

    @Test
    void checkApiRequestsOnAStandAloneServer() throws Exception {
        Dcs d0 = store.connect("/service/", "batman", "postgres-0", TTL);
        FakeNode node = new FakeNode(standalonePrimary(), d0);
        RestApiServer s0 = start(node);
        SwitchoverTest.touch(d0, s0, "running", "primary");
        assertThat(d0.acquireLeader()).isTrue();
        Http http = new Http(s0);

        assertThat(http.get("/").statusCode()).isEqualTo(200);
        assertThat(Http.json(http.get("/"))).containsEntry("state", "running").containsEntry("role", "master");
        assertThat(http.get("/standby_leader").statusCode()).isEqualTo(503);
        assertThat(http.get("/health").statusCode()).isEqualTo(200);
        assertThat(http.get("/replica").statusCode()).isEqualTo(503);
        assertAnswer(
                http.send("POST", "/reinitialize", "{\"force\": true}"), 503, "I am the leader, can not reinitialize");
        assertAnswer(
                http.send("POST", "/switchover", "{\"leader\": \"postgres-0\"}"),
                412,
                "switchover is not possible: cluster does not have members except leader");
        assertThat(http.send("POST", "/failover", "").statusCode()).isEqualTo(400);
        assertAnswer(
                http.send("POST", "/failover", "{\"foo\": \"bar\"}"),
                400,
                "Failover could be performed only to a specific candidate");
        d0.close();
    }

    @Test
    void checkLocalConfigurationReload() throws Exception {
        FakeNode node = new FakeNode(standalonePrimary(), dcs("postgres-0"));
        assertThat(new Http(start(node)).send("POST", "/reload", "").statusCode())
                .isEqualTo(202);
        assertThat(node.reloads.get()).isEqualTo(1);
    }

    @Test
    void checkDynamicConfigurationChangeViaDcs() throws Exception {
        Dcs d0 = dcs("postgres-0");
        d0.writeConfig(
                Map.of("ttl", 30, "postgresql", Map.of("parameters", Map.of("max_connections", "100"))), Dcs.ABSENT);
        FakeNode node = new FakeNode(standalonePrimary(), d0);
        Http http = new Http(start(node));
        assertThat(http.send(
                                "PATCH",
                                "/config",
                                "{\"ttl\": 20, \"postgresql\": {\"parameters\": {\"max_connections\": \"101\"}}}")
                        .statusCode())
                .isEqualTo(200);
        // the HA loop applies it: max_connections needs a restart; a reload brought the new tag
        PostgresStatus pg = node.state.postgres();
        node.state = new NodeState(
                "postgres-0",
                "batman",
                "primary",
                true,
                new PostgresStatus(
                        pg.state(),
                        pg.role(),
                        pg.timeline(),
                        pg.writeLsn(),
                        0,
                        0,
                        null,
                        false,
                        null,
                        pg.systemIdentifier(),
                        pg.serverVersion(),
                        pg.postmasterStartTime(),
                        pg.replication(),
                        pg.slots(),
                        true,
                        null),
                node.state.cluster(),
                node.state.config(),
                Instant.now(),
                Instant.now(),
                Map.of("new_tag", "new_value"),
                null,
                null,
                null,
                null,
                false);
        assertThat(Http.json(http.get("/patroni"))).containsEntry("pending_restart", true);
        assertThat(http.get("/config").statusCode()).isEqualTo(200);
        assertThat(Http.json(http.get("/config"))).containsEntry("ttl", 20L);
        assertThat(http.get("/patroni").statusCode()).isEqualTo(200);
        assertThat(Http.json(http.get("/patroni"))).containsEntry("tags", Map.of("new_tag", "new_value"));
    }

    @Test
    void checkTheScheduledRestart() throws Exception {
        FakeNode node = new FakeNode(standalonePrimary(), dcs("postgres-0"));
        Http http = new Http(start(node));
        String in5s = Instant.now().plusSeconds(5).toString();
        assertThat(http.send("POST", "/restart", "{\"schedule\": \"" + in5s + "\", \"role\": \"replica\"}")
                        .statusCode())
                .isEqualTo(202);
        assertThat(node.restarts.get(0).role()).isEqualTo("replica");
        // the HA loop ran it: the role did not match, nothing restarted, the schedule is gone
        assertThat(http.send("DELETE", "/restart", null).statusCode()).isEqualTo(200);
        assertThat(http.send("POST", "/restart", "{\"schedule\": \"" + in5s + "\", \"restart_pending\": \"True\"}")
                        .statusCode())
                .isEqualTo(202);
        assertThat(node.restarts.get(1).restartPending()).isTrue();
        assertThat(Http.json(http.get("/patroni"))).containsKey("scheduled_restart");
        assertThat(Http.json(http.get("/patroni"))).containsEntry("role", "master");
    }

    private record Pair(Dcs d0, Dcs d1, FakeNode n0, FakeNode n1, RestApiServer s0, RestApiServer s1) {
        Http h0() {
            return new Http(s0);
        }

        Http h1() {
            return new Http(s1);
        }
    }

    private Pair pair(Map<String, Object> config) throws Exception {
        Dcs d0 = dcs("postgres-0");
        Dcs d1 = dcs("postgres-1");
        d0.writeConfig(config, Dcs.ABSENT);
        FakeNode n0 = new FakeNode(
                States.node("postgres-0", "primary", true, States.primaryPg(100 * MB), d0.read(), config, Map.of()),
                d0);
        FakeNode n1 = new FakeNode(
                States.node(
                        "postgres-1",
                        "replica",
                        false,
                        States.replicaPg(100 * MB, 100 * MB, "streaming"),
                        d0.read(),
                        config,
                        Map.of()),
                d1);
        RestApiServer s0 =
                start(n0, RestApiConfig.builder().listen("127.0.0.1", 0).build(), fastPolling(Duration.ofSeconds(10)));
        RestApiServer s1 =
                start(n1, RestApiConfig.builder().listen("127.0.0.1", 0).build(), fastPolling(Duration.ofSeconds(10)));
        SwitchoverTest.touch(d0, s0, "running", "primary");
        SwitchoverTest.touch(d1, s1, "running", "replica");
        assertThat(d0.acquireLeader()).isTrue();
        refresh(n0, d0);
        refresh(n1, d0);
        return new Pair(d0, d1, n0, n1, s0, s1);
    }

    private static void refresh(FakeNode n, Dcs d) throws DcsException {
        var c = d.read();
        n.update(s -> States.withCluster(
                States.withTimes(s, Instant.now(), Instant.now()), c, c.config().data()));
    }

    /** The HA loops carry out a switchover from postgres-0 to postgres-1. */
    private static void switchRoles(Pair p) throws Exception {
        p.d0.releaseLeader();
        p.d1.acquireLeader();
        Failover f = p.d0.read().failover();
        if (f != null) {
            p.d1.writeFailover(null, f.version());
        }
        p.n0.update(s ->
                States.withRole(States.with(s, States.replicaPg(100 * MB, 100 * MB, "streaming")), "replica", false));
        p.n1.update(s -> States.withRole(States.with(s, States.primaryPg(101 * MB)), "primary", true));
        refresh(p.n0, p.d0);
        refresh(p.n1, p.d0);
    }

    @Test
    void checkApiRequestsForThePrimaryReplicaPairInThePauseMode() throws Exception {
        Pair p = pair(Map.of("ttl", 30));
        assertThat(p.h0().send("PATCH", "/config", "{\"pause\": true}").statusCode())
                .isEqualTo(200);
        refresh(p.n0, p.d0);
        refresh(p.n1, p.d0);
        // kill postmaster on postgres-1
        p.n1.update(s -> States.with(s, States.stoppedPg()));
        assertThat(p.h1().get("/replica").statusCode()).isEqualTo(503);
        // patronictl restart postgres-1 --force
        p.n1.onWakeUp = () -> {};
        assertAnswer(p.h1().send("POST", "/restart", "{}"), 200, "restarted successfully");
        p.n1.update(s -> States.with(s, States.replicaPg(100 * MB, 100 * MB, "streaming")));
        assertThat(p.h1().get("/replica").statusCode()).isEqualTo(200);
        assertThat(Http.json(p.h1().get("/replica")))
                .containsEntry("state", "running")
                .containsEntry("role", "replica");
        // patronictl reinit postgres-1 --force --from-leader
        assertAnswer(
                p.h1().send("POST", "/reinitialize", "{\"force\": true, \"from_leader\": true}"),
                200,
                "reinitialize started");
        // patronictl restart postgres-0 --force
        assertAnswer(p.h0().send("POST", "/restart", "{}"), 200, "restarted successfully");
        assertThat(Http.json(p.h0().get("/patroni")))
                .containsEntry("role", "master")
                .containsEntry("pause", true);
    }

    @Test
    void checkTheSwitchoverViaTheApiInThePauseMode() throws Exception {
        Pair p = pair(Map.of("ttl", 30, "pause", true));
        p.n0.onWakeUp = () -> new Thread(() -> {
                    try {
                        Thread.sleep(200);
                        switchRoles(p);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                })
                .start();
        assertAnswer(
                p.h0().send("POST", "/switchover", "{\"leader\": \"postgres-0\", \"candidate\": \"postgres-1\"}"),
                200,
                "Successfully switched over to \"postgres-1\"");
        assertThat(p.h0().get("/primary").statusCode()).isEqualTo(503);
        assertThat(p.h0().get("/replica").statusCode()).isEqualTo(200);
        assertThat(p.h1().get("/primary").statusCode()).isEqualTo(200);
        assertThat(p.h1().get("/replica").statusCode()).isEqualTo(503);
    }

    @Test
    void checkTheScheduledSwitchover() throws Exception {
        Pair p = pair(Map.of("ttl", 30, "pause", true));
        String in10s = Instant.now().plusSeconds(10).toString();
        String request =
                "{\"leader\": \"postgres-0\", \"candidate\": \"postgres-1\", \"scheduled_at\": \"" + in10s + "\"}";
        assertAnswer(p.h0().send("POST", "/switchover", request), 400, "Can't schedule switchover in the paused state");
        // patronictl resume
        assertThat(p.h0().send("PATCH", "/config", "{\"pause\": null}").statusCode())
                .isEqualTo(200);
        assertThat(p.d0.read().config().data()).doesNotContainKey("pause");
        assertAnswer(p.h0().send("POST", "/switchover", request), 202, "Switchover scheduled");
        assertThat(p.d0.read().failover().scheduledAt()).isNotNull();
        // when the time comes, the HA loops switch over
        switchRoles(p);
        assertThat(p.d0.read().failover()).isNull();
        assertThat(p.h0().get("/primary").statusCode()).isEqualTo(503);
        assertThat(p.h0().get("/replica").statusCode()).isEqualTo(200);
        assertThat(p.h1().get("/primary").statusCode()).isEqualTo(200);
        assertThat(p.h1().get("/replica").statusCode()).isEqualTo(503);
    }
}
