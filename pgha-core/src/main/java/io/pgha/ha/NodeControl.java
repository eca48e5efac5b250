package io.pgha.ha;

import io.pgha.dcs.Dcs;
import java.util.Map;

/**
 * The operator's handle on a running node: what the REST API and embedders use to look at it and
 * to ask it for something. {@link HaNode} implements it. Requests are carried out by the HA loop;
 * the methods only record them and wake the loop.
 */
public interface NodeControl {

    /** The state after the last HA cycle. */
    NodeState state();

    /**
     * The state after the last HA cycle with PostgreSQL's status and the lock read now: what the health
     * endpoints answer from, as Patroni's do (a PostgreSQL killed since the cycle is not reported
     * running). May block as long as a status query; null before the first cycle. The default is
     * {@link #state()}.
     */
    default NodeState currentState() {
        return state();
    }

    /** This node's DCS handle (for config and failover writes). */
    Dcs dcs();

    /** Runs the HA loop now instead of at the end of loop_wait. */
    void wakeUp();

    /**
     * Restarts PostgreSQL now (blocking until done, returning whether it succeeded) or records a
     * scheduled restart (returning true at once).
     *
     * @throws IllegalStateException when a restart is already scheduled, or in the paused state for a
     *     scheduled one, or (an immediate one) when it has not finished within a bound and goes on: the
     *     message says so, and the REST API answers it with 503
     */
    boolean restart(RestartRequest request) throws InterruptedException;

    /** Cancels a scheduled restart; false when none was scheduled. */
    boolean cancelScheduledRestart();

    /**
     * Re-creates this replica's data directory from the leader (or a replica with {@code fromLeader = false}).
     *
     * @throws IllegalStateException when this node holds the lock ("I am the leader, can not reinitialize")
     */
    void reinitialize(boolean force, boolean fromLeader);

    /** Re-reads the node's configuration and reloads PostgreSQL. */
    void reload();

    /**
     * The leader's {@code POST /failsafe} reached this replica while failsafe mode is on: the
     * leader (its {@code name}, {@code conn_url}, {@code api_url}, {@code slots}) is alive, so this
     * node must not race for the lock while the DCS is unreachable. Called on a REST API thread;
     * must not block. The default ignores it.
     */
    default void failsafeHeartbeat(Map<String, Object> leader) {}

    /**
     * Patroni's {@code watchdog_failed}: a watchdog is required ({@code watchdog.mode: required}) but
     * not usable, so this node will not take the leader lock. Shown by {@code GET /patroni}; read by
     * a switchover's candidate check. The default: false.
     */
    default boolean watchdogFailed() {
        return false;
    }

    /**
     * What an embedder adds to this node's status, by section name (e.g. {@code "backup" -> {...}}):
     * each section appears as a top-level key of {@code GET /patroni}, and its numeric entries as
     * {@code pgha_<section>_<key>} gauges in {@code /metrics}. Called on a REST API thread for
     * every such request: must be cheap and must not block. The default adds nothing.
     */
    default Map<String, Map<String, Object>> extensions() {
        return Map.of();
    }
}
