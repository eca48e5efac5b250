package io.pgha.postgres.local;

import static io.pgha.postgres.local.PgTestSupport.await;
import static io.pgha.postgres.local.PgTestSupport.column;
import static io.pgha.postgres.local.PgTestSupport.exec;
import static io.pgha.postgres.local.PgTestSupport.member;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.dcs.Member;
import io.pgha.postgres.FenceResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The candidate-side fence ({@link FormerPrimaryFence}) on two real PostgreSQL servers: a primary
 * "old" with a client committing all the time, and its streaming replica "cand", the candidate
 * that fences it. After the fence the old primary still runs, acknowledges no commit (a commit
 * started afterwards waits until cancelled), has lost its clients, and its postgresql.auto.conf is
 * as it was; a replica is left alone; an address where nothing listens is reported unreachable.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FormerPrimaryFenceIT {
    private static final Duration T = Duration.ofMinutes(2);
    /** How long a commit after the fence is watched for not returning. */
    private static final Duration NO_ACK_FOR = Duration.ofSeconds(4);

    private Path base;
    private LocalPostgresController old;
    private LocalPostgresController cand;
    private final List<LocalPostgresController> all = new ArrayList<>();

    @BeforeAll
    void setUp() throws Exception {
        PgTestSupport.assumePostgres();
        base = PgTestSupport.baseDir("pgha-fence-it-");
        old = open(PgTestSupport.config("old", base).build());
        cand = open(PgTestSupport.config("cand", base).build());
        old.bootstrap();
        exec(old.config(), "CREATE TABLE t (id bigserial primary key, at timestamptz default now())");
        old.changeReplicationSlots(
                io.pgha.postgres.SlotChanges.physicalSlotsFor("cand")); // the replica streams through its slot
        cand.cloneFrom(member(old.config()));
        cand.start(member(old.config()), T);
        await("cand to stream from old", T, () -> cand.status().isStreaming());
    }

    private LocalPostgresController open(LocalPostgresConfig cfg) throws Exception {
        LocalPostgresController ctl = new LocalPostgresController(cfg);
        all.add(ctl);
        return ctl;
    }

    @AfterAll
    void tearDown() throws Exception {
        for (LocalPostgresController ctl : all) {
            ctl.close();
            PgTestSupport.deleteTree(ctl.runtimeDir());
        }
        if (base != null) {
            PgTestSupport.deleteTree(base);
        }
    }

    @Test
    @Order(1)
    void aReplicaIsLeftAlone() throws Exception {
        FenceResult r = old.fenceFormerPrimary(member(cand.config()), "old");

        assertThat(r.outcome()).as(r.detail()).isEqualTo(FenceResult.Outcome.NOT_A_PRIMARY);
        assertThat(column(cand.config(), "SHOW synchronous_standby_names")).containsExactly("");
        assertThat(autoConf(cand)).doesNotContain("synchronous_standby_names");
        assertThat(cand.status().isStreaming()).isTrue();
    }

    @Test
    @Order(2)
    void aPrimaryOfAnotherClusterIsLeftAlone() throws Exception {
        // the former leader's remembered address may belong to another cluster's server by now
        LocalPostgresController other = open(PgTestSupport.config("other", base).build());
        other.bootstrap();
        FenceResult r = cand.fenceFormerPrimary(member(other.config()), "cand");

        assertThat(r.outcome()).as(r.detail()).isEqualTo(FenceResult.Outcome.NOT_A_PRIMARY);
        assertThat(r.detail()).contains("belongs to another cluster");
        assertThat(column(other.config(), "SHOW synchronous_standby_names")).containsExactly("");
        other.stop(io.pgha.postgres.StopMode.FAST, false, T);
    }

    @Test
    @Order(2)
    void nothingListeningIsUnreachable() throws Exception {
        Member gone = new Member(
                "gone", 0, Map.of("conn_url", "postgres://127.0.0.1:" + PgTestSupport.freePort() + "/postgres"));
        long started = System.nanoTime();

        FenceResult r = cand.fenceFormerPrimary(gone, "cand");

        assertThat(r.outcome()).as(r.detail()).isEqualTo(FenceResult.Outcome.UNREACHABLE);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
        assertThat(cand.fenceFormerPrimary(new Member("no-url", 0, Map.of()), "cand")
                        .outcome())
                .isEqualTo(FenceResult.Outcome.UNREACHABLE);
    }

    @Test
    @Order(3)
    void aPrimaryStopsAcknowledgingCommitsAndKeepsNothingOnDisk() throws Exception {
        // a value postgresql.auto.conf already holds (not in effect: not reloaded) must be put back
        exec(old.config(), "ALTER SYSTEM SET synchronous_standby_names = 'kept_by_the_operator'");
        AtomicLong acknowledged = new AtomicLong();
        AtomicBoolean writing = new AtomicBoolean(true);
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> writeUntilStopped(acknowledged, writing));
        await("the client to commit", T, () -> acknowledged.get() > 20);
        Connection before = PgTestSupport.connect(old.config());

        FenceResult r = cand.fenceFormerPrimary(member(old.config()), "cand");

        assertThat(r.outcome()).as(r.detail()).isEqualTo(FenceResult.Outcome.FENCED);
        assertThat(r.detail()).contains("pgha_fenced_by_cand").contains("client backend(s) terminated");
        // the candidate streams from it: it received every commit acknowledged before the fence
        assertThat(r.detail()).contains("received its WAL up to").doesNotContain("may be lost");
        // a commit waiting when the fence came is broken off with its session; give it a moment
        Thread.sleep(300);
        long ackedAfterFence = acknowledged.get();
        try (Connection c = PgTestSupport.connect(old.config());
                Statement st = c.createStatement()) {
            CompletableFuture<SQLWarning> commit = CompletableFuture.supplyAsync(() -> {
                try {
                    st.executeUpdate("INSERT INTO t DEFAULT VALUES");
                    return st.getWarnings();
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(NO_ACK_FOR.toMillis());
            assertThat(commit)
                    .as("a commit started after the fence must not return")
                    .isNotDone();
            assertThat(acknowledged.get())
                    .as("no commit of the client acknowledged after the fence")
                    .isEqualTo(ackedAfterFence);
            assertThat(old.status().isPrimary())
                    .as("the old primary still runs")
                    .isTrue();
            assertThat(column(old.config(), "SHOW synchronous_standby_names")).containsExactly("pgha_fenced_by_cand");

            st.cancel();
            // PostgreSQL reports a commit whose wait for a standby was cancelled with a warning: it
            // was written locally, and never replicated
            SQLWarning warning = commit.get(30, TimeUnit.SECONDS);
            assertThat(warning != null).as("a warning on the cancelled commit").isTrue();
            assertThat(warning.getMessage()).contains("synchronous replication");
        } finally {
            writing.set(false);
        }
        // the session open before the fence was terminated
        try (before;
                Statement st = before.createStatement()) {
            assertThatThrownBy(() -> st.execute("SELECT 1")).isInstanceOf(SQLException.class);
        }
        // nothing persistent left behind: postgresql.auto.conf holds the operator's value again
        String auto = autoConf(old);
        assertThat(auto).contains("kept_by_the_operator").doesNotContain("pgha_fenced");
        // stop the writer, which waits in a commit: end its session
        exec(
                old.config(),
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        + " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
        writer.get(30, TimeUnit.SECONDS);
    }

    @Test
    @Order(4)
    void withoutAValueOfItsOwnPostgresqlAutoConfIsResetAndARestartForgetsTheFence() throws Exception {
        exec(old.config(), "ALTER SYSTEM RESET synchronous_standby_names");

        FenceResult r = cand.fenceFormerPrimary(member(old.config()), "cand");

        assertThat(r.outcome()).as(r.detail()).isEqualTo(FenceResult.Outcome.FENCED);
        assertThat(autoConf(old)).doesNotContain("synchronous_standby_names");
        old.restart(T);
        assertThat(column(old.config(), "SHOW synchronous_standby_names")).containsExactly("");
        exec(old.config(), "INSERT INTO t DEFAULT VALUES"); // returns: nothing fences it any more
    }

    /** Commits one row at a time on the old primary, reconnecting after an error, until told to stop. */
    private void writeUntilStopped(AtomicLong acknowledged, AtomicBoolean writing) {
        while (writing.get()) {
            try (Connection c = PgTestSupport.connect(old.config());
                    Statement st = c.createStatement()) {
                while (writing.get()) {
                    st.executeUpdate("INSERT INTO t DEFAULT VALUES");
                    if (st.getWarnings() == null) {
                        acknowledged.incrementAndGet();
                    }
                    st.clearWarnings();
                }
            } catch (SQLException e) {
                sleep(50);
            }
        }
    }

    private static String autoConf(LocalPostgresController pg) throws Exception {
        return Files.readString(pg.config().dataDir().resolve("postgresql.auto.conf"));
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
