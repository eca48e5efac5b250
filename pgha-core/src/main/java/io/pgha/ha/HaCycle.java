package io.pgha.ha;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.DcsException;
import io.pgha.postgres.PostgresController;
import io.pgha.postgres.PostgresException;
import io.pgha.postgres.PostgresStatus;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HA cycle, as Patroni's {@code run_cycle}: gather the input, ask the engine, answer its
 * inquiries, carry out its decision, publish the result.
 *
 * <pre>
 *   input = read DCS, PostgreSQL, what the node remembers        (CycleInputs)
 *   hand a changed dynamic postgresql section to PostgreSQL      (DynamicPostgresConfig)
 *   loop:
 *     decision = engine.decide(input)                            (HaEngine: the only decision maker)
 *     if decision is an inquiry: input += its answer; decide again  (Inquiries)
 *     run its actions in order; a long one goes to the action thread  (ActionRunner)
 *     a refused lock operation (or a lost lock): read again and decide again, at most three times
 *   publish the member record and the node state                 (MemberRecord, NodeEvents)
 * </pre>
 *
 * <p>Threading: {@link #run} is called by the loop thread only (the simulation calls it in simulated
 * time); it is not reentrant.
 */
final class HaCycle {
    private static final Logger LOG = LoggerFactory.getLogger(HaCycle.class);
    /** Decisions after a refused lock operation, per cycle (as before inquiries existed). */
    private static final int MAX_PASSES = 3;

    /** Why the last DCS call of {@link #execute} failed; read by the loop thread right after. */
    private String dcsFailure;
    /** A bound on the engine's questions per pass: each kind is asked once, so this is never reached. */
    private static final int MAX_INQUIRIES = 4;

    private final String name;
    private final HaEngine engine = new HaEngine();
    private final Clock clock;
    private final PostgresController postgres;
    private final CycleInputs inputs;
    private final Inquiries inquiries;
    private final ActionRunner runner;
    private final OperatorRequests requests;
    private final Lease lease;
    private final MemberRecord record;
    private final NodeEvents events;
    private final DynamicPostgresConfig dynamicPostgres;

    HaCycle(
            String name,
            Clock clock,
            PostgresController postgres,
            CycleInputs inputs,
            Inquiries inquiries,
            ActionRunner runner,
            OperatorRequests requests,
            Lease lease,
            MemberRecord record,
            NodeEvents events) {
        this.name = name;
        this.clock = clock;
        this.postgres = postgres;
        this.inputs = inputs;
        this.inquiries = inquiries;
        this.runner = runner;
        this.requests = requests;
        this.lease = lease;
        this.record = record;
        this.events = events;
        this.dynamicPostgres = new DynamicPostgresConfig(name, postgres, events);
    }

    HaEngine engine() {
        return engine;
    }

    /** Runs one cycle; returns its last decision. */
    Decision run() {
        Instant now = clock.instant();
        boolean restartDue = requests.takeDueRestart(now);
        HaInput input = gather(now, false, restartDue, null);
        if (runner.inProgress() == null) {
            // before the decision, so that a clone or start it begins already writes the cluster's
            // parameters (a replica must start with max_connections etc. no lower than the primary's);
            // while a long action holds the controller the section is handed over in a later cycle
            dynamicPostgres.apply(inputs.dynamicConfig(), input.tags());
        }
        Decision decision = null;
        for (int pass = 1; ; pass++) {
            decision = engine.decide(input);
            for (int asked = 0; decision.inquiry() != null; asked++) {
                if (asked == MAX_INQUIRIES) {
                    throw new IllegalStateException("the engine keeps asking: " + decision);
                }
                LOG.debug("[{}] {}", name, decision.reason());
                HaInput answered = inquiries.answer(decision.inquiry(), input);
                if (answered == null) {
                    publish(input, decision);
                    return decision;
                }
                input = answered;
                decision = engine.decide(input);
            }
            LOG.info("[{}] {}", name, decision.reason());
            ActionRunner.Outcome outcome = execute(decision);
            if (outcome == ActionRunner.Outcome.DONE) {
                break;
            }
            if (outcome == ActionRunner.Outcome.DCS_FAILED) {
                // as Patroni: a DCS error anywhere in the cycle is met at once as the DCS being
                // unreachable (failsafe mode, the lock's remaining validity), not after another read
                // that would wait retry_timeout again
                input = input.toBuilder()
                        .cluster(null)
                        .dcsError(dcsFailure)
                        .lockValidUntil(lease.validUntil())
                        .peersAsked(false)
                        .build();
            } else {
                // a stopped data directory's history does not change within the cycle: keep the check
                input = gather(
                        clock.instant(), outcome == ActionRunner.Outcome.LOCK_LOST, restartDue, input.divergence());
            }
            if (pass == MAX_PASSES) {
                break;
            }
        }
        publish(input, decision);
        return decision;
    }

    private HaInput gather(Instant now, boolean lockRenewFailed, boolean restartDue, HaInput.Divergence known) {
        return inputs.read(now, runner.inProgress(), lockRenewFailed)
                .following(runner.following())
                .rewindFailedFrom(runner.rewindFailedFrom())
                .promotionVetoedAt(runner.promotionVetoedAt())
                .reinitializeRequested(requests.reinitializeRequested())
                .restartRequested(restartDue)
                .divergence(known)
                .build();
    }

    /** Runs the decision's actions in order; stops at a long one (started) or a refused lock operation. */
    private ActionRunner.Outcome execute(Decision decision) {
        List<Action> actions = decision.actions();
        for (int i = 0; i < actions.size(); i++) {
            Action a = actions.get(i);
            try {
                if (a instanceof Action.Long l) {
                    runner.startLong(l);
                    return ActionRunner.Outcome.DONE;
                }
                if (a instanceof Action.WriteFailsafe w) {
                    // whom this primary calls once cut off from the DCS is the key the DCS holds, not
                    // the one last read (seed 1366440196: a member that had just joined, added by this
                    // write, was never called, promised nothing and took the lock while it ran on)
                    inputs.failsafeKeyWriting(w.members());
                }
                ActionRunner.Outcome o = runner.runShort((Action.Short) a, i == actions.size() - 1);
                if (o == ActionRunner.Outcome.DONE && a instanceof Action.WriteFailsafe w) {
                    inputs.failsafeKeyWritten(w.members());
                }
                if (o != ActionRunner.Outcome.DONE) {
                    return o;
                }
            } catch (DcsException e) {
                LOG.warn("[{}] DCS call failed during {}: {}", name, a, e.getMessage());
                dcsFailure = e.getMessage();
                return ActionRunner.Outcome.DCS_FAILED;
            } catch (PostgresException e) {
                LOG.error("[{}] {} failed: {}", name, a, e.getMessage());
                return ActionRunner.Outcome.DONE;
            }
        }
        return ActionRunner.Outcome.DONE;
    }

    private void publish(HaInput input, Decision decision) {
        PostgresStatus pg = postgres.status();
        NodeState previous = record.publish(new MemberRecord.CycleEnd(
                pg,
                input.dataDirectoryEmpty(),
                input.cluster(),
                lease.isHeld(),
                inputs.dynamicConfig(),
                runner.activity(),
                requests.scheduledRestart(),
                clock.instant(),
                inputs.dcsLastSeen(),
                decision == null ? null : decision.reason(),
                input.failsafeConfirmed() || inputs.failsafeCalledWithinTtl(clock.instant(), pg),
                !runner.shutdownRequested()));
        NodeState next = record.state();
        String listenerRole = pg.isRunning() ? next.role() : (input.dataDirectoryEmpty() ? "uninitialized" : "stopped");
        events.cyclePublished(
                input.cluster() != null, leaderOf(previous.cluster()), leaderOf(next.cluster()), listenerRole);
    }

    private static String leaderOf(ClusterState c) {
        return c == null || !c.hasLeader() ? null : c.leader().name();
    }
}
