package io.pgha.examples;

import io.pgha.dcs.Dcs;
import io.pgha.ha.NodeControl;
import io.pgha.ha.NodeState;
import io.pgha.ha.RestartRequest;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A node as the REST API sees it, with the runner's status sections (e.g. {@code "backup"}) added
 * through {@link NodeControl#extensions()}, and a step before each reload; everything else goes to
 * the node itself. Thread-safe
 * when the node and the supplier are.
 */
final class ExtendedNode implements NodeControl {
    private final NodeControl node;
    private final Supplier<Map<String, Map<String, Object>>> extensions;
    private final Runnable beforeReload;

    ExtendedNode(NodeControl node, Supplier<Map<String, Map<String, Object>>> extensions) {
        this(node, extensions, () -> {});
    }

    /** With {@code beforeReload} run before every reload (the runner re-reads its file there). */
    ExtendedNode(NodeControl node, Supplier<Map<String, Map<String, Object>>> extensions, Runnable beforeReload) {
        this.node = node;
        this.extensions = extensions;
        this.beforeReload = beforeReload;
    }

    @Override
    public NodeState state() {
        return node.state();
    }

    @Override
    public NodeState currentState() {
        return node.currentState();
    }

    @Override
    public Dcs dcs() {
        return node.dcs();
    }

    @Override
    public void wakeUp() {
        node.wakeUp();
    }

    @Override
    public boolean restart(RestartRequest request) throws InterruptedException {
        return node.restart(request);
    }

    @Override
    public boolean cancelScheduledRestart() {
        return node.cancelScheduledRestart();
    }

    @Override
    public void reinitialize(boolean force, boolean fromLeader) {
        node.reinitialize(force, fromLeader);
    }

    @Override
    public void reload() {
        beforeReload.run();
        node.reload();
    }

    @Override
    public void failsafeHeartbeat(Map<String, Object> leader) {
        node.failsafeHeartbeat(leader);
    }

    @Override
    public boolean watchdogFailed() {
        return node.watchdogFailed();
    }

    @Override
    public Map<String, Map<String, Object>> extensions() {
        return extensions.get();
    }
}
