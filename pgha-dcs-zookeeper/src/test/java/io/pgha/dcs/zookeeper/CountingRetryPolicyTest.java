package io.pgha.dcs.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.curator.retry.RetryNTimes;
import org.junit.jupiter.api.Test;

class CountingRetryPolicyTest {

    @Test
    void countsRetriesOfTheCallingThreadOnly() throws Exception {
        CountingRetryPolicy policy = new CountingRetryPolicy(new RetryNTimes(3, 0));
        policy.reset();
        assertThat(policy.retried()).isFalse();
        AtomicBoolean otherThreadSaw = new AtomicBoolean(true);
        Thread other = new Thread(() -> {
            policy.reset();
            policy.allowRetry(0, 0, (time, unit) -> {});
            otherThreadSaw.set(policy.retried());
        });
        other.start();
        other.join();
        assertThat(otherThreadSaw).isTrue();
        assertThat(policy.retried()).as("another thread's retry").isFalse();
        assertThat(policy.allowRetry(0, 0, (time, unit) -> {})).isTrue();
        assertThat(policy.retried()).isTrue();
        policy.reset();
        assertThat(policy.retried()).isFalse();
    }
}
