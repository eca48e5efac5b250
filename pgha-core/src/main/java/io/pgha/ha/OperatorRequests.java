package io.pgha.ha;

import io.pgha.dcs.Dcs;
import io.pgha.postgres.PostgresController;
import io.pgha.postgres.PostgresException;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What operators ask a node for through the REST API or an embedder: a restart (now or scheduled),
 * a reinitialization, a reload. Requests are recorded here and carried out by the loop (the engine
 * decides whether a request applies); only an immediate restart runs at once, on the action thread,
 * and is waited for.
 *
 * <p>Thread-safe: REST API threads record requests, the loop thread takes them.
 */
final class OperatorRequests {
    private static final Logger LOG = LoggerFactory.getLogger(OperatorRequests.class);
    /** The longest an operator's restart call waits for the outcome (Patroni's 120 s default timeout and 10 s). */
    static final Duration MAX_RESTART_WAIT = Duration.ofSeconds(130);

    private final String name;
    private final PostgresController postgres;
    private final Dcs dcs;
    private final NodeEvents events;
    private final AtomicReference<RestartRequest> scheduledRestart = new AtomicReference<>();
    private volatile boolean reinitializeRequested;

    OperatorRequests(String name, PostgresController postgres, Dcs dcs, NodeEvents events) {
        this.name = name;
        this.postgres = postgres;
        this.dcs = dcs;
        this.events = events;
    }

    /** The scheduled restart not yet due, or null. */
    RestartRequest scheduledRestart() {
        return scheduledRestart.get();
    }

    boolean reinitializeRequested() {
        return reinitializeRequested;
    }

    /** The loop started the reinitialization. */
    void reinitializeStarted() {
        reinitializeRequested = false;
    }

    /**
     * The loop thread, at the start of a cycle: takes the scheduled restart when it is due and tells
     * whether it applies to this member now ({@link HaEngine#restartApplies}); one that does not is
     * dropped, as in Patroni.
     */
    boolean takeDueRestart(Instant now) {
        RestartRequest r = scheduledRestart.get();
        if (r != null
                && r.schedule() != null
                && !now.isBefore(r.schedule())
                && scheduledRestart.compareAndSet(r, null)) {
            return HaEngine.restartApplies(r, postgres.status());
        }
        return false;
    }

    /**
     * Records a scheduled restart (true at once), or restarts now and waits for it, returning whether
     * it succeeded (false too when the request does not apply to this member).
     *
     * @param paused whether the cluster is paused (a scheduled restart is refused then)
     */
    boolean restart(RestartRequest request, boolean paused, ActionRunner runner) throws InterruptedException {
        if (request.schedule() != null) {
            if (paused) {
                throw new IllegalStateException("Can't schedule restart in the paused state");
            }
            if (!scheduledRestart.compareAndSet(null, request)) {
                throw new IllegalStateException("Another restart is already scheduled");
            }
            return true;
        }
        if (!HaEngine.restartApplies(request, postgres.status())) {
            return false;
        }
        Duration timeout = request.timeout() == null ? PostgresActions.PG_TIMEOUT : request.timeout();
        // the caller (an API thread) waits at most MAX_RESTART_WAIT; the restart itself goes on
        Duration wait =
                timeout.plusSeconds(10).compareTo(MAX_RESTART_WAIT) < 0 ? timeout.plusSeconds(10) : MAX_RESTART_WAIT;
        try {
            return runner.restartNow(timeout).get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            LOG.warn("[{}] restart not finished within {} s; it goes on", name, wait.toSeconds());
            throw new IllegalStateException("restart not finished within " + wait.toSeconds()
                    + " s; it is still in progress (GET /patroni shows its state)");
        } catch (ExecutionException e) {
            LOG.warn("[{}] restart failed: {}", name, String.valueOf(e.getCause()));
            return false;
        }
    }

    boolean cancelScheduledRestart() {
        return scheduledRestart.getAndSet(null) != null;
    }

    /**
     * Records a reinitialization for the loop.
     *
     * @param holdsLock whether this node holds (or believes it holds) the leader lock
     */
    void reinitialize(boolean holdsLock) {
        if (holdsLock) {
            throw new IllegalStateException("I am the leader, can not reinitialize");
        }
        reinitializeRequested = true;
        dcs.wakeUp();
    }

    /** Reloads PostgreSQL's configuration and wakes the loop. */
    void reload() {
        try {
            postgres.reload();
            String r = postgres.status().isPrimary() ? "primary" : "replica";
            events.fire(l -> l.postgresReloaded(r));
        } catch (PostgresException e) {
            LOG.warn("[{}] reload failed: {}", name, e.getMessage());
        }
        dcs.wakeUp();
    }
}
