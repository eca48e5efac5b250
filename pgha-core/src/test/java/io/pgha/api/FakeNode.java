package io.pgha.api;

import io.pgha.dcs.Dcs;
import io.pgha.ha.NodeControl;
import io.pgha.ha.NodeState;
import io.pgha.ha.RestartRequest;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/** A NodeControl whose state the test sets, recording what the REST API asked of it. */
final class FakeNode implements NodeControl {
    volatile NodeState state;
    final Dcs dcs;
    final AtomicInteger wakeUps = new AtomicInteger();
    final AtomicInteger reloads = new AtomicInteger();
    final List<RestartRequest> restarts = new CopyOnWriteArrayList<>();
    final List<Map<String, Object>> failsafeHeartbeats = new CopyOnWriteArrayList<>();
    final List<String> reinits = new CopyOnWriteArrayList<>();
    volatile boolean restartResult = true;
    volatile Runnable onWakeUp = () -> {};
    volatile Map<String, Map<String, Object>> extensions = Map.of();
    volatile boolean watchdogFailed;
    /** Thrown by {@link #extensions()} (so by every view) when set: an unexpected failure inside the node. */
    volatile RuntimeException viewFailure;
    /** How long {@link #reload()} takes. */
    volatile long reloadMillis;

    FakeNode(NodeState state, Dcs dcs) {
        this.state = state;
        this.dcs = dcs;
    }

    void update(UnaryOperator<NodeState> change) {
        state = change.apply(state);
    }

    @Override
    public NodeState state() {
        return state;
    }

    @Override
    public Dcs dcs() {
        return dcs;
    }

    @Override
    public boolean watchdogFailed() {
        return watchdogFailed;
    }

    @Override
    public void wakeUp() {
        wakeUps.incrementAndGet();
        onWakeUp.run();
    }

    @Override
    public synchronized boolean restart(RestartRequest request) {
        if (request.schedule() != null) {
            if (state.scheduledRestart() != null) {
                throw new IllegalStateException("a restart is already scheduled");
            }
            state = States.with(state, request);
            restarts.add(request);
            return true;
        }
        restarts.add(request);
        return restartResult;
    }

    @Override
    public synchronized boolean cancelScheduledRestart() {
        if (state.scheduledRestart() == null) {
            return false;
        }
        state = States.with(state, (RestartRequest) null);
        return true;
    }

    @Override
    public void reinitialize(boolean force, boolean fromLeader) {
        if (state.holdsLock()) {
            throw new IllegalStateException("I am the leader, can not reinitialize");
        }
        reinits.add("force=" + force + ",from_leader=" + fromLeader);
    }

    @Override
    public void reload() {
        if (reloadMillis > 0) {
            try {
                Thread.sleep(reloadMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        reloads.incrementAndGet();
    }

    @Override
    public void failsafeHeartbeat(Map<String, Object> leader) {
        failsafeHeartbeats.add(leader);
    }

    @Override
    public Map<String, Map<String, Object>> extensions() {
        if (viewFailure != null) {
            throw viewFailure;
        }
        return extensions;
    }
}
