package io.pgha.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.examples.SideBySide.Member;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The scenarios of the differential harness, written once: each subclass names the implementation
 * ({@link SideBySidePatroniIT} the reference, {@link SideBySidePghaIT} pgha) and inherits every
 * step. Derived from Patroni's acceptance features (basic_replication, patroni_api) and from what
 * broke for Patroni users on pgha's first day: pg_hba as written, edit-config of parameters and
 * pg_hba, reload by SIGHUP, a pending restart, an agent stopped and restarted in pause, a switchover
 * and a reinitialize in pause, callbacks and REST API credentials changed by SIGHUP (issue 15).
 * Steps build on each other in order on one cluster.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class SideBySideScenarios {

    private SideBySide cluster;
    private Member leader;
    private Member replica;

    abstract SideBySide.Implementation implementation();

    @BeforeAll
    void startCluster() throws Exception {
        SideBySide.assumeMachine(implementation());
        cluster = SideBySide.create(implementation());
        cluster.start(cluster.members.get(0));
        leader = cluster.awaitLeader();
        cluster.start(cluster.members.get(1));
        replica = cluster.members.get(1);
    }

    @AfterAll
    void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Order(1)
    void bootstrapsALeaderAndAStreamingReplica() throws Exception {
        SideBySide.await(
                "the replica to answer GET /replica with 200\n" + cluster.log(replica),
                () -> cluster.status(replica, "/replica") == 200 ? true : null);
        assertThat(cluster.status(leader, "/replica")).isEqualTo(503);
        assertThat(cluster.status(replica, "/primary")).isEqualTo(503);
        assertThat(cluster.status(leader, "/health")).isEqualTo(200);
        String list = cluster.patronictl(leader, "list");
        assertThat(list)
                .contains(leader.name)
                .contains(replica.name)
                .contains("Leader")
                .contains("Replica");
    }

    @Test
    @Order(2)
    void clientsConnectAsTheFilesPgHbaAllowsAndWritesReachTheReplica() throws Exception {
        // host all all 127.0.0.1/32 trust: no password, over TCP, as postgres
        assertThat(cluster.psql(leader, "SELECT pg_is_in_recovery()")).isEqualTo("f");
        cluster.psql(leader, "CREATE TABLE side_by_side(id int); INSERT INTO side_by_side VALUES (1)");
        SideBySide.await(
                "the row on the replica",
                () -> "1".equals(cluster.tryPsql(replica, "SELECT count(*) FROM side_by_side")) ? true : null);
        assertThat(cluster.psql(replica, "SELECT pg_is_in_recovery()")).isEqualTo("t");
    }

    @Test
    @Order(3)
    void editConfigOfAParameterTakesEffectOnEveryMember() throws Exception {
        cluster.patronictl(leader, "edit-config", "-p", "work_mem=7MB", "--force");
        for (Member m : cluster.members) {
            SideBySide.await(
                    "work_mem 7MB on " + m.name + "\n" + cluster.log(m),
                    () -> "7MB".equals(cluster.tryPsql(m, "SHOW work_mem")) ? true : null);
        }
        assertThat(cluster.patronictl(leader, "show-config")).contains("work_mem: 7MB");
    }

    @Test
    @Order(4)
    void theMembersOwnPgHbaWinsOverTheClustersDynamicOne() throws Exception {
        cluster.patronictl(
                leader, "edit-config", "-s", "postgresql.pg_hba=[\"host all all 0.0.0.0/0 reject\"]", "--force");
        // what the dynamic value would do is not visible: wait for a change that is, on every member
        cluster.patronictl(leader, "edit-config", "-p", "work_mem=8MB", "--force");
        for (Member m : cluster.members) {
            SideBySide.await(
                    "work_mem 8MB on " + m.name, () -> "8MB".equals(cluster.tryPsql(m, "SHOW work_mem")) ? true : null);
            assertThat(cluster.psql(m, "SELECT 1")).isEqualTo("1");
        }
    }

    @Test
    @Order(5)
    void aParameterThatNeedsARestartIsShownPendingUntilRestartPending() throws Exception {
        cluster.patronictl(leader, "edit-config", "-p", "max_connections=60", "--force");
        SideBySide.await(
                "pending restart in GET /patroni of both members",
                () -> cluster.members.stream()
                                .allMatch(m -> patroni(m).contains("\"pending_restart\": true")
                                        || patroni(m).contains("\"pending_restart\":true"))
                        ? true
                        : null);
        cluster.patronictl(leader, "restart", cluster.scope, "--pending", "--force");
        for (Member m : cluster.members) {
            SideBySide.await(
                    "max_connections 60 on " + m.name,
                    () -> "60".equals(cluster.tryPsql(m, "SHOW max_connections")) ? true : null);
        }
        SideBySide.await(
                "no pending restart",
                () -> cluster.members.stream().noneMatch(m -> patroni(m).contains("pending_restart")) ? true : null);
    }

    @Test
    @Order(6)
    void sighupReReadsTheFileAndKeepsTheNodeRunning() throws Exception {
        long agentPid = replica.agent.pid();
        cluster.writeYaml(replica, Map.of("work_mem", "9MB"), Map.of("new_tag", "new_value"));
        cluster.signal(replica, "HUP");
        SideBySide.await(
                "work_mem 9MB (the member's own file over the dynamic 8MB) on " + replica.name + "\n"
                        + cluster.log(replica),
                () -> "9MB".equals(cluster.tryPsql(replica, "SHOW work_mem")) ? true : null);
        SideBySide.await(
                "the new tag in GET /patroni of " + replica.name,
                () -> patroni(replica).replace(" ", "").contains("\"new_tag\":\"new_value\"") ? true : null);
        assertThat(replica.agent.isAlive()).as("the agent survives SIGHUP").isTrue();
        assertThat(replica.agent.pid()).isEqualTo(agentPid);
        assertThat(cluster.status(replica, "/replica")).isEqualTo(200);
        assertThat(cluster.status(leader, "/primary")).as("no failover").isEqualTo(200);
    }

    @Test
    @Order(7)
    void postReloadReReadsTheFileToo() throws Exception {
        cluster.writeYaml(replica, Map.of("work_mem", "10MB"));
        HttpResponse<String> r = cluster.request(replica, "POST", "/reload", null);
        assertThat(r.statusCode()).isEqualTo(202);
        SideBySide.await(
                "work_mem 10MB on " + replica.name,
                () -> "10MB".equals(cluster.tryPsql(replica, "SHOW work_mem")) ? true : null);
    }

    @Test
    @Order(8)
    void inPauseHealthIsCurrentAnAgentStopLeavesPostgresRunningAndARestartedOneTakesItOver() throws Exception {
        cluster.patronictl(leader, "pause", "--wait");
        // the health endpoints answer from PostgreSQL's state now, not the last cycle's
        cluster.killPostmaster(replica);
        SideBySide.await(
                "GET /replica 503 on the replica whose postmaster was killed",
                () -> cluster.status(replica, "/replica") == 503 ? true : null);
        cluster.patronictl(leader, "restart", cluster.scope, replica.name, "--force");
        SideBySide.await(
                "the replica back after patronictl restart in pause\n" + cluster.log(replica),
                () -> cluster.status(replica, "/replica") == 200 ? true : null);
        cluster.stopAgent(leader);
        assertThat(cluster.request(replica, "GET", "/cluster", null).body().replace(" ", ""))
                .as("the leader key stays after its agent stopped in pause")
                .contains("\"name\":\"" + leader.name + "\",\"role\":\"leader\"");
        assertThat(cluster.psql(leader, "SELECT pg_is_in_recovery()"))
                .as("the primary still runs after its agent stopped in pause")
                .isEqualTo("f");
        assertThat(cluster.psql(replica, "SELECT pg_is_in_recovery()")).isEqualTo("t");
        cluster.start(leader);
        SideBySide.await(
                "the restarted agent to lead its running primary again\n" + cluster.log(leader),
                () -> cluster.status(leader, "/primary") == 200 ? true : null);
        cluster.patronictl(leader, "resume", "--wait");
        SideBySide.await(
                "the replica streaming after resume", () -> cluster.status(replica, "/replica") == 200 ? true : null);
        cluster.psql(leader, "INSERT INTO side_by_side VALUES (2)");
        SideBySide.await(
                "the new row on the replica",
                () -> "2".equals(cluster.tryPsql(replica, "SELECT count(*) FROM side_by_side")) ? true : null);
    }

    @Test
    @Order(9)
    void inPauseASwitchoverToANamedCandidateIsCarriedOutAndTheOldPrimaryFollows() throws Exception {
        cluster.patronictl(leader, "pause", "--wait");
        // patronictl 3.0.2 exits 0 and prints the API's 400
        String refused = cluster.patronictl(leader, "switchover", cluster.scope, "--force");
        assertThat(refused).contains("Switchover failed").contains("specific candidate");
        cluster.patronictl(
                leader, "switchover", cluster.scope, "--leader", leader.name, "--candidate", replica.name, "--force");
        SideBySide.await(
                "the candidate " + replica.name + " primary after a switchover in pause\n" + cluster.log(replica),
                () -> cluster.status(replica, "/primary") == 200 ? true : null);
        SideBySide.await(
                "the old primary " + leader.name + " a streaming replica of it\n" + cluster.log(leader),
                () -> cluster.status(leader, "/replica") == 200 ? true : null);
        assertThat(cluster.patronictl(leader, "list")).contains("Maintenance mode: on");
        cluster.psql(replica, "INSERT INTO side_by_side VALUES (3)");
        SideBySide.await(
                "the new row on the old primary",
                () -> "3".equals(cluster.tryPsql(leader, "SELECT count(*) FROM side_by_side")) ? true : null);
        cluster.patronictl(leader, "resume", "--wait");
        Member newLeader = replica;
        replica = leader;
        leader = newLeader;
    }

    @Test
    @Order(10)
    void inPauseAReinitializeIsCarriedOut() throws Exception {
        cluster.patronictl(leader, "pause", "--wait");
        // a file only the old data directory has: a re-created one does not
        java.nio.file.Path marker = replica.dataDir.resolve("side-by-side-reinit-marker");
        java.nio.file.Files.writeString(marker, "before reinit");
        SideBySide.chownToPostgres(marker);
        cluster.patronictl(leader, "reinit", cluster.scope, replica.name, "--force");
        SideBySide.await(
                "a re-created data directory on " + replica.name + ", streaming again\n" + cluster.log(replica),
                () -> !java.nio.file.Files.exists(marker) && cluster.status(replica, "/replica") == 200 ? true : null);
        cluster.psql(leader, "INSERT INTO side_by_side VALUES (4)");
        SideBySide.await(
                "the new row on the reinitialized replica",
                () -> "4".equals(cluster.tryPsql(replica, "SELECT count(*) FROM side_by_side")) ? true : null);
        assertThat(cluster.patronictl(leader, "list")).contains("Maintenance mode: on");
        cluster.patronictl(leader, "resume", "--wait");
    }

    @Test
    @Order(11)
    void sighupGivesNewCallbacksThatRunFromTheNextEvent() throws Exception {
        java.nio.file.Path home = replica.yaml.getParent();
        java.nio.file.Path calls = home.resolve("callbacks.log");
        java.nio.file.Path first = callbackScript(home, "first-callback.sh", calls);
        java.nio.file.Path second = callbackScript(home, "second-callback.sh", calls);

        reloadWith(replica, "  callbacks:\n    on_restart: " + first + "\n", "", "12MB");
        cluster.patronictl(leader, "restart", cluster.scope, replica.name, "--force");
        SideBySide.await(
                "on_restart to run " + first + "\n" + cluster.log(replica),
                () -> lines(calls).contains("first-callback.sh on_restart replica " + cluster.scope) ? true : null);

        reloadWith(replica, "  callbacks:\n    on_restart: " + second + "\n", "", "13MB");
        cluster.patronictl(leader, "restart", cluster.scope, replica.name, "--force");
        SideBySide.await(
                "on_restart to run " + second + "\n" + cluster.log(replica),
                () -> lines(calls).contains("second-callback.sh on_restart replica " + cluster.scope) ? true : null);
        assertThat(lines(calls))
                .as("the first script ran once, before the reload")
                .containsExactly(
                        "first-callback.sh on_restart replica " + cluster.scope,
                        "second-callback.sh on_restart replica " + cluster.scope);
        SideBySide.await(
                "the replica streaming after its restarts",
                () -> cluster.status(replica, "/replica") == 200 ? true : null);
    }

    @Test
    @Order(12)
    void sighupRotatesTheRestApiCredentials() throws Exception {
        assertThat(deleteRestart(replica, null))
                .as("writes open without restapi.authentication")
                .isEqualTo(404);

        reloadWith(replica, "", "  authentication:\n    username: admin\n    password: first\n", "14MB");
        SideBySide.await(
                "DELETE /restart refused without credentials after the reload\n" + cluster.log(replica),
                () -> deleteRestart(replica, null) == 401 ? true : null);
        assertThat(deleteRestart(replica, "admin:first")).isEqualTo(404);

        reloadWith(replica, "", "  authentication:\n    username: admin\n    password: second\n", "15MB");
        SideBySide.await(
                "the old password refused after the rotation\n" + cluster.log(replica),
                () -> deleteRestart(replica, "admin:first") == 401 ? true : null);
        assertThat(deleteRestart(replica, null)).isEqualTo(401);
        assertThat(deleteRestart(replica, "admin:second")).isEqualTo(404);
        assertThat(cluster.status(replica, "/replica")).as("reads stay open").isEqualTo(200);
    }

    @Test
    @Order(13)
    void sighupPublishesANewConnectAddressAsTheMembersApiUrl() throws Exception {
        String before = cluster.restapiConnectHost;
        try {
            cluster.restapiConnectHost = "localhost";
            reloadWith(replica, "", "  authentication:\n    username: admin\n    password: second\n", "16MB");
        } finally {
            cluster.restapiConnectHost = before;
        }
        String url = "\"api_url\":\"http://localhost:" + replica.restPort + "/patroni\"";
        SideBySide.await(
                "the new api_url of " + replica.name + " in GET /cluster of " + leader.name + "\n"
                        + cluster.log(replica),
                () -> body(leader, "/cluster").replace(" ", "").contains(url) ? true : null);
        assertThat(deleteRestart(replica, "admin:second")).isEqualTo(404);
    }

    /**
     * pgha only: Patroni 3.0.2 closes its REST API before it reads the new TLS files, and a
     * missing one leaves it with no API until a restart; pgha checks them first and keeps serving.
     */
    @Test
    @Order(14)
    void aRestApiChangeThatCannotBeAppliedLeavesTheRunningApiAsItWas() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                implementation() == SideBySide.Implementation.PGHA,
                "Patroni 3.0.2 stops its REST API on a reload with a missing certfile");
        java.nio.file.Path missing = replica.yaml.resolveSibling("missing-cert.pem");
        int logged = count(agentLog(replica), "restapi not reloaded");

        rewrite(
                replica,
                "",
                "  authentication:\n    username: admin\n    password: third\n  certfile: " + missing + "\n",
                "17MB");
        String refusal = SideBySide.await(
                "the refused reload in the log\n" + cluster.log(replica),
                () -> count(agentLog(replica), "restapi not reloaded") > logged ? agentLog(replica) : null);

        assertThat(refusal.substring(refusal.lastIndexOf("restapi not reloaded")))
                .contains("missing-cert.pem");
        assertThat(cluster.status(replica, "/replica"))
                .as("still answering over http")
                .isEqualTo(200);
        assertThat(deleteRestart(replica, "admin:second"))
                .as("the running credentials stay")
                .isEqualTo(404);
        assertThat(deleteRestart(replica, "admin:third")).isEqualTo(401);
        assertThat(cluster.tryPsql(replica, "SHOW work_mem"))
                .as("nothing of the refused file applied")
                .isEqualTo("16MB");
    }

    /**
     * Rewrites {@code m}'s file with {@code postgresqlExtra}, {@code restapiExtra} and
     * {@code work_mem}, sends SIGHUP, and waits until PostgreSQL runs with that work_mem (both
     * implementations apply the callbacks and the REST API settings before they reload PostgreSQL).
     */
    private void reloadWith(Member m, String postgresqlExtra, String restapiExtra, String workMem) throws Exception {
        rewrite(m, postgresqlExtra, restapiExtra, workMem);
        SideBySide.await(
                "work_mem " + workMem + " on " + m.name + " after SIGHUP\n" + cluster.log(m),
                () -> workMem.equals(cluster.tryPsql(m, "SHOW work_mem")) ? true : null);
    }

    /** Rewrites {@code m}'s file (see {@link #reloadWith}) and sends SIGHUP. */
    private void rewrite(Member m, String postgresqlExtra, String restapiExtra, String workMem) throws Exception {
        String pg = cluster.postgresqlExtra;
        String api = cluster.restapiExtra;
        try {
            cluster.postgresqlExtra = postgresqlExtra;
            cluster.restapiExtra = restapiExtra;
            cluster.writeYaml(m, Map.of("work_mem", workMem));
        } finally {
            cluster.postgresqlExtra = pg;
            cluster.restapiExtra = api;
        }
        cluster.signal(m, "HUP");
    }

    /** The member's whole agent log. */
    private static String agentLog(Member m) {
        try {
            return java.nio.file.Files.readString(m.yaml.resolveSibling("agent.log"));
        } catch (java.io.IOException e) {
            return "";
        }
    }

    private static java.nio.file.Path callbackScript(java.nio.file.Path dir, String name, java.nio.file.Path out)
            throws java.io.IOException {
        java.nio.file.Path script = dir.resolve(name);
        java.nio.file.Files.writeString(script, "#!/bin/sh\necho \"" + name + " $*\" >> '" + out + "'\n");
        java.nio.file.Files.setPosixFilePermissions(
                script, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        SideBySide.chownToPostgres(script);
        return script;
    }

    private static java.util.List<String> lines(java.nio.file.Path file) {
        try {
            return java.nio.file.Files.exists(file) ? java.nio.file.Files.readAllLines(file) : java.util.List.of();
        } catch (java.io.IOException e) {
            return java.util.List.of();
        }
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    /** {@code DELETE /restart} (a write that changes nothing: 404 when let in, none being scheduled). */
    private int deleteRestart(Member m, String credentials) {
        try {
            return cluster.request(m, "DELETE", "/restart", null, credentials).statusCode();
        } catch (java.io.IOException e) {
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    private String patroni(Member m) {
        return body(m, "/patroni");
    }

    /** The body of {@code GET path} on the member's API, "" when it does not answer. */
    private String body(Member m, String path) {
        try {
            return cluster.request(m, "GET", path, null).body();
        } catch (java.io.IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }
}
