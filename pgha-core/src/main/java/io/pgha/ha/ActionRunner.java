package io.pgha.ha;

import io.pgha.config.NodeConfig;
import io.pgha.dcs.ClusterStatus;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.Member;
import io.pgha.postgres.FenceResult;
import io.pgha.postgres.PostgresController;
import io.pgha.postgres.PostgresException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out the engine's actions: {@link Action.Short short} ones on the calling (loop) thread,
 * {@link Action.Long long} ones on the action executor, one at a time. It chooses nothing: what to
 * do, and in what order, is the decision's; the PostgreSQL work itself is {@link PostgresActions}'.
 *
 * <p>Threading: {@link #runShort} and {@link #startLong} are called by the loop thread; long actions
 * run on the action executor; {@link #inProgress}, {@link #activity}, {@link #following} and {@link
 * #rewindFailedFrom} are read from any thread (volatile). A successful long action wakes the loop; a
 * failed one waits for the next cycle, or the same decision would retry it back to back.
 */
final class ActionRunner {
    private static final Logger LOG = LoggerFactory.getLogger(ActionRunner.class);

    /** What became of a short action. */
    enum Outcome {
        /** Done; go on with the decision. */
        DONE,
        /** Decide again on a fresh snapshot (a conditional write was refused, or the state changed). */
        RERUN,
        /** A renewal was refused: the lock is lost; decide again knowing it. */
        LOCK_LOST,
        /** A DCS call failed (no answer within retry_timeout): decide again as with the DCS unreachable. */
        DCS_FAILED
    }

    private final NodeConfig config;
    private final Dcs dcs;
    private final PostgresController postgres;
    private final Clock clock;
    private final Lease lease;
    private final Executor executor;
    private final PostgresActions pgActions;
    private final NodeEvents events;
    private volatile CompletableFuture<Void> current;
    private volatile String currentName;
    private volatile boolean shutdownRequested;

    ActionRunner(
            NodeConfig config,
            Dcs dcs,
            PostgresController postgres,
            Clock clock,
            Lease lease,
            Executor executor,
            NodeEvents events,
            Runnable reinitializeStarted) {
        this.config = config;
        this.dcs = dcs;
        this.postgres = postgres;
        this.clock = clock;
        this.lease = lease;
        this.executor = executor;
        this.events = events;
        this.pgActions = new PostgresActions(config, dcs, postgres, clock, lease, events, reinitializeStarted);
    }

    /** The name of the long action still running ("clone from", "promote", ...), or null. */
    String inProgress() {
        CompletableFuture<Void> f = current;
        return f != null && !f.isDone() ? currentName : null;
    }

    /** The long action still running, or null. */
    CompletableFuture<Void> running() {
        return current;
    }

    /** Patroni's member state while a long action runs ("creating replica", ...), or null. */
    String activity() {
        return pgActions.activity();
    }

    /** The leader the local replica was last pointed at and checked against, or null. */
    String following() {
        return pgActions.following();
    }

    /** The leader the last pg_rewind failed against, or null. */
    String rewindFailedFrom() {
        return pgActions.rewindFailedFrom();
    }

    /** When the pre_promote script last vetoed a promotion, or null. */
    Instant promotionVetoedAt() {
        return pgActions.promotionVetoedAt();
    }

    /** The agent was told to stop ({@link Action.Shutdown}). */
    boolean shutdownRequested() {
        return shutdownRequested;
    }

    /** Runs a short action on this thread. */
    Outcome runShort(Action.Short a, boolean last) throws DcsException, PostgresException {
        if (a instanceof Action.AcquireLock) {
            Instant t = clock.instant();
            if (!dcs.acquireLeader()) {
                LOG.info("[{}] could not acquire the leader lock: another member holds it", config.name());
                return Outcome.RERUN;
            }
            lease.proven(t);
            LOG.info("[{}] acquired the leader lock", config.name());
            // decide again at once: a replica that won the race promotes in this same cycle
            return last ? Outcome.RERUN : Outcome.DONE;
        } else if (a instanceof Action.TakeOverLock t) {
            Instant at = clock.instant();
            if (!dcs.takeOverLeader(t.holder(), t.version())) {
                LOG.info(
                        "[{}] could not take over the leader lock of {}: it changed meanwhile",
                        config.name(),
                        t.holder());
                return Outcome.RERUN;
            }
            lease.proven(at);
            LOG.warn(
                    "[{}] took over the leader lock of {}, whose agent and PostgreSQL are gone",
                    config.name(),
                    t.holder());
            return last ? Outcome.RERUN : Outcome.DONE;
        } else if (a instanceof Action.RenewLock) {
            Instant t = clock.instant();
            if (!dcs.renewLeader()) {
                lease.lost();
                return Outcome.LOCK_LOST;
            }
            lease.proven(t);
        } else if (a instanceof Action.ReleaseLock) {
            dcs.releaseLeader();
            lease.lost();
        } else if (a instanceof Action.ClaimInitialize) {
            if (!dcs.writeInitialize("", Dcs.ABSENT)) {
                LOG.info("[{}] another member is bootstrapping the cluster", config.name());
                return Outcome.RERUN;
            }
        } else if (a instanceof Action.WriteInitialize w) {
            dcs.writeInitialize(w.systemIdentifier(), w.expectedVersion());
        } else if (a instanceof Action.WriteBootstrapConfig) {
            dcs.writeConfig(config.bootstrapDcs(), Dcs.ABSENT);
        } else if (a instanceof Action.WriteStatus s) {
            dcs.writeStatus(new ClusterStatus(s.optime(), s.slots(), s.retainSlots()));
        } else if (a instanceof Action.WriteSync w) {
            if (!dcs.writeSync(w.state(), w.expectedVersion())) {
                LOG.info("[{}] the sync key changed meanwhile; deciding again", config.name());
                return Outcome.RERUN;
            }
        } else if (a instanceof Action.WriteFailsafe w) {
            dcs.writeFailsafe(w.members());
        } else if (a instanceof Action.WriteHistory h) {
            dcs.writeHistory(h.history());
        } else if (a instanceof Action.SetSynchronousStandbyNames s) {
            postgres.setSynchronousStandbyNames(s.value());
        } else if (a instanceof Action.FenceFormerPrimary f) {
            fenceFormerPrimary(f.former());
        } else if (a instanceof Action.ClearFailover c) {
            dcs.writeFailover(null, c.failover().version());
        } else if (a instanceof Action.ChangeSlots s) {
            postgres.changeReplicationSlots(s.changes());
        } else if (a instanceof Action.Follow f) {
            pgActions.follow(f.upstream(), f.leaderIsPrimary());
        } else if (a instanceof Action.StopToRewind s) {
            LOG.warn(
                    "[{}] diverged from the new leader {}: stopping to rewind",
                    config.name(),
                    s.leader().name());
            pgActions.stopToRewind();
            return Outcome.RERUN;
        } else if (a instanceof Action.Shutdown s) {
            LOG.error("[{}] {}: stopping the agent, PostgreSQL is left as it is", config.name(), s.why());
            shutdownRequested = true;
        } else {
            throw new IllegalStateException("unhandled action " + a);
        }
        return Outcome.DONE;
    }

    /**
     * The candidate-side fence, recorded: a WARN line (and {@link HaListener#formerPrimaryFenced})
     * when the former primary was fenced or fencing it failed, an INFO line when there was nothing
     * to fence or nobody answered. Never fails the decision: the
     * promotion that follows goes on whatever comes of it.
     */
    private void fenceFormerPrimary(Member former) {
        FenceResult r;
        try {
            r = postgres.fenceFormerPrimary(former, config.name());
        } catch (RuntimeException e) {
            r = new FenceResult(FenceResult.Outcome.FAILED, e.toString());
        }
        String who = former.name() + " (" + former.connUrl() + ")";
        switch (r.outcome()) {
            case FENCED -> {
                LOG.warn(
                        "[{}] fenced the former primary {} before promoting: its PostgreSQL still answered as a"
                                + " primary and acknowledges no commit any more; {}",
                        config.name(),
                        who,
                        r.detail());
                events.fire(l -> l.formerPrimaryFenced(former.name()));
            }
            case NOT_A_PRIMARY ->
                LOG.info("[{}] the former primary {} answers as a replica: nothing to fence", config.name(), who);
            case UNREACHABLE ->
                // INFO: the usual case after a crash, and after a switchover, whose former leader stopped
                LOG.info(
                        "[{}] could not reach the former primary {} to fence it ({}); relying on its own fence and"
                                + " the ttl",
                        config.name(),
                        who,
                        r.detail());
            case FAILED ->
                LOG.warn(
                        "[{}] fencing the former primary {} failed ({}); relying on its own fence and the ttl",
                        config.name(),
                        who,
                        r.detail());
            case NOT_SUPPORTED ->
                LOG.debug("[{}] not fencing the former primary {}: {}", config.name(), who, r.detail());
        }
    }

    /** Starts a long action on the action executor. */
    void startLong(Action.Long a) {
        String name = nameOf(a);
        pgActions.starting(a);
        currentName = name;
        CompletableFuture<Void> f = new CompletableFuture<>();
        current = f;
        executor.execute(() -> {
            boolean failed = true;
            try {
                pgActions.run(a);
                failed = false;
            } catch (PostgresException | DcsException e) {
                LOG.error("[{}] {} failed: {}", config.name(), name, e.getMessage());
            } catch (RuntimeException e) {
                LOG.error("[" + config.name() + "] " + name + " failed", e);
            } finally {
                pgActions.finished();
                f.complete(null);
                // a success is acted on at once; a failure waits for the next cycle, or the same
                // decision would retry the failing action back to back (seen: every 35 ms)
                if (!failed) {
                    dcs.wakeUp();
                }
            }
        });
    }

    /**
     * Runs a decision's actions on this thread, to the end, ignoring refusals: the shutdown sequence,
     * after the loop has stopped. Errors are logged.
     */
    void runToEnd(Decision d) {
        for (Action a : d.actions()) {
            try {
                if (a instanceof Action.Long l) {
                    pgActions.run(l);
                } else if (a instanceof Action.Short s) {
                    runShort(s, false);
                }
            } catch (PostgresException e) {
                LOG.error("[{}] {} failed at shutdown: {}", config.name(), nameOf(a), e.getMessage());
            } catch (DcsException e) {
                LOG.warn("[{}] {} failed at shutdown: {}", config.name(), nameOf(a), e.getMessage());
            }
        }
    }

    /**
     * An operator's restart, now: runs on the action executor (as every long action) and completes
     * with whether it succeeded.
     */
    CompletableFuture<Boolean> restartNow(Duration timeout) {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        executor.execute(() -> {
            try {
                pgActions.restart(timeout);
                done.complete(true);
            } catch (PostgresException | RuntimeException e) {
                LOG.error("[{}] restart failed: {}", config.name(), e.getMessage());
                done.complete(false);
            } finally {
                dcs.wakeUp();
            }
        });
        return done;
    }

    /** "clone from", "start replica", ...: an action's name in log lines and in {@code inProgress}. */
    static String nameOf(Action a) {
        return a.getClass()
                .getSimpleName()
                .replaceAll("([a-z])([A-Z])", "$1 $2")
                .toLowerCase(Locale.ROOT);
    }
}
