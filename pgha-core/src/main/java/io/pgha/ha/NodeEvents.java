package io.pgha.ha;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers {@link HaListener} events, each on the event executor so that a slow or failing
 * listener never holds up the HA loop, and works out the events that follow from one cycle to the
 * next (leader changed, failover happened, role changed).
 *
 * <p>Thread-safe for {@link #add}, {@link #remove} and {@link #fire} (any thread); {@link
 * #cyclePublished} is called by the loop thread only, which owns the change-tracking fields.
 */
final class NodeEvents {
    private static final Logger LOG = LoggerFactory.getLogger(NodeEvents.class);

    private final String name;
    private final Executor executor;
    private final List<HaListener> listeners = new CopyOnWriteArrayList<>();
    // guarded by this: the loop thread publishes cycles, the action thread a promotion
    private String lastRole = "uninitialized";
    private String lastKnownLeader;

    NodeEvents(String name, Executor executor, List<HaListener> initial) {
        this.name = name;
        this.executor = executor;
        this.listeners.addAll(initial);
    }

    void add(HaListener listener) {
        listeners.add(Objects.requireNonNull(listener));
    }

    void remove(HaListener listener) {
        listeners.remove(listener);
    }

    /** Calls {@code event} on every listener, on the event executor; a failing listener is logged. */
    void fire(Consumer<HaListener> event) {
        for (HaListener l : listeners) {
            executor.execute(() -> {
                try {
                    event.accept(l);
                } catch (RuntimeException e) {
                    LOG.warn("[{}] listener {} failed", name, l, e);
                }
            });
        }
    }

    /**
     * The loop published a cycle: fires {@code leaderChanged} (and {@code failoverHappened} when a
     * known leader was replaced) when the leader key changed, and {@code roleChanged} when the local
     * role did.
     *
     * @param dcsRead whether this cycle read the DCS (a leader change is only known then)
     * @param oldLeader the leader before this cycle (null: none)
     * @param newLeader the leader now (null: none)
     * @param role the local role for listeners: primary, replica, stopped or uninitialized
     */
    synchronized void cyclePublished(boolean dcsRead, String oldLeader, String newLeader, String role) {
        if (dcsRead && !Objects.equals(oldLeader, newLeader)) {
            fire(l -> l.leaderChanged(oldLeader, newLeader));
            if (newLeader != null) {
                String before = lastKnownLeader;
                if (before != null && !before.equals(newLeader)) {
                    fire(l -> l.failoverHappened(before, newLeader));
                }
                lastKnownLeader = newLeader;
            }
        }
        roleIs(role);
    }

    /**
     * The local role changes now, ahead of the cycle that publishes it: a promotion, as Patroni runs
     * {@code on_role_change} as soon as it has asked PostgreSQL to promote (Patroni's acceptance
     * feature reads the callback's file right after the server answers as a primary). Fires
     * {@code roleChanged} once: the cycle that publishes the same role fires nothing more.
     */
    synchronized void roleIs(String role) {
        if (!Objects.equals(lastRole, role)) {
            String from = lastRole;
            lastRole = role;
            fire(l -> l.roleChanged(from, role));
        }
    }
}
