package io.pgha.ha;

import io.pgha.config.DynamicConfig;
import io.pgha.postgres.PostgresController;
import io.pgha.postgres.PostgresException;
import io.pgha.postgres.StopMode;
import java.io.Closeable;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader lock as this node has proven it, and the two guards that keep invariant 1 (a primary
 * that cannot renew its lock stops taking writes before the lock can expire): the in-JVM {@link
 * LockGuard} timer and the out-of-process {@link Fence}.
 *
 * <p>A lock is valid until the start of its last successful acquisition or renewal plus ttl (the
 * store cannot expire it earlier); each proof re-arms both guards for that instant minus the
 * safety margin ({@link HaEngine#safetyMargin}). In pause the guards are disarmed: pgha does not
 * touch PostgreSQL then.
 *
 * <p>Thread-safe: the loop thread proves and loses the lock, the action thread proves it after a
 * bootstrap and loses it after a demotion, the guard's timer thread fences.
 */
final class Lease implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(Lease.class);

    private final String name;
    private final Clock clock;
    private final PostgresController postgres;
    private final Supplier<DynamicConfig> config;
    private final LockGuard guard;
    private final Fence fence;
    private volatile Instant validUntil;

    /**
     * @param config the dynamic configuration in force (ttl, pause)
     * @param withGuard false only for the simulation, which fires {@link #fenceIfDue} itself
     */
    Lease(
            String name,
            Clock clock,
            PostgresController postgres,
            Supplier<DynamicConfig> config,
            Fence fence,
            boolean withGuard) {
        this.name = name;
        this.clock = clock;
        this.postgres = postgres;
        this.config = config;
        this.fence = fence == null ? Fence.NONE : fence;
        this.guard = withGuard ? new LockGuard(name, clock, this::fenceIfDue) : null;
    }

    /** Until when the lock is proven ours, or null when this node does not believe it holds it. */
    Instant validUntil() {
        return validUntil;
    }

    boolean isHeld() {
        return validUntil != null;
    }

    /** The lock was acquired or renewed by a call that started at {@code renewedAt}. */
    void proven(Instant renewedAt) {
        DynamicConfig cfg = config.get();
        Instant until = renewedAt.plus(cfg.ttl());
        validUntil = until;
        Instant fenceAt = until.minus(HaEngine.safetyMargin(cfg));
        if (guard != null && !cfg.isPaused()) {
            guard.arm(fenceAt);
        }
        if (cfg.isPaused()) {
            fence.disarm();
        } else {
            fence.arm(Duration.between(clock.instant(), fenceAt));
        }
    }

    /** The lock is not ours (released, refused, or someone else's key): the guards stand down. */
    void lost() {
        validUntil = null;
        disarm();
    }

    /** The guards stand down without forgetting the lock (the node leaves it to lapse by itself). */
    void disarm() {
        if (guard != null) {
            guard.disarm();
        }
        fence.disarm();
    }

    /** Whether the fence allows this node to lead under {@code cfg} ({@link Fence#isHealthy}). */
    boolean fenceHealthy(DynamicConfig cfg) {
        return fence.isHealthy(cfg);
    }

    /**
     * The lock guard's fence: when the lock's proof is about to run out, PostgreSQL stops accepting
     * writes (an immediate stop of a primary; a replica is left alone). Package-private so that the
     * simulation, which runs without the guard's timer thread, can fire it at the simulated instant
     * the guard would.
     */
    void fenceIfDue() {
        Instant until = validUntil;
        Instant fenceAt = until == null ? null : until.minus(HaEngine.safetyMargin(config.get()));
        if (fenceAt != null && clock.instant().isBefore(fenceAt)) {
            // renewed meanwhile, or the timer ran a hair early: never return without a guard armed
            // (SafetyFailsafeEtcdIT found a guard that fired 1 ms early and so never fenced)
            if (guard != null) {
                guard.arm(fenceAt);
            }
            return;
        }
        if (postgres.status().isPrimary()) {
            try {
                postgres.stop(StopMode.IMMEDIATE, false, Duration.ofSeconds(10));
            } catch (PostgresException e) {
                LOG.error("[{}] fencing stop failed: {}", name, e.getMessage());
            }
        }
    }

    /** Ends both guards without stopping PostgreSQL (the node stops cleanly). */
    @Override
    public void close() {
        disarm();
        if (guard != null) {
            guard.close();
        }
        fence.close();
    }
}
