package io.pgha.api;

import static io.pgha.api.States.MB;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.dcs.Dcs;
import io.pgha.ha.RestartRequest;
import io.pgha.rest.PatroniClient;
import io.pgha.rest.RestApiConfig;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WritesTest extends ApiTestSupport {

    private Dcs withConfig(String member) throws Exception {
        Dcs d = dcs(member);
        d.writeConfig(
                Map.of(
                        "ttl",
                        30,
                        "loop_wait",
                        10,
                        "postgresql",
                        Map.of(
                                "use_pg_rewind",
                                true,
                                "parameters",
                                Map.of("max_connections", "100", "wal_level", "replica"))),
                Dcs.ABSENT);
        return d;
    }

    @Test
    @SuppressWarnings("unchecked")
    void patchConfigMergesNestedObjectsAndNullDeletes() throws Exception {
        Dcs pg0 = withConfig("pg0");
        FakeNode node = new FakeNode(primary(Map.of()), pg0);
        Http http = new Http(start(node));
        HttpResponse<String> r = http.send(
                "PATCH",
                "/config",
                "{\"ttl\": 20, \"pause\": true, \"postgresql\": {\"parameters\": {\"max_connections\": \"101\", \"wal_level\": null}}}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        Map<String, Object> stored = pg0.read().config().data();
        assertThat(Http.json(r)).isEqualTo(stored);
        assertThat(stored)
                .containsEntry("ttl", 20L)
                .containsEntry("loop_wait", 10L)
                .containsEntry("pause", true);
        Map<String, Object> pg = (Map<String, Object>) stored.get("postgresql");
        assertThat(pg).containsEntry("use_pg_rewind", true);
        assertThat((Map<String, Object>) pg.get("parameters")).isEqualTo(Map.of("max_connections", "101"));
        assertThat(node.wakeUps.get()).isPositive();
    }

    @Test
    void patchConfigConflictsWithAConcurrentWriteAnd409() throws Exception {
        Dcs pg0 = withConfig("pg0");
        Dcs racing = new ForwardingDcs(pg0) {
            @Override
            public boolean writeConfig(Map<String, Object> config, long expectedVersion)
                    throws io.pgha.dcs.DcsException {
                // another operator writes between our read and our write
                pg0.writeConfig(Map.of("ttl", 25), pg0.read().config().version());
                return super.writeConfig(config, expectedVersion);
            }
        };
        Http http = new Http(start(new FakeNode(primary(Map.of()), racing)));
        HttpResponse<String> r = http.send("PATCH", "/config", "{\"ttl\": 20}");
        assertThat(r.statusCode()).isEqualTo(409);
        assertThat(pg0.read().config().data()).isEqualTo(Map.of("ttl", 25L));
    }

    @Test
    void patchConfigWithoutAConfigIs503() throws Exception {
        Http http = new Http(start(new FakeNode(primary(Map.of()), dcs("pg0"))));
        assertThat(http.send("PATCH", "/config", "{\"ttl\": 20}").statusCode()).isEqualTo(503);
    }

    @Test
    void badConfigBodiesAre400AndWriteNothing() throws Exception {
        Dcs pg0 = withConfig("pg0");
        Http http = new Http(start(new FakeNode(primary(Map.of()), pg0)));
        long before = store.revision();
        HttpResponse<String> r = http.send("PATCH", "/config", "{\"ttl\": 20,");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).startsWith("malformed JSON body at line 1");
        assertThat(http.send("PATCH", "/config", "[1, 2]").statusCode()).isEqualTo(400);
        assertThat(http.send("PATCH", "/config", "{}").statusCode()).isEqualTo(400);
        assertThat(http.send("PATCH", "/config", "").statusCode()).isEqualTo(400);
        r = http.send("PATCH", "/config", "{\"ttl\": \"thirty\"}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).isEqualTo("config key 'ttl' must be an integer >= 10, got: \"thirty\"");
        r = http.send("PATCH", "/config", "{\"loop_wait\": 0, \"postgresql\": {\"use_slots\": \"maybe\"}}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body())
                .isEqualTo("config key 'loop_wait' must be an integer >= 1, got: 0\n"
                        + "config key 'postgresql.use_slots' must be true or false, got: \"maybe\"");
        r = http.send("PUT", "/config", "{\"ttl\": 5}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).isEqualTo("config key 'ttl' must be an integer >= 10, got: 5");
        r = http.send("PUT", "/config", "{\"postgresql\": 5}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("'postgresql' must be an object");
        assertThat(store.revision()).isEqualTo(before);
    }

    @Test
    void putConfigOverwrites() throws Exception {
        Dcs pg0 = withConfig("pg0");
        Http http = new Http(start(new FakeNode(primary(Map.of()), pg0)));
        HttpResponse<String> r = http.send("PUT", "/config", "{\"ttl\": 20, \"loop_wait\": 3}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(pg0.read().config().data()).isEqualTo(Map.of("ttl", 20L, "loop_wait", 3L));
    }

    @Test
    void writesNeedBasicAuthWhenConfiguredAndReadsStayOpen() throws Exception {
        Dcs pg0 = withConfig("pg0");
        RestApiServer server = start(
                new FakeNode(primary(Map.of()), pg0),
                RestApiConfig.builder()
                        .listen("127.0.0.1", 0)
                        .authentication("admin", "s3cret")
                        .build());
        Http anonymous = new Http(server);
        HttpResponse<String> r = anonymous.send("PATCH", "/config", "{\"ttl\": 20}");
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(r.body()).isEqualTo("no auth header received");
        assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue("Basic realm=\"Patroni\"");
        r = new Http(server).auth("admin", "wrong").send("POST", "/reload", "");
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(r.body()).isEqualTo("not authenticated");
        assertThat(pg0.read().config().data()).containsEntry("ttl", 30L);
        assertThat(anonymous.get("/patroni").statusCode()).isEqualTo(200);
        assertThat(anonymous.get("/config").statusCode()).isEqualTo(200);
        assertThat(new Http(server)
                        .auth("admin", "s3cret")
                        .send("PATCH", "/config", "{\"ttl\": 20}")
                        .statusCode())
                .isEqualTo(200);
    }

    @Test
    void allowlistRefusesOtherAddressesWith403() throws Exception {
        Dcs pg0 = withConfig("pg0");
        RestApiServer denied = start(
                new FakeNode(primary(Map.of()), pg0),
                RestApiConfig.builder()
                        .listen("127.0.0.1", 0)
                        .allowlist(List.of("10.0.0.0/8", "192.168.1.7"))
                        .build());
        HttpResponse<String> r = new Http(denied).send("POST", "/reload", "");
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(r.body()).isEqualTo("Access is denied");
        assertThat(new Http(denied).get("/patroni").statusCode()).isEqualTo(200);

        RestApiServer allowed = start(
                new FakeNode(primary(Map.of()), pg0),
                RestApiConfig.builder()
                        .listen("127.0.0.1", 0)
                        .allowlist(List.of("127.0.0.0/8"))
                        .build());
        assertThat(new Http(allowed).send("POST", "/reload", "").statusCode()).isEqualTo(202);
    }

    @Test
    void allowlistIncludesTheMembersAddresses() throws Exception {
        Dcs pg0 = withConfig("pg0");
        FakeNode node = new FakeNode(primary(Map.of()), pg0);
        RestApiServer server = start(
                node,
                RestApiConfig.builder()
                        .listen("127.0.0.1", 0)
                        .allowlist(List.of("10.0.0.0/8"))
                        .allowlistIncludeMembers(true)
                        .build());
        // the member records in the snapshot have api_url on 127.0.0.1
        assertThat(new Http(server).send("POST", "/reload", "").statusCode()).isEqualTo(202);
        node.update(s -> States.withCluster(s, io.pgha.dcs.ClusterState.empty("batman"), Map.of()));
        assertThat(new Http(server).send("POST", "/reload", "").statusCode()).isEqualTo(403);
    }

    @Test
    void bodyTooLargeIs413AndWritesNothing() throws Exception {
        Dcs pg0 = withConfig("pg0");
        Http http = new Http(start(new FakeNode(primary(Map.of()), pg0)));
        long before = store.revision();
        String big = "{\"comment\": \"" + "x".repeat(70 * 1024) + "\"}";
        HttpResponse<String> r = http.send("PATCH", "/config", big);
        assertThat(r.statusCode()).isEqualTo(413);
        assertThat(store.revision()).isEqualTo(before);
        assertThat(http.get("/health").statusCode()).isEqualTo(200);
    }

    @Test
    void slowClientDoesNotBlockOthersAndIsCutOff() throws Exception {
        Dcs pg0 = withConfig("pg0");
        RestApiServer server = start(
                new FakeNode(primary(Map.of()), pg0),
                RestApiConfig.builder()
                        .listen("127.0.0.1", 0)
                        .threadPoolSize(2)
                        .readTimeout(Duration.ofSeconds(1))
                        .build());
        long before = store.revision();
        try (Socket slow =
                new Socket(InetAddress.getLoopbackAddress(), server.address().getPort())) {
            slow.setSoTimeout(20_000);
            OutputStream out = slow.getOutputStream();
            out.write("PATCH /config HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"ttl\""
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            // another client is served while the slow one holds its thread
            Http http = new Http(server);
            for (int i = 0; i < 5; i++) {
                assertThat(http.get("/primary").statusCode()).isEqualTo(200);
            }
            // the slow client is cut off: closed, or answered 408
            InputStream in = slow.getInputStream();
            byte[] buf = new byte[512];
            int n = in.read(buf);
            String answer = n < 0 ? "" : new String(buf, 0, n, StandardCharsets.US_ASCII);
            assertThat(answer.isEmpty() || answer.startsWith("HTTP/1.1 408"))
                    .as(answer)
                    .isTrue();
        }
        assertThat(store.revision()).isEqualTo(before);
    }

    @Test
    void restartNowAndItsFilters() throws Exception {
        FakeNode node = new FakeNode(primary(Map.of()), withConfig("pg0"));
        Http http = new Http(start(node));
        HttpResponse<String> r = http.send("POST", "/restart", "");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("restarted successfully");
        assertThat(http.send("POST", "/restart", "{\"role\": \"replica\"}").body())
                .isEqualTo("restart conditions are not satisfied");
        assertThat(http.send("POST", "/restart", "{\"role\": \"replica\"}").statusCode())
                .isEqualTo(503);
        assertThat(http.send("POST", "/restart", "{\"restart_pending\": true}").statusCode())
                .isEqualTo(503);
        assertThat(http.send("POST", "/restart", "{\"postgres_version\": \"15.4\"}")
                        .statusCode())
                .isEqualTo(503);
        assertThat(http.send("POST", "/restart", "{\"postgres_version\": \"16.1\", \"timeout\": \"1min\"}")
                        .statusCode())
                .isEqualTo(200);
        assertThat(node.restarts.get(node.restarts.size() - 1).timeout()).isEqualTo(Duration.ofMinutes(1));
        node.restartResult = false;
        r = http.send("POST", "/restart", "{\"role\": \"primary\"}");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.body()).isEqualTo("restart failed");
    }

    @Test
    void restartBadFiltersAre400() throws Exception {
        FakeNode node = new FakeNode(primary(Map.of()), withConfig("pg0"));
        Http http = new Http(start(node));
        HttpResponse<String> r = http.send("POST", "/restart", "{\"role\": \"boss\"}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).isEqualTo("PostgreSQL role should be either primary, standby_leader, or replica");
        r = http.send("POST", "/restart", "{\"postgres_version\": \"9.6\"}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).isEqualTo("Invalid PostgreSQL version format: X.Y or X.Y.Z is accepted: 9.6");
        r = http.send("POST", "/restart", "{\"timeout\": -5}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).isEqualTo("Timeout should be a positive number of seconds");
        r = http.send("POST", "/restart", "{\"foo\": 1}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).isEqualTo("Unknown filter for the scheduled restart: foo");
        assertThat(http.send("POST", "/restart", "{\"role\": ").statusCode()).isEqualTo(400);
        assertThat(node.restarts).isEmpty();
    }

    @Test
    void scheduledRestartIs202ThenConflictsThenDeletes() throws Exception {
        FakeNode node = new FakeNode(primary(Map.of()), withConfig("pg0"));
        Http http = new Http(start(node));
        String at = Instant.now().plusSeconds(3600).toString();
        HttpResponse<String> r = http.send("POST", "/restart", "{\"schedule\": \"" + at + "\", \"role\": \"primary\"}");
        assertThat(r.statusCode()).isEqualTo(202);
        assertThat(r.body()).isEqualTo("Restart scheduled");
        r = http.send("POST", "/restart", "{\"schedule\": \"" + at + "\"}");
        assertThat(r.statusCode()).isEqualTo(409);
        assertThat(r.body()).isEqualTo("Another restart is already scheduled");
        assertThat(Http.json(http.get("/patroni"))).containsKey("scheduled_restart");
        assertThat(http.send("DELETE", "/restart", null).statusCode()).isEqualTo(200);
        r = http.send("DELETE", "/restart", null);
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(r.body()).isEqualTo("no restarts are scheduled");
    }

    @Test
    void scheduledRestartInThePastNoZoneOrPausedIsRefused() throws Exception {
        FakeNode node = new FakeNode(primary(Map.of()), withConfig("pg0"));
        Http http = new Http(start(node));
        HttpResponse<String> r = http.send("POST", "/restart", "{\"schedule\": \"2001-01-01T00:00:00+00:00\"}");
        assertThat(r.statusCode()).isEqualTo(422);
        assertThat(r.body()).isEqualTo("Cannot schedule restart in the past");
        r = http.send("POST", "/restart", "{\"schedule\": \"2099-01-01T00:00:00\"}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).isEqualTo("Timezone information is mandatory for the scheduled restart");
        r = http.send("POST", "/restart", "{\"schedule\": \"tomorrow\"}");
        assertThat(r.statusCode()).isEqualTo(422);
        node.update(s -> States.withCluster(s, s.cluster(), Map.of("pause", true)));
        r = http.send("POST", "/restart", "{\"schedule\": \"2099-01-01T00:00:00+00:00\"}");
        assertThat(r.statusCode()).isEqualTo(500);
        assertThat(r.body()).isEqualTo("Can't schedule restart in the paused state");
        assertThat(node.restarts).isEmpty();
    }

    @Test
    void reloadIs202() throws Exception {
        FakeNode node = new FakeNode(primary(Map.of()), withConfig("pg0"));
        HttpResponse<String> r = new Http(start(node)).send("POST", "/reload", "");
        assertThat(r.statusCode()).isEqualTo(202);
        assertThat(r.body()).isEqualTo("reload scheduled");
        assertThat(node.reloads.get()).isEqualTo(1);
    }

    @Test
    void reinitializeAReplica() throws Exception {
        FakeNode node =
                new FakeNode(replica(100 * MB, 100 * MB, "streaming", Map.of(), Map.of(), null), withConfig("pg1"));
        HttpResponse<String> r =
                new Http(start(node)).send("POST", "/reinitialize", "{\"force\": true, \"from_leader\": true}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("reinitialize started");
        assertThat(node.reinits).containsExactly("force=true,from_leader=true");
    }

    @Test
    void failsafePostIsAcceptedByAReplicaAndRefusedByAPrimary() throws Exception {
        Map<String, Object> failsafe = Map.of("failsafe_mode", true);
        FakeNode replica = new FakeNode(
                withFailsafeKey(replica(100 * MB, 99 * MB, "streaming", failsafe, Map.of(), null), failsafe),
                dcs("pg1"));
        RestApiServer server = start(replica);
        PatroniClient client = PatroniClient.create();
        Map<String, Object> body = Map.of("name", "pg0", "api_url", "http://127.0.0.1:8008/patroni");
        assertThat(client.postFailsafe(server.apiUrl(), body, Duration.ofSeconds(5)))
                .isTrue();
        assertThat(replica.failsafeHeartbeats).containsExactly(body);
        HttpResponse<String> r = new Http(server).send("POST", "/failsafe", Json.write(body));
        assertThat(r.headers().firstValue("lsn")).hasValue(String.valueOf(100 * MB));

        FakeNode primary = new FakeNode(primary(failsafe), dcs("pg0"));
        RestApiServer p = start(primary);
        r = new Http(p).send("POST", "/failsafe", Json.write(body));
        assertThat(r.statusCode()).isEqualTo(500);
        assertThat(r.body()).isEqualTo("Running as a leader");
        assertThat(client.postFailsafe(p.apiUrl(), body, Duration.ofSeconds(5))).isFalse();

        FakeNode off = new FakeNode(replica(100 * MB, 99 * MB, "streaming", Map.of(), Map.of(), null), dcs("pg2"));
        assertThat(new Http(start(off))
                        .send("POST", "/failsafe", Json.write(body))
                        .statusCode())
                .isEqualTo(502);
        assertThat(off.failsafeHeartbeats).isEmpty();
    }

    @Test
    void scheduledRestartShowsInTheStatus() throws Exception {
        FakeNode node = new FakeNode(
                States.with(
                        primary(Map.of()),
                        new RestartRequest(
                                Instant.parse("2030-01-01T00:00:00Z"), null, "16.1", true, Duration.ofSeconds(30))),
                dcs("pg0"));
        assertThat(Http.json(new Http(start(node)).get("/patroni")).get("scheduled_restart"))
                .isEqualTo(Map.of(
                        "schedule",
                        "2030-01-01T00:00:00+00:00",
                        "postgres_version",
                        "16.1",
                        "restart_pending",
                        true,
                        "timeout",
                        30L));
    }
}
