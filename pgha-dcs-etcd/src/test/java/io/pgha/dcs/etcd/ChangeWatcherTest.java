package io.pgha.dcs.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.WatchResponse;
import io.pgha.dcs.spi.ChangeMonitorProbe;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Which watch events wake {@code awaitChange}, replayed without an etcd (the watch itself is never
 * started): the watcher's events go to the monitor {@code PatroniDcs} waits on.
 */
class ChangeWatcherTest {
    private static final String PREFIX = "/service/c/";

    private final EtcdConnection connection = new EtcdConnection(
            new EtcdOptions(List.of(URI.create("http://127.0.0.1:1")), false, null, null, null, null, null),
            Duration.ofSeconds(1));
    private final ChangeMonitorProbe monitor = new ChangeMonitorProbe("c");
    private final ChangeWatcher watcher = new ChangeWatcher(connection, EtcdStore.bytes(PREFIX), monitor, "test-watch");
    private final Watch.Listener events = watcher.newListener();

    @AfterEach
    void close() {
        watcher.close();
        monitor.close();
        connection.close();
    }

    @Test
    void aForeignChangeOfTheLeaderKeyWakes() throws Exception {
        events.onNext(event("leader", 10));
        assertThat(await()).isTrue();
        assertThat(await()).as("reported once").isFalse();
    }

    @Test
    void memberStatusAndHistoryKeysDoNotWake() throws Exception {
        events.onNext(event("members/b", 10));
        events.onNext(event("status", 11));
        events.onNext(event("history", 12));
        events.onNext(event("failsafe", 13));
        assertThat(await()).isFalse();
        long revision = 20;
        for (String key : List.of("config", "failover", "sync", "initialize")) {
            events.onNext(event(key, revision++));
            assertThat(await()).as(key).isTrue();
        }
    }

    @Test
    void anOwnWriteWhoseEventArrivesBeforeItsResponseDoesNotWake() throws Exception {
        monitor.writeBegins();
        events.onNext(event("leader", 10)); // the watch is faster than the txn response
        assertThat(await())
                .as("judged only once the write reports its revision")
                .isFalse();
        monitor.writeEnds(10);
        assertThat(await()).isFalse();
        events.onNext(event("leader", 11));
        assertThat(await()).as("someone else's write").isTrue();
    }

    @Test
    void eventsOlderThanTheLastReadAreNoNews() throws Exception {
        events.onNext(event("leader", 10));
        monitor.readAt(10);
        assertThat(await()).isFalse();
        events.onNext(event("leader", 11));
        assertThat(await()).isTrue();
    }

    @Test
    void wakeUpWakesOnceEvenWithNothingChanged() throws Exception {
        monitor.wakeUp();
        assertThat(await()).isTrue();
        assertThat(await()).isFalse();
    }

    @Test
    void aWaiterIsWokenByAnEventArrivingWhileItWaits() throws Exception {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                return;
            }
            events.onNext(event("leader", 10));
        });
        t.start();
        long t0 = System.nanoTime();
        assertThat(monitor.await(Duration.ofSeconds(30))).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(20));
        t.join();
    }

    private boolean await() throws InterruptedException {
        return monitor.await(Duration.ofMillis(100));
    }

    private static io.etcd.jetcd.watch.WatchResponse event(String rel, long revision) {
        KeyValue kv = KeyValue.newBuilder()
                .setKey(ByteString.copyFrom(PREFIX + rel, StandardCharsets.UTF_8))
                .setModRevision(revision)
                .build();
        return new io.etcd.jetcd.watch.WatchResponse(WatchResponse.newBuilder()
                .addEvents(Event.newBuilder()
                        .setType(Event.EventType.PUT)
                        .setKv(kv)
                        .build())
                .build());
    }
}
