package io.pgha.dcs.spi;

import io.pgha.dcs.DcsSettings;
import java.time.Duration;
import java.util.Map;

/**
 * The monitor behind {@link PatroniDcs#awaitChange}, for an adapter's tests that replay its
 * watch's events without a store: feed it as the {@link ChangeListener}, then ask what a waiting
 * loop would see. Thread-safe, as the monitor is.
 */
public final class ChangeMonitorProbe implements ChangeListener {
    private final ChangeMonitor monitor;

    /** The monitor of a member of cluster {@code scope} under {@code /service/}. */
    public ChangeMonitorProbe(String scope) {
        this.monitor = new ChangeMonitor(
                PatroniLayout.of(new DcsSettings(null, scope, "probe", Duration.ofSeconds(30), null, Map.of())));
    }

    @Override
    public void changed(Change change) {
        monitor.changed(change);
    }

    @Override
    public void eventsMayBeLost() {
        monitor.eventsMayBeLost();
    }

    @Override
    public void wroteAt(long revision) {
        monitor.wroteAt(revision);
    }

    @Override
    public void wroteWithoutRevision(String key) {
        monitor.wroteWithoutRevision(key);
    }

    /** One of the member's writes starts; its changes are not judged until it ends. */
    public void writeBegins() {
        monitor.writeBegins();
    }

    /** The write ends, having written at {@code revision} (0: nothing written). */
    public void writeEnds(long revision) {
        monitor.wroteAt(revision);
        monitor.writeEnds();
    }

    /** The member read the cluster at this revision. */
    public void readAt(long revision) {
        monitor.readDone(monitor.readBegins(), revision);
    }

    public boolean await(Duration timeout) throws InterruptedException {
        return monitor.await(timeout, () -> null);
    }

    public void wakeUp() {
        monitor.wakeUp();
    }

    public void close() {
        monitor.close();
    }
}
