package io.pgha.ha;

import io.pgha.config.NodeConfig;
import io.pgha.postgres.PostgresController;
import io.pgha.postgres.PostgresException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers the engine's {@link Action.Inquiry inquiries}: asks the other members for their status,
 * calls the members of the failsafe key, checks this data directory's history against the
 * leader's. Each answer is a new input for the same cycle; nothing here decides what follows from
 * it.
 *
 * <p>Runs on the loop thread only. The calls are bounded: the peers and failsafe members get {@link
 * #PEER_TIMEOUT} in parallel; the divergence check is bounded by the controller.
 */
final class Inquiries {
    private static final Logger LOG = LoggerFactory.getLogger(Inquiries.class);

    /** How long the other members' REST APIs may take to answer (Patroni: 2 s). */
    static final Duration PEER_TIMEOUT = Duration.ofSeconds(2);

    private final NodeConfig config;
    private final java.util.function.Supplier<String> apiUrl;
    private final PostgresController postgres;
    private final PeerProbe peerProbe;
    private final FailsafeProbe failsafeProbe;
    private final Clock clock;
    private final Lease lease;
    private final LeaderWatch leaderWatch;

    Inquiries(
            NodeConfig config,
            java.util.function.Supplier<String> apiUrl,
            PostgresController postgres,
            PeerProbe peerProbe,
            FailsafeProbe failsafeProbe,
            Clock clock,
            Lease lease,
            LeaderWatch leaderWatch) {
        this.leaderWatch = leaderWatch;
        this.config = config;
        this.apiUrl = apiUrl;
        this.postgres = postgres;
        this.peerProbe = peerProbe;
        this.failsafeProbe = failsafeProbe;
        this.clock = clock;
        this.lease = lease;
    }

    FailsafeProbe failsafeProbe() {
        return failsafeProbe;
    }

    /**
     * The input with the inquiry's answer added, or null when it could not be found out (the error
     * is logged; the cycle ends without acting).
     */
    HaInput answer(Action.Inquiry inquiry, HaInput in) {
        if (inquiry instanceof Action.ProbePeers p) {
            return in.toBuilder()
                    .peers(peerProbe.probe(p.members(), PEER_TIMEOUT))
                    .build();
        } else if (inquiry instanceof Action.CallFailsafe f) {
            return in.toBuilder()
                    .failsafeConfirmed(callFailsafe(f.members(), in))
                    .build();
        } else if (inquiry instanceof Action.ConfirmLeaderGone g) {
            HaInput.LeaderGone seen = in.leaderGone();
            boolean gone = seen != null && leaderWatch.bothRefuse(g.leader());
            if (seen != null && !gone) {
                LOG.info(
                        "[{}] the leader ({}) answers again: no takeover",
                        config.name(),
                        g.leader().name());
            }
            return in.toBuilder()
                    .leaderGone(gone ? new HaInput.LeaderGone(seen.leader(), seen.lockVersion(), true) : null)
                    .build();
        } else if (inquiry instanceof Action.CheckDivergence d) {
            try {
                boolean diverged = postgres.needsRewind(d.leader());
                return in.toBuilder()
                        .divergence(new HaInput.Divergence(d.leader().name(), diverged))
                        .build();
            } catch (PostgresException e) {
                LOG.error(
                        "[{}] could not check my history against the leader {}: {}",
                        config.name(),
                        d.leader().name(),
                        e.getMessage());
                return null;
            }
        }
        throw new IllegalStateException("unhandled inquiry " + inquiry);
    }

    /**
     * Failsafe mode, a primary cut off from the DCS: POST /failsafe to every other member of the last
     * failsafe key read. When all agree, each promised not to race for the lock for ttl from its
     * answer, so the round is as good a proof as a renewal: the lock guard and the fence are re-armed
     * from the round's start.
     */
    private boolean callFailsafe(Map<String, String> others, HaInput in) {
        Instant started = clock.instant();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("name", config.name());
        String api = apiUrl.get();
        if (api != null) {
            body.put("api_url", api);
        }
        if (config.connUrl() != null) {
            body.put("conn_url", config.connUrl());
        }
        body.put("timeline", in.postgres().timeline());
        // as Patroni: the replicas keep advancing their slots while the DCS is down
        body.put("slots", SlotPlan.failsafePositions(config.name(), in.postgres()));
        Set<String> agreed = others.isEmpty() ? Set.of() : failsafeProbe.call(others, body, PEER_TIMEOUT);
        if (!agreed.containsAll(others.keySet())) {
            Set<String> missing = new TreeSet<>(others.keySet());
            missing.removeAll(agreed);
            LOG.warn(
                    "[{}] failsafe mode: {} did not agree; the primary goes on only while its lock is valid",
                    config.name(),
                    missing);
            return false;
        }
        lease.proven(started);
        return true;
    }
}
