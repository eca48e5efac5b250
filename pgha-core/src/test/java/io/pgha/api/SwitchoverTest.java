package io.pgha.api;

import static io.pgha.api.States.MB;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.Failover;
import io.pgha.dcs.SyncState;
import io.pgha.rest.RestApiConfig;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class SwitchoverTest extends ApiTestSupport {
    Dcs d0;
    Dcs d1;
    Dcs d2;
    FakeNode n0;
    RestApiServer s0;
    RestApiServer s1;
    RestApiServer s2;
    Http http;

    @BeforeEach
    void cluster() throws Exception {
        d0 = dcs("pg0");
        d1 = dcs("pg1");
        d2 = dcs("pg2");
        d0.writeConfig(Map.of("ttl", 30, "loop_wait", 10), Dcs.ABSENT);
        n0 = new FakeNode(primary(Map.of()), d0);
        s0 = start(n0, RestApiConfig.builder().listen("127.0.0.1", 0).build(), fastPolling(Duration.ofSeconds(3)));
        s1 = start(new FakeNode(replica(100 * MB, 100 * MB, "streaming", Map.of(), Map.of(), null), d1));
        s2 = start(
                new FakeNode(replica(100 * MB, 100 * MB, "streaming", Map.of(), Map.of("nofailover", true), null), d2));
        touch(d0, s0, "running", "primary");
        touch(d1, s1, "running", "replica");
        touch(d2, s2, "running", "replica");
        assertThat(d0.acquireLeader()).isTrue();
        http = new Http(s0);
    }

    static void touch(Dcs d, RestApiServer s, String state, String role) throws DcsException {
        Map<String, Object> m = new HashMap<>();
        m.put("conn_url", "postgres://127.0.0.1:5432/postgres");
        m.put("api_url", s.apiUrl());
        m.put("state", state);
        m.put("role", role);
        d.touchMember(m);
    }

    /** What the HA loops do with a manual switchover: the leader steps down, {@code winner} takes over. */
    void haPromotes(String winner, Duration stepDownTime) {
        n0.onWakeUp = () -> new Thread(() -> {
                    try {
                        Failover f = d0.read().failover();
                        if (f == null || f.scheduledAt() != null) {
                            return;
                        }
                        touch(d0, s0, "stopping", "primary");
                        Thread.sleep(stepDownTime.toMillis());
                        d0.releaseLeader();
                        Dcs w = winner.equals("pg1") ? d1 : d2;
                        w.acquireLeader();
                        w.writeFailover(null, w.read().failover().version());
                        touch(d0, s0, "running", "replica");
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                })
                .start();
    }

    @Test
    void switchoverToACandidateWaitsForTheNewLeader() throws Exception {
        haPromotes("pg1", Duration.ofMillis(300));
        HttpResponse<String> r = http.send("POST", "/switchover", "{\"leader\": \"pg0\", \"candidate\": \"pg1\"}");
        assertThat(r.body()).isEqualTo("Successfully switched over to \"pg1\"");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(d0.read().leader().name()).isEqualTo("pg1");
    }

    @Test
    void switchoverWithoutCandidateReportsWhoTookOver() throws Exception {
        haPromotes("pg1", Duration.ofMillis(100));
        HttpResponse<String> r = http.send("POST", "/switchover", "{\"leader\": \"pg0\"}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("Successfully switched over to \"pg1\"");
    }

    @Test
    void switchoverThatEndsElsewhereSaysSo() throws Exception {
        haPromotes("pg2", Duration.ofMillis(100));
        HttpResponse<String> r = http.send("POST", "/switchover", "{\"leader\": \"pg0\", \"candidate\": \"pg1\"}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("Switched over to \"pg2\" instead of \"pg1\"");
    }

    @Test
    void failoverToACandidate() throws Exception {
        haPromotes("pg1", Duration.ofMillis(100));
        HttpResponse<String> r = http.send("POST", "/failover", "{\"candidate\": \"pg1\"}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("Successfully failed over to \"pg1\"");
    }

    @Test
    void switchoverStillShuttingDownIsReportedUnknownNotFailed() throws Exception {
        // the old primary is stopping for longer than the bound; the failover key stays
        n0.onWakeUp = () -> {
            try {
                touch(d0, s0, "stopping", "primary");
            } catch (DcsException e) {
                throw new IllegalStateException(e);
            }
        };
        HttpResponse<String> r = http.send("POST", "/switchover", "{\"leader\": \"pg0\", \"candidate\": \"pg1\"}");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.body()).isEqualTo("Switchover status unknown after 3 seconds; operation may still be in progress");
    }

    @Test
    void switchoverWithTheKeyGoneButTheLeaderStillStoppingIsNotFailed() throws Exception {
        n0.onWakeUp = () -> {
            try {
                touch(d0, s0, "stopping", "primary");
                d0.writeFailover(null, d0.read().failover().version());
            } catch (DcsException e) {
                throw new IllegalStateException(e);
            }
        };
        HttpResponse<String> r = http.send("POST", "/switchover", "{\"leader\": \"pg0\", \"candidate\": \"pg1\"}");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.body()).startsWith("Switchover status unknown");
    }

    @Test
    void switchoverWithTheLeaderLockMomentarilyFreeIsNotFailed() throws Exception {
        // the old leader released the lock and the key is gone, but nobody has taken the lock yet
        AtomicReference<Throwable> error = new AtomicReference<>();
        n0.onWakeUp = () -> new Thread(() -> {
                    try {
                        d0.releaseLeader();
                        d0.writeFailover(null, d0.read().failover().version());
                        Thread.sleep(1500);
                        d1.acquireLeader();
                    } catch (Exception e) {
                        error.set(e);
                    }
                })
                .start();
        HttpResponse<String> r = http.send("POST", "/switchover", "{\"leader\": \"pg0\"}");
        assertThat(error.get()).isNull();
        assertThat(r.body()).isEqualTo("Successfully switched over to \"pg1\"");
    }

    @Test
    void switchoverRefusedByTheLeaderIsReportedFailed() throws Exception {
        // the leader found the candidate unfit, removed the key and stayed leader, running
        n0.onWakeUp = () -> {
            try {
                d0.writeFailover(null, d0.read().failover().version());
            } catch (DcsException e) {
                throw new IllegalStateException(e);
            }
        };
        HttpResponse<String> r = http.send("POST", "/switchover", "{\"leader\": \"pg0\", \"candidate\": \"pg1\"}");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.body()).isEqualTo("Switchover failed");
    }

    @Test
    void switchoverValidation() throws Exception {
        long before = store.revision();
        assertAnswer(
                http.send("POST", "/switchover", "{\"candidate\": \"pg1\"}"),
                400,
                "Switchover could be performed only from a specific leader");
        assertAnswer(
                http.send("POST", "/switchover", "{\"leader\": \"pg1\", \"candidate\": \"pg2\"}"),
                412,
                "leader name does not match");
        assertAnswer(
                http.send("POST", "/switchover", "{\"leader\": \"pg0\", \"candidate\": \"pg9\"}"),
                412,
                "candidate does not exists");
        assertAnswer(
                http.send("POST", "/switchover", "{\"leader\": \"pg0\", \"candidate\": \"pg0\"}"),
                400,
                "Switchover target and source are the same");
        assertAnswer(
                http.send("POST", "/switchover", "{\"leader\": \"pg0\", \"candidate\": \"pg2\"}"),
                412,
                "switchover is not possible: no good candidates have been found");
        assertAnswer(
                http.send("POST", "/failover", "{\"leader\": \"pg0\", \"candidate\": \"pg2\"}"),
                412,
                "switchover is not possible: no good candidates have been found");
        assertAnswer(
                http.send("POST", "/switchover", "{\"leader\": 7}"),
                400,
                "'leader' must be a member name (a string), got: 7");
        assertAnswer(
                http.send("POST", "/switchover", "{\"leader\": \"pg0\", \"scheduled_at\": 5}"),
                400,
                "'scheduled_at' must be an ISO 8601 timestamp string, got: 5");
        assertAnswer(
                http.send(
                        "POST", "/failover", "{\"candidate\": \"pg1\", \"scheduled_at\": \"2099-01-01T00:00+00:00\"}"),
                400,
                "Failover can't be scheduled");
        assertAnswer(
                http.send("POST", "/switchover", "{\"leader\": \"pg0\", \"scheduled_at\": \"2001-01-01T00:00+00:00\"}"),
                422,
                "Cannot schedule switchover in the past");
        assertAnswer(
                http.send("POST", "/switchover", "{\"leader\": \"pg0\", \"scheduled_at\": \"2099-01-01T00:00\"}"),
                400,
                "Timezone information is mandatory for the scheduled switchover");
        assertAnswer(
                http.send("POST", "/switchover", "{\"leader\": \"pg0\", \"scheduled_at\": \"soon\"}"),
                422,
                "Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601");
        assertThat(http.send("POST", "/switchover", "{\"leader\": ").statusCode())
                .isEqualTo(400);
        assertThat(store.revision()).as("nothing written").isEqualTo(before);
        assertThat(n0.wakeUps.get()).isZero();
    }

    @Test
    void switchoverToAnUnreachableCandidateIsNotPossible() throws Exception {
        s1.close();
        assertAnswer(
                http.send("POST", "/switchover", "{\"leader\": \"pg0\", \"candidate\": \"pg1\"}"),
                412,
                "switchover is not possible: no good candidates have been found");
    }

    @Test
    void switchoverInSynchronousModeOnlyToTheSyncStandby() throws Exception {
        d0.writeConfig(Map.of("synchronous_mode", true), d0.read().config().version());
        d0.writeSync(new SyncState("pg0", List.of("pg2"), null, 0), Dcs.ABSENT);
        assertAnswer(
                http.send("POST", "/switchover", "{\"leader\": \"pg0\", \"candidate\": \"pg1\"}"),
                412,
                "candidate name does not match with sync_standby");
        d0.writeSync(null, d0.read().sync().version());
        assertAnswer(
                http.send("POST", "/switchover", "{\"leader\": \"pg0\"}"),
                412,
                "switchover is not possible: can not find sync_standby");
    }

    @Test
    void scheduledSwitchoverIs202AndCanBeDeleted() throws Exception {
        Instant at = Instant.now().plusSeconds(3600).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        assertAnswer(
                http.send(
                        "POST",
                        "/switchover",
                        "{\"leader\": \"pg0\", \"candidate\": \"pg1\", \"scheduled_at\": \"" + at + "\"}"),
                202,
                "Switchover scheduled");
        Failover f = d0.read().failover();
        assertThat(f.leader()).isEqualTo("pg0");
        assertThat(f.member()).isEqualTo("pg1");
        assertThat(f.scheduledAt()).isEqualTo(at);
        assertThat(Http.json(http.get("/cluster")).get("scheduled_switchover"))
                .isEqualTo(Map.of("at", Json.pythonIso(at), "from", "pg0", "to", "pg1"));
        assertAnswer(http.send("DELETE", "/switchover", null), 200, "scheduled switchover deleted");
        assertThat(d0.read().failover()).isNull();
        assertAnswer(http.send("DELETE", "/switchover", null), 404, "no switchover is scheduled");
    }

    @Test
    void pausedClusterAllowsOnlyUnscheduledSwitchoverToACandidate() throws Exception {
        d0.writeConfig(Map.of("pause", true), d0.read().config().version());
        assertAnswer(
                http.send("POST", "/switchover", "{\"leader\": \"pg0\", \"scheduled_at\": \"2099-01-01T00:00+00:00\"}"),
                400,
                "Can't schedule switchover in the paused state");
        assertAnswer(
                http.send("POST", "/switchover", "{\"leader\": \"pg0\"}"),
                400,
                "Switchover is possible only to a specific candidate in a paused state");
        haPromotes("pg1", Duration.ofMillis(100));
        assertAnswer(
                http.send("POST", "/switchover", "{\"leader\": \"pg0\", \"candidate\": \"pg1\"}"),
                200,
                "Successfully switched over to \"pg1\"");
    }

    @Test
    void failingToWriteTheFailoverKeyIs503() throws Exception {
        Dcs refusing = new ForwardingDcs(d0) {
            @Override
            public boolean writeFailover(Failover failover, long expectedVersion) {
                return false;
            }
        };
        Http other = new Http(start(new FakeNode(primary(Map.of()), refusing)));
        HttpResponse<String> r = other.send("POST", "/switchover", "{\"leader\": \"pg0\", \"candidate\": \"pg1\"}");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.body()).startsWith("failed to write failover key into DCS");
        assertThat(d0.read().failover()).isNull();
    }

    @Test
    void dcsDownIs503() throws Exception {
        store.setAvailable(false);
        try {
            HttpResponse<String> r = http.send("POST", "/switchover", "{\"leader\": \"pg0\", \"candidate\": \"pg1\"}");
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(r.body()).startsWith("DCS is not accessible");
        } finally {
            store.setAvailable(true);
        }
        ClusterState c = d0.read();
        assertThat(c.failover()).isNull();
    }

    static void assertAnswer(HttpResponse<String> r, int code, String body) {
        assertThat(r.body()).isEqualTo(body);
        assertThat(r.statusCode()).isEqualTo(code);
    }
}
