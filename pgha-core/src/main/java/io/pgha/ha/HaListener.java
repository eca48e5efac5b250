package io.pgha.ha;

/**
 * Events for embedders. Every method has an empty default, so implement only what you act on.
 *
 * <p>Callbacks run on the node's event thread, never on the HA loop's, in the order the events
 * happened: a slow listener delays other listeners, never a lock renewal. An exception thrown by a
 * listener is logged and otherwise ignored.
 *
 * <p>Roles are {@code primary}, {@code replica}, {@code stopped} (PostgreSQL not running) and
 * {@code uninitialized} (no data directory yet).
 */
public interface HaListener {

    /** This node's role changed. */
    default void roleChanged(String from, String to) {}

    /** The cluster's leader changed (null: no leader at the moment). */
    default void leaderChanged(String from, String to) {}

    /**
     * A new member leads the cluster in place of {@code previousLeader} (a failover or a
     * switchover). Fired once, when the new leader is first seen.
     */
    default void failoverHappened(String previousLeader, String newLeader) {}

    /**
     * This node is about to stop its primary (switchover, lost lock, DCS outage): the moment to
     * drain the application's connections. PostgreSQL stops right after; the call is not awaited.
     */
    default void aboutToDemote(String reason) {}

    /**
     * Before promoting this node, the HA loop made the former primary's PostgreSQL, still answering
     * as a primary after its lock lapsed, stop acknowledging commits (the candidate-side fence,
     * docs/safety.md): its agent or its own fence had not stopped it.
     */
    default void formerPrimaryFenced(String formerPrimary) {}

    /** PostgreSQL was started (Patroni's on_start), in {@code role}. */
    default void postgresStarted(String role) {}

    /** PostgreSQL was stopped (on_stop). */
    default void postgresStopped(String role) {}

    /** PostgreSQL was restarted (on_restart). */
    default void postgresRestarted(String role) {}

    /** PostgreSQL's configuration was reloaded (on_reload). */
    default void postgresReloaded(String role) {}

    /** The node stopped (closed). */
    default void nodeStopped() {}
}
