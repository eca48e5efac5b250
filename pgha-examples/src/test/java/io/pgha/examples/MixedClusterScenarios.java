package io.pgha.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.examples.SideBySide.Implementation;
import io.pgha.examples.SideBySide.Member;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A rolling migration's cluster: Patroni 3.0.2 members and pgha members in one cluster, from the
 * same kind of file, on one DCS. The first member bootstraps; the others clone from it whatever
 * runs them; a switchover goes from one implementation to the other and back; a crash of the
 * leader's agent and PostgreSQL fails over from one implementation to the other and back (the
 * member that must win is the only one without {@code nofailover}); the crashed member rejoins as
 * a replica of the other implementation's leader. Throughout, {@code patronictl list} and
 * {@code pgha ctl list} name the same leader and roles, and every write acknowledged before a
 * switchover, or replicated to every member before a crash, is on the new leader.
 *
 * <p>Member 0 bootstraps and is then tagged {@code nofailover} (by a reload of its file), so that
 * the failovers are decided between members 1 and 2, which subclasses give different
 * implementations.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class MixedClusterScenarios {

    private SideBySide cluster;
    private Member m0;
    private Member m1;
    private Member m2;
    private final List<Integer> acknowledged = new ArrayList<>();
    private int next = 1;

    /** What runs members 0, 1 and 2. */
    abstract List<Implementation> implementations();

    abstract String dcs();

    @BeforeAll
    void startCluster() throws Exception {
        for (Implementation i : implementations()) {
            SideBySide.assumeMachine(i);
        }
        cluster = SideBySide.create(implementations(), dcs(), Map.of());
        m0 = cluster.members.get(0);
        m1 = cluster.members.get(1);
        m2 = cluster.members.get(2);
        cluster.start(m0);
        Member leader = cluster.awaitLeader();
        assertThat(leader.name).isEqualTo(m0.name);
        cluster.psql(m0, "CREATE TABLE mixed(id int primary key)");
        cluster.start(m1);
        cluster.start(m2);
    }

    @AfterAll
    void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Order(1)
    void everyMemberClonesFromTheLeaderWhateverRunsItAndBothToolsAgree() throws Exception {
        awaitStreaming(m1);
        awaitStreaming(m2);
        write(m0, 3);
        awaitAllOn(m1);
        awaitAllOn(m2);
        assertToolsAgree(m0);
        // from now on member 0 may not lead (a member tagged nofailover does not bootstrap either)
        cluster.writeYaml(m0, Map.of(), Map.of("nofailover", "true"));
        assertThat(cluster.request(m0, "POST", "/reload", null).statusCode()).isEqualTo(202);
        SideBySide.await(
                "nofailover in member 0's GET /patroni",
                () -> patroni(m0).replace(" ", "").contains("\"nofailover\":true") ? true : null);
    }

    @Test
    @Order(2)
    void aSwitchoverWithPatronictlToMember2LosesNothingAndTheOthersFollow() throws Exception {
        write(m0, 3);
        cluster.patronictl(m0, "switchover", cluster.scope, "--leader", m0.name, "--candidate", m2.name, "--force");
        awaitPrimary(m2);
        write(m2, 3);
        awaitStreaming(m0);
        awaitStreaming(m1);
        awaitAllOn(m0);
        awaitAllOn(m1);
        assertToolsAgree(m2);
    }

    @Test
    @Order(3)
    void aSwitchoverWithPghaCtlToMember1LosesNothingAndTheOthersFollow() throws Exception {
        write(m2, 3);
        cluster.pghaCtl(m2, "switchover", cluster.scope, "--leader", m2.name, "--candidate", m1.name, "--force");
        awaitPrimary(m1);
        write(m1, 3);
        awaitStreaming(m0);
        awaitStreaming(m2);
        awaitAllOn(m0);
        awaitAllOn(m2);
        assertToolsAgree(m1);
    }

    @Test
    @Order(4)
    void aCrashOfMember1FailsOverToMember2AndMember1RejoinsAsItsReplica() throws Exception {
        write(m1, 3);
        awaitAllOn(m0);
        awaitAllOn(m2);
        crash(m1);
        awaitPrimary(m2);
        awaitAllOn(m2);
        write(m2, 2);
        cluster.start(m1);
        awaitStreaming(m1);
        awaitAllOn(m1);
        awaitStreaming(m0);
        assertToolsAgree(m2);
    }

    @Test
    @Order(5)
    void aCrashOfMember2FailsOverToMember1AndMember2RejoinsAsItsReplica() throws Exception {
        write(m2, 3);
        awaitAllOn(m0);
        awaitAllOn(m1);
        crash(m2);
        awaitPrimary(m1);
        awaitAllOn(m1);
        write(m1, 2);
        cluster.start(m2);
        awaitStreaming(m2);
        awaitAllOn(m2);
        awaitStreaming(m0);
        assertToolsAgree(m1);
    }

    // ---- steps ----------------------------------------------------------------------------------

    /** Writes {@code n} rows on {@code leader}, each acknowledged by psql before the next. */
    private void write(Member leader, int n) throws Exception {
        for (int i = 0; i < n; i++) {
            int id = next++;
            cluster.psql(leader, "INSERT INTO mixed VALUES (" + id + ")");
            acknowledged.add(id);
        }
    }

    /** Every acknowledged row is on {@code m}. */
    private void awaitAllOn(Member m) {
        String want = String.valueOf(acknowledged.size());
        String ids = acknowledged.stream()
                .map(String::valueOf)
                .reduce((a, b) -> a + "," + b)
                .orElse("0");
        SideBySide.await(
                "all " + want + " acknowledged rows on " + m.name + " (" + m.impl + ")\n" + cluster.log(m),
                () -> want.equals(cluster.tryPsql(m, "SELECT count(*) FROM mixed WHERE id IN (" + ids + ")"))
                        ? true
                        : null);
    }

    private void awaitPrimary(Member m) {
        SideBySide.await(
                m.name + " (" + m.impl + ") primary: GET /primary 200 and writable\n" + cluster.log(m),
                () -> cluster.status(m, "/primary") == 200
                                && "f".equals(cluster.tryPsql(m, "SELECT pg_is_in_recovery()"))
                        ? true
                        : null);
    }

    private void awaitStreaming(Member m) {
        SideBySide.await(
                m.name + " (" + m.impl + ") a streaming replica: GET /replica 200\n" + cluster.log(m),
                () -> cluster.status(m, "/replica") == 200
                                && "streaming".equals(cluster.tryPsql(m, "SELECT status FROM pg_stat_wal_receiver"))
                        ? true
                        : null);
    }

    /** SIGKILL to the agent's process group and to the postmaster: the member dies at once. */
    private void crash(Member m) throws Exception {
        long postmaster = Long.parseLong(
                Files.readAllLines(m.dataDir.resolve("postmaster.pid")).get(0).strip());
        cluster.killAgent(m);
        ProcessHandle.of(postmaster).ifPresent(ProcessHandle::destroyForcibly);
    }

    /** {@code patronictl list} and {@code pgha ctl list} show the same members, leader and roles. */
    private void assertToolsAgree(Member leader) throws Exception {
        SideBySide.await("patronictl list and pgha ctl list to agree, with " + leader.name + " the leader", () -> {
            try {
                Map<String, String> patroni = roles(cluster.patronictl(m0, "list"));
                Map<String, String> pgha = roles(cluster.pghaCtl(m0, "list"));
                return patroni.size() == 3
                                && patroni.equals(pgha)
                                && "Leader".equals(patroni.get(leader.name))
                                && patroni.values().stream()
                                                .filter("Replica"::equals)
                                                .count()
                                        == 2
                        ? true
                        : null;
            } catch (Exception e) {
                return null;
            }
        });
    }

    private String patroni(Member m) {
        try {
            return cluster.request(m, "GET", "/patroni", null).body();
        } catch (java.io.IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    /** Member name to role from a {@code list} table ({@code | name | host | role | state | ...}). */
    static Map<String, String> roles(String table) {
        Map<String, String> roles = new TreeMap<>();
        for (String line : table.split("\n")) {
            String[] cells = line.split("\\|");
            if (cells.length > 4 && cells[1].strip().startsWith("postgresql")) {
                roles.put(cells[1].strip(), cells[3].strip());
            }
        }
        return roles;
    }
}
