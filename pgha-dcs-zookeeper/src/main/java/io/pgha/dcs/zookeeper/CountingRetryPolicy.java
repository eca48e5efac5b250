package io.pgha.dcs.zookeeper;

import org.apache.curator.RetryPolicy;
import org.apache.curator.RetrySleeper;

/**
 * Curator's retry policy, counting per thread whether the calling thread's last foreground
 * operation was retried. A conditional write that was retried after a connection loss and then
 * finds its condition false may have been applied by the lost attempt: its outcome is unknown,
 * and the adapter must say so (a {@code DcsException}) rather than report a lost race.
 * Thread-safe: Curator runs a foreground operation's retries on the calling thread.
 */
final class CountingRetryPolicy implements RetryPolicy {
    private volatile RetryPolicy delegate;
    private final ThreadLocal<int[]> retries = ThreadLocal.withInitial(() -> new int[1]);

    CountingRetryPolicy(RetryPolicy delegate) {
        this.delegate = delegate;
    }

    @Override
    public boolean allowRetry(int retryCount, long elapsedTimeMs, RetrySleeper sleeper) {
        retries.get()[0]++;
        return delegate.allowRetry(retryCount, elapsedTimeMs, sleeper);
    }

    @Override
    public boolean allowRetry(Throwable exception) {
        return delegate.allowRetry(exception);
    }

    /** Replaces the policy the next retry decisions ask ({@code retry_timeout} changed). */
    void delegate(RetryPolicy policy) {
        this.delegate = policy;
    }

    /** Starts counting for the calling thread's next operation. */
    void reset() {
        retries.get()[0] = 0;
    }

    /** Whether an operation of the calling thread was retried since {@link #reset()}. */
    boolean retried() {
        return retries.get()[0] > 0;
    }
}
