package io.pgha.ha;

import io.pgha.config.DynamicConfig;
import java.io.Closeable;
import java.time.Duration;

/**
 * The out-of-process half of invariant 1 (a primary stops taking writes before its lock can expire):
 * something outside the JVM that stops the local PostgreSQL unless the node feeds it in time. The node
 * arms it each time it proves the lock ({@code lock expiry - safety margin - now}) and disarms it when
 * it no longer holds the lock, is paused, or closes. Unlike {@link LockGuard}, a fence must keep
 * working when the JVM is frozen (SIGSTOP, a long GC pause) or dead (kill -9): it stops PostgreSQL
 * when the deadline passes unfed or when the JVM's end of the channel closes while armed. It never
 * stops a replica.
 *
 * <p>A fence may also drive a Linux watchdog (Patroni's {@code watchdog:} section): fed on every arm,
 * closed in an orderly way on disarm and close, left unfed when the agent dies or freezes, so that
 * the kernel resets the host if nothing else stopped PostgreSQL. Such a fence tells the node through
 * {@link #isHealthy} whether it may lead at all.
 *
 * <p>Implementations are thread-safe: the HA loop and the action thread both call them.
 */
public interface Fence extends Closeable {

    /** Stop PostgreSQL unless armed again or disarmed within {@code within}. */
    void arm(Duration within);

    /** Never stop PostgreSQL until armed again. */
    void disarm();

    /**
     * Whether this node may take (or keep taking) the leader lock as far as the fence is concerned:
     * false when the fence is configured to guarantee more than it can, as Patroni's watchdog in
     * mode {@code required} that is missing, unsafe for {@code config}'s ttl and loop_wait, or failed
     * to activate. The node asks at the start of every cycle with the dynamic configuration in force
     * (which the fence keeps for its next {@link #arm}); while false the node does not race for the
     * lock, does not promote, and {@code GET /patroni} shows {@code watchdog_failed: true}. Must be
     * cheap and must not block. The default, for fences with no such requirement: true.
     */
    default boolean isHealthy(DynamicConfig config) {
        return true;
    }

    /** Ends the fence without stopping PostgreSQL (a clean shutdown of the node). Idempotent. */
    @Override
    void close();

    /** No fence. */
    Fence NONE = new Fence() {
        @Override
        public void arm(Duration within) {}

        @Override
        public void disarm() {}

        @Override
        public void close() {}
    };
}
