package io.pgha.dcs.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.dcs.DcsException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The lease bookkeeping on a simulated clock: expiry is counted from when a refresh was sent. */
class LeaseKeeperTest {
    private long now = 1_000_000_000L;
    private final FakeEtcd etcd = new FakeEtcd();
    private final LeaseKeeper keeper = new LeaseKeeper(etcd, Duration.ofSeconds(10), () -> now);
    private final EtcdCalls.Deadline deadline = new EtcdCalls.Deadline(Long.MAX_VALUE);

    @Test
    void firstUseGrantsThenRefreshes() throws Exception {
        LeaseKeeper.Lease first = keeper.ensure(deadline);
        assertThat(first.fresh()).isTrue();
        assertThat(etcd.calls).containsExactly("grant 10");
        LeaseKeeper.Lease second = keeper.ensure(deadline);
        assertThat(second).isEqualTo(new LeaseKeeper.Lease(first.id(), false));
        assertThat(etcd.calls).containsExactly("grant 10", "keepalive " + first.id());
    }

    @Test
    void expiryCountsFromWhenTheRefreshWasSentNotAnswered() throws Exception {
        keeper.ensure(deadline);
        advance(5);
        etcd.delayNextCall = seconds(4); // the answer takes 4 s to come back
        keeper.ensure(deadline);
        // sent at t=5 with TTL 10: proven until t=15, although the answer came at t=9
        advance(5.9); // t = 5 + 4 + 5.9 = 14.9
        assertThat(keeper.provenAlive()).isTrue();
        advance(0.2); // t = 15.1
        assertThat(keeper.provenAlive()).isFalse();
    }

    @Test
    void aLeaseNotRefreshedWithinItsTtlIsReplacedWithoutAsking() throws Exception {
        long id = keeper.ensure(deadline).id();
        advance(10.5); // a paused JVM: no refresh for longer than the TTL
        LeaseKeeper.Lease l = keeper.ensure(deadline);
        assertThat(l.fresh()).isTrue();
        assertThat(l.id()).isNotEqualTo(id);
        // it did not even try to refresh the presumed-dead lease: a keep-alive answer would prove nothing
        assertThat(etcd.calls).containsExactly("grant 10", "grant 10");
    }

    @Test
    void aLeaseEtcdNoLongerKnowsIsReplaced() throws Exception {
        long id = keeper.ensure(deadline).id();
        etcd.keepAliveTtl = 0; // #1254: an expired lease answered without an error
        LeaseKeeper.Lease l = keeper.ensure(deadline);
        assertThat(l.fresh()).isTrue();
        assertThat(l.id()).isNotEqualTo(id);

        etcd.keepAliveTtl = -1; // NOT_FOUND
        LeaseKeeper.Lease l2 = keeper.ensure(deadline);
        assertThat(l2.fresh()).isTrue();
        assertThat(l2.id()).isNotEqualTo(l.id());
    }

    @Test
    void aFailedRefreshThrowsAndProvesNothing() throws Exception {
        long id = keeper.ensure(deadline).id();
        advance(3);
        etcd.unavailable = true;
        assertThatThrownBy(() -> keeper.ensure(deadline)).isInstanceOf(DcsException.class);
        advance(7.5); // t = 10.5: the grant at t=0 no longer vouches
        assertThat(keeper.provenAlive()).isFalse();
        etcd.unavailable = false;
        LeaseKeeper.Lease l = keeper.ensure(deadline);
        assertThat(l.fresh())
                .as("presumed dead after the TTL without a successful refresh")
                .isTrue();
        assertThat(l.id()).isNotEqualTo(id);
    }

    @Test
    void setTtlGrantsANewLeaseWithTheNewTtl() throws Exception {
        long id = keeper.ensure(deadline).id();
        keeper.setTtl(Duration.ofSeconds(20));
        LeaseKeeper.Lease l = keeper.ensure(deadline);
        assertThat(l.fresh()).isTrue();
        assertThat(etcd.calls).containsExactly("grant 10", "grant 20");
        assertThat(keeper.toRevoke()).containsExactly(l.id(), id);
    }

    @Test
    void etcdsGrantedTtlIsTheOneThatCounts() throws Exception {
        etcd.grantedTtl = 2; // etcd could also raise it; here it answers less than asked
        keeper.ensure(deadline);
        advance(2.1);
        assertThat(keeper.provenAlive()).isFalse();
    }

    private void advance(double s) {
        now += seconds(s);
    }

    private static long seconds(double s) {
        return (long) (s * TimeUnit.SECONDS.toNanos(1));
    }

    private final class FakeEtcd implements LeaseKeeper.LeaseApi {
        final List<String> calls = new ArrayList<>();
        long nextId = 0x100;
        long keepAliveTtl = 10;
        long grantedTtl = -1;
        long delayNextCall;
        boolean unavailable;

        @Override
        public long keepAliveOnce(EtcdCalls.Deadline d, long leaseId) throws DcsException {
            calls.add("keepalive " + leaseId);
            pass();
            if (keepAliveTtl < 0) {
                throw new EtcdCallException("lease not found", "NOT_FOUND", null);
            }
            return keepAliveTtl;
        }

        @Override
        public LeaseKeeper.Granted grant(EtcdCalls.Deadline d, long ttlSeconds) throws DcsException {
            calls.add("grant " + ttlSeconds);
            pass();
            keepAliveTtl = ttlSeconds;
            return new LeaseKeeper.Granted(nextId++, grantedTtl > 0 ? grantedTtl : ttlSeconds);
        }

        private void pass() throws DcsException {
            now += delayNextCall;
            delayNextCall = 0;
            if (unavailable) {
                throw new EtcdCallException("etcd unavailable", "UNAVAILABLE", null);
            }
        }
    }
}
