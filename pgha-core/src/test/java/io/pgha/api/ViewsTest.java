package io.pgha.api;

import static io.pgha.api.States.MB;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.Failover;
import io.pgha.dcs.HistoryEntry;
import io.pgha.ha.NodeState;
import io.pgha.ha.RestartRequest;
import io.pgha.postgres.PostgresStatus;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ViewsTest extends ApiTestSupport {

    @Test
    @SuppressWarnings("unchecked")
    void patroniViewOfAPrimaryHasPatronisFields() throws Exception {
        NodeState s = primary(Map.of());
        Instant seen = s.dcsLastSeen();
        PostgresStatus pg = States.primaryPg(100 * MB);
        pg = new PostgresStatus(
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
                null);
        s = States.with(
                States.with(s, pg),
                new RestartRequest(Instant.parse("2030-01-01T10:00:00Z"), "primary", null, false, null));
        s = new NodeState(
                s.name(),
                s.scope(),
                s.role(),
                s.holdsLock(),
                s.postgres(),
                s.cluster(),
                s.config(),
                s.lastHeartbeat(),
                s.dcsLastSeen(),
                Map.of("clonefrom", true),
                s.apiUrl(),
                s.connUrl(),
                s.lastReason(),
                s.scheduledRestart(),
                false);
        Http http = new Http(start(new FakeNode(s, dcs("pg0"))));
        HttpResponse<String> r = http.get("/patroni");
        assertThat(r.statusCode()).isEqualTo(200);
        Map<String, Object> j = Http.json(r);
        assertThat(j)
                .containsEntry("state", "running")
                .containsEntry("role", "master")
                .containsEntry("server_version", 150018L)
                .containsEntry("timeline", 2L)
                .containsEntry("postmaster_start_time", "2026-01-02 03:04:05.123456+00:00")
                .containsEntry("xlog", Map.of("location", 100 * MB))
                .containsEntry("dcs_last_seen", seen.getEpochSecond())
                .containsEntry("tags", Map.of("clonefrom", true))
                .containsEntry("database_system_identifier", "7268616322854375442")
                .containsEntry("pending_restart", true)
                .containsEntry("scheduled_restart", Map.of("schedule", "2030-01-01T10:00:00+00:00", "role", "primary"))
                .containsEntry("patroni", Map.of("version", RestApiServer.VERSION, "scope", "batman", "name", "pg0"))
                .doesNotContainKeys("pause", "cluster_unlocked", "failsafe_mode_is_active");
        List<Map<String, Object>> rows = (List<Map<String, Object>>) j.get("replication");
        assertThat(rows)
                .containsExactly(Map.of(
                        "usename",
                        "replicator",
                        "application_name",
                        "pg1",
                        "client_addr",
                        "127.0.0.1",
                        "state",
                        "streaming",
                        "sync_state",
                        "async",
                        "sync_priority",
                        0L));
    }

    @Test
    void patroniViewOfAReplicaHasItsXlogPositions() throws Exception {
        NodeState s = replica(100 * MB, 99 * MB, "streaming", Map.of("pause", true), Map.of(), null);
        s = States.withFailsafe(s, true);
        Http http = new Http(start(new FakeNode(s, dcs("pg1"))));
        Map<String, Object> j = Http.json(http.get("/patroni"));
        assertThat(j)
                .containsEntry("role", "replica")
                .containsEntry("replication_state", "streaming")
                .containsEntry("pause", true)
                .containsEntry("failsafe_mode_is_active", true)
                .doesNotContainKeys("replication", "cluster_unlocked", "tags");
        assertThat(j.get("xlog"))
                .isEqualTo(Map.of(
                        "received_location",
                        100 * MB,
                        "replayed_location",
                        99 * MB,
                        "replayed_timestamp",
                        "2026-01-02 04:00:00+00:00",
                        "paused",
                        false));
    }

    @Test
    @SuppressWarnings("unchecked")
    void clusterViewListsMembersSortedWithRolesAndLag() throws Exception {
        Dcs pg0 = dcs("pg0");
        Dcs pg1 = dcs("pg1");
        Dcs pg2 = dcs("pg2");
        pg2.touchMember(Map.of(
                "conn_url",
                "postgres://10.0.0.3:5434/postgres",
                "api_url",
                "http://10.0.0.3:8008/patroni",
                "state",
                "stopped",
                "role",
                "replica"));
        pg1.touchMember(Map.of(
                "conn_url",
                "postgres://10.0.0.2:5433/postgres",
                "api_url",
                "http://10.0.0.2:8008/patroni",
                "state",
                "running",
                "role",
                "replica",
                "replication_state",
                "streaming",
                "timeline",
                2,
                "xlog_location",
                0x4000000L - 0x60,
                "receive_lsn",
                0x4000000L,
                "replay_lsn",
                0x4000000L - 0x60,
                "tags",
                Map.of("nofailover", true)));
        pg0.touchMember(Map.of(
                "conn_url",
                "postgres://10.0.0.1:5432/postgres",
                "api_url",
                "http://10.0.0.1:8008/patroni",
                "state",
                "running",
                "role",
                "primary",
                "timeline",
                2,
                "xlog_location",
                0x4000000L));
        assertThat(pg0.acquireLeader()).isTrue();
        pg0.writeStatus(new io.pgha.dcs.ClusterStatus(0x4000000L, Map.of(), List.of()));
        pg0.writeConfig(Map.of("synchronous_mode", true, "pause", true), Dcs.ABSENT);
        pg0.writeSync(new io.pgha.dcs.SyncState("pg0", List.of("pg1"), null, 0), Dcs.ABSENT);
        pg0.writeFailover(Failover.of("pg0", "pg1", Instant.parse("2030-09-24T08:36:00Z")), Dcs.ABSENT);
        Http http = new Http(start(new FakeNode(primary(Map.of()), pg0)));

        Map<String, Object> j = Http.json(http.get("/cluster"));
        assertThat(j)
                .containsEntry("scope", "batman")
                .containsEntry("pause", true)
                .containsEntry(
                        "scheduled_switchover", Map.of("at", "2030-09-24T08:36:00+00:00", "from", "pg0", "to", "pg1"));
        List<Map<String, Object>> members = (List<Map<String, Object>>) j.get("members");
        assertThat(members).extracting(m -> m.get("name")).containsExactly("pg0", "pg1", "pg2");
        assertThat(members.get(0))
                .containsEntry("role", "leader")
                .containsEntry("state", "running")
                .containsEntry("api_url", "http://10.0.0.1:8008/patroni")
                .containsEntry("host", "10.0.0.1")
                .containsEntry("port", 5432L)
                .containsEntry("timeline", 2L)
                .doesNotContainKeys("lag", "lsn");
        assertThat(members.get(1))
                .containsEntry("role", "sync_standby")
                .containsEntry("state", "streaming")
                .containsEntry("port", 5433L)
                .containsEntry("tags", Map.of("nofailover", true))
                .containsEntry("receive_lsn", "0/4000000")
                .containsEntry("receive_lag", 0L)
                .containsEntry("replay_lsn", "0/3FFFFA0")
                .containsEntry("replay_lag", 0x60L)
                .containsEntry("lsn", "0/3FFFFA0")
                .containsEntry("lag", 0x60L);
        assertThat(members.get(2))
                .containsEntry("role", "replica")
                .containsEntry("state", "stopped")
                .containsEntry("lag", "unknown")
                .containsEntry("lsn", "unknown");
    }

    @Test
    void clusterViewAnswers503WhenTheDcsIsDown() throws Exception {
        Http http = new Http(start(new FakeNode(primary(Map.of()), dcs("pg0"))));
        store.setAvailable(false);
        HttpResponse<String> r = http.get("/cluster");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.body()).startsWith("DCS is not accessible");
        store.setAvailable(true);
    }

    @Test
    void historyViewListsTheHistoryRows() throws Exception {
        Dcs pg0 = dcs("pg0");
        pg0.writeHistory(List.of(
                new HistoryEntry(1, 25623960, "no recovery target specified", "2019-09-23T16:57:57+02:00", "pg1")));
        Http http = new Http(start(new FakeNode(primary(Map.of()), pg0)));
        HttpResponse<String> r = http.get("/history");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(Json.read(r.body()))
                .isEqualTo(List.of(
                        List.of(1L, 25623960L, "no recovery target specified", "2019-09-23T16:57:57+02:00", "pg1")));
    }

    @Test
    void configViewAnswers502WithoutConfigAnd200WithIt() throws Exception {
        Dcs pg0 = dcs("pg0");
        Http http = new Http(start(new FakeNode(primary(Map.of()), pg0)));
        assertThat(http.get("/config").statusCode()).isEqualTo(502);
        pg0.writeConfig(
                Map.of("ttl", 20, "postgresql", Map.of("parameters", Map.of("max_connections", "101"))), Dcs.ABSENT);
        HttpResponse<String> r = http.get("/config");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(Http.json(r)).containsEntry("ttl", 20L);
    }

    @Test
    void failsafeViewAnswers502WithoutTheKey() throws Exception {
        NodeState s = primary(Map.of());
        FakeNode node = new FakeNode(s, dcs("pg0"));
        Http http = new Http(start(node));
        assertThat(http.get("/failsafe").statusCode()).isEqualTo(502);
        ClusterState withKey = ClusterState.builder("batman")
                .leader("pg0", 1)
                .failsafe("{\"pg0\":\"http://127.0.0.1:8008/patroni\",\"pg1\":\"http://127.0.0.1:8009/patroni\"}")
                .build();
        node.update(x -> States.withCluster(x, withKey, Map.of("failsafe_mode", true)));
        HttpResponse<String> r = http.get("/failsafe");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(Http.json(r)).containsEntry("pg1", "http://127.0.0.1:8009/patroni");
    }

    @Test
    void extensionsAppearInThePatroniViewAndTheirNumbersAsGauges() throws Exception {
        FakeNode node = new FakeNode(primary(Map.of()), dcs("pg0"));
        Map<String, Object> backup = new java.util.LinkedHashMap<>();
        backup.put("drill_failed", true);
        backup.put("drill_ok", 0);
        backup.put("last_full_age_seconds", 42L);
        backup.put("last_error", "repository unreachable");
        backup.put("bad name", 1);
        node.extensions = Map.of("backup", backup);
        Http http = new Http(start(node));
        Map<String, Object> j = Http.json(http.get("/patroni"));
        assertThat(j).containsKey("backup");
        @SuppressWarnings("unchecked")
        Map<String, Object> b = (Map<String, Object>) j.get("backup");
        assertThat(b).containsEntry("drill_failed", true).containsEntry("last_error", "repository unreachable");
        String labels = "{scope=\"batman\",name=\"pg0\"}";
        String metrics = http.get("/metrics").body();
        assertThat(metrics)
                .contains(
                        "# TYPE pgha_backup_drill_ok gauge",
                        "pgha_backup_drill_ok" + labels + " 0",
                        "pgha_backup_last_full_age_seconds" + labels + " 42");
        assertThat(metrics).doesNotContain("pgha_backup_drill_failed", "pgha_backup_last_error", "bad name");
    }

    @Test
    void metricsUsePatronisNamesAndLabels() throws Exception {
        Http http = new Http(start(new FakeNode(primary(Map.of()), dcs("pg0"))));
        HttpResponse<String> r = http.get("/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
        String labels = "{scope=\"batman\",name=\"pg0\"}";
        assertThat(r.body())
                .contains(
                        "# TYPE patroni_version gauge",
                        "patroni_postgres_running" + labels + " 1",
                        "patroni_postmaster_start_time" + labels + " 1767323045.123456",
                        "patroni_primary" + labels + " 1",
                        "patroni_master" + labels + " 1",
                        "patroni_replica" + labels + " 0",
                        "patroni_sync_standby" + labels + " 0",
                        "patroni_xlog_location" + labels + " " + 100 * MB,
                        "patroni_xlog_received_location" + labels + " 0",
                        "patroni_xlog_replayed_location" + labels + " 0",
                        "patroni_xlog_replayed_timestamp" + labels + " 0",
                        "patroni_xlog_paused" + labels + " 0",
                        "patroni_postgres_server_version" + labels + " 150018",
                        "patroni_cluster_unlocked" + labels + " 0",
                        "patroni_failsafe_mode_is_active" + labels + " 0",
                        "patroni_postgres_timeline" + labels + " 2",
                        "patroni_dcs_last_seen" + labels + " ",
                        "patroni_pending_restart" + labels + " 0",
                        "patroni_is_paused" + labels + " 0",
                        "patroni_postgres_streaming" + labels + " 0",
                        "patroni_postgres_in_archive_recovery" + labels + " 0",
                        "patroni_postgres_state" + labels + " 5",
                        "patroni_failover_priority" + labels + " 1");
    }

    @Test
    void metricsOfAStreamingReplica() throws Exception {
        Http http = new Http(
                start(new FakeNode(replica(100 * MB, 99 * MB, "streaming", Map.of(), Map.of(), null), dcs("pg1"))));
        String body = http.get("/metrics").body();
        String labels = "{scope=\"batman\",name=\"pg1\"}";
        assertThat(body)
                .contains(
                        "patroni_replica" + labels + " 1",
                        "patroni_primary" + labels + " 0",
                        "patroni_xlog_received_location" + labels + " " + 100 * MB,
                        "patroni_xlog_replayed_location" + labels + " " + 99 * MB,
                        "patroni_xlog_replayed_timestamp" + labels + " 1767326400.0",
                        "patroni_postgres_streaming" + labels + " 1");
    }

    @Test
    void viewsAnswerHeadWithTheirStatus() throws Exception {
        Http http = new Http(start(new FakeNode(primary(Map.of()), dcs("pg0"))));
        assertThat(http.send("HEAD", "/patroni", null).statusCode()).isEqualTo(200);
        assertThat(http.get("/patroni/").statusCode()).isEqualTo(200);
    }
}
