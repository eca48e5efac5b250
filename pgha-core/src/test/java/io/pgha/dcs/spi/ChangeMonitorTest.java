package io.pgha.dcs.spi;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.dcs.DcsSettings;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The wait/wake rules every store shares, without a store: what is news for a waiting loop. */
class ChangeMonitorTest {
    private static final String P = "/service/c/";

    private final ChangeMonitor monitor = new ChangeMonitor(
            PatroniLayout.of(new DcsSettings(null, "c", "a", Duration.ofSeconds(30), null, Map.of())));

    @Test
    void theKeysThatSteerTheLoopAndMembersComingOrGoingWakeIt() throws Exception {
        for (String key : new String[] {"leader", "config", "failover", "sync", "initialize"}) {
            monitor.changed(new Change(P + key, Change.Kind.UPDATED, "x", 0));
            assertThat(await()).as(key).isTrue();
        }
        monitor.changed(new Change(P + "members/b", Change.Kind.CREATED, "{}", 0));
        assertThat(await()).as("a member comes").isTrue();
        monitor.changed(new Change(P + "members/b", Change.Kind.DELETED, null, 0));
        assertThat(await()).as("a member goes").isTrue();
    }

    @Test
    void routineRewritesAndForeignKeysDoNotWake() throws Exception {
        monitor.changed(new Change(P + "members/b", Change.Kind.UPDATED, "{}", 0));
        monitor.changed(new Change(P + "status", Change.Kind.CREATED, "{}", 0));
        monitor.changed(new Change(P + "history", Change.Kind.UPDATED, "[]", 0));
        monitor.changed(new Change(P + "failsafe", Change.Kind.DELETED, null, 0));
        monitor.changed(new Change(P + "optime/leader", Change.Kind.UPDATED, "1", 0));
        monitor.changed(new Change(P + "members", Change.Kind.CREATED, "", 0));
        monitor.changed(new Change("/service/other/leader", Change.Kind.CREATED, "x", 0));
        assertThat(await()).isFalse();
    }

    @Test
    void anOwnWriteKnownByItsRevisionDoesNotWakeButALaterForeignOneDoes() throws Exception {
        monitor.writeBegins();
        monitor.changed(new Change(P + "leader", Change.Kind.CREATED, "a", 7));
        assertThat(await()).as("not judged while the write is in flight").isFalse();
        monitor.wroteAt(7);
        monitor.writeEnds();
        assertThat(await()).isFalse();
        monitor.changed(new Change(P + "leader", Change.Kind.DELETED, null, 9));
        assertThat(await()).isTrue();
    }

    @Test
    void aKeyWrittenWithoutARevisionIsOwnUntilTheNextRead() throws Exception {
        monitor.wroteWithoutRevision(P + "config");
        monitor.changed(new Change(P + "config", Change.Kind.UPDATED, "{}", 5));
        assertThat(await()).isFalse();
        monitor.readDone(monitor.readBegins(), 0);
        monitor.changed(new Change(P + "config", Change.Kind.UPDATED, "{}", 6));
        assertThat(await()).as("another member's write after the read").isTrue();
    }

    @Test
    void aReadSeesWhatArrivedBeforeItBeganAndWhatItsRevisionCovers() throws Exception {
        monitor.changed(new Change(P + "leader", Change.Kind.CREATED, "b", 0));
        long token = monitor.readBegins();
        monitor.changed(new Change(P + "sync", Change.Kind.CREATED, "{}", 10));
        monitor.readDone(token, 10);
        assertThat(await()).as("both seen by the read").isFalse();
        monitor.changed(new Change(P + "sync", Change.Kind.UPDATED, "{}", 10));
        assertThat(await()).as("a late event at a revision already read").isFalse();

        token = monitor.readBegins();
        monitor.changed(new Change(P + "config", Change.Kind.UPDATED, "{}", 0));
        monitor.readDone(token, 0);
        assertThat(await())
                .as("arrived after the read began, no revision to tell")
                .isTrue();
    }

    @Test
    void eventsMayBeLostWakesUnlessALaterReadCaughtUp() throws Exception {
        monitor.eventsMayBeLost();
        assertThat(await()).isTrue();
        assertThat(await()).as("reported once").isFalse();
        monitor.eventsMayBeLost();
        monitor.readDone(monitor.readBegins(), 0);
        assertThat(await()).isFalse();
    }

    @Test
    void aWakeUpIsNotLostAndCloseEndsWaits() throws Exception {
        monitor.wakeUp();
        assertThat(await()).isTrue();
        assertThat(await()).isFalse();
        monitor.close();
        long t0 = System.nanoTime();
        assertThat(monitor.await(Duration.ofSeconds(30), () -> null)).isFalse();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void theStoreIsAskedBeforeEachSliceOfTheWait() throws Exception {
        int[] calls = {0};
        long t0 = System.nanoTime();
        boolean woken = monitor.await(Duration.ofSeconds(30), () -> {
            if (++calls[0] == 3) {
                monitor.changed(new Change(P + "leader", Change.Kind.DELETED, null, 0));
            }
            return Duration.ofMillis(20);
        });
        assertThat(woken).isTrue();
        assertThat(calls[0]).isEqualTo(3);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
    }

    private boolean await() throws InterruptedException {
        return monitor.await(Duration.ofMillis(50), () -> null);
    }
}
