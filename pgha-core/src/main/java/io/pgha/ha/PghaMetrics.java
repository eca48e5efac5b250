package io.pgha.ha;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.time.Instant;
import java.util.function.ToDoubleFunction;

/**
 * Micrometer meters for a node, for embedders who use Micrometer (an optional dependency of
 * pgha-core: this class is loaded only when you call {@link #bind}, so a node without Micrometer
 * on the class path pays nothing). Meter names mirror Patroni's Prometheus metrics, tagged with
 * {@code scope} and {@code name}.
 */
public final class PghaMetrics {
    private PghaMetrics() {}

    /** Registers the node's gauges and a failover counter. */
    public static void bind(MeterRegistry registry, HaNode node) {
        NodeState s0 = node.state();
        Tags tags = Tags.of("scope", s0.scope(), "name", s0.name());
        gauge(
                registry,
                "pgha.primary",
                "1 if this node is the leader with a running primary",
                tags,
                node,
                n -> n.state().holdsLock() && n.state().postgres().isPrimary() ? 1 : 0);
        gauge(
                registry,
                "pgha.replica",
                "1 if this node runs a replica",
                tags,
                node,
                n -> n.state().postgres().isReplica() ? 1 : 0);
        gauge(
                registry,
                "pgha.postgres.running",
                "1 if PostgreSQL is running",
                tags,
                node,
                n -> n.state().postgres().isRunning() ? 1 : 0);
        gauge(
                registry,
                "pgha.xlog.location",
                "the WAL position (write LSN on a primary, received/replayed on a replica)",
                tags,
                node,
                n -> n.state().postgres().lastLsn());
        gauge(
                registry,
                "pgha.postgres.timeline",
                "the PostgreSQL timeline",
                tags,
                node,
                n -> n.state().postgres().timeline());
        gauge(
                registry,
                "pgha.cluster.unlocked",
                "1 if the cluster has no leader",
                tags,
                node,
                n -> n.state().cluster() != null && !n.state().cluster().hasLeader() ? 1 : 0);
        gauge(
                registry,
                "pgha.is.paused",
                "1 if the cluster is paused",
                tags,
                node,
                n -> n.state().isPaused() ? 1 : 0);
        gauge(registry, "pgha.dcs.last.seen", "epoch seconds of the last successful DCS read", tags, node, n -> {
            Instant t = n.state().dcsLastSeen();
            return t == null ? 0 : t.getEpochSecond();
        });
        Counter failovers = Counter.builder("pgha.failovers")
                .description("leader changes seen by this node")
                .tags(tags)
                .register(registry);
        node.addListener(new HaListener() {
            @Override
            public void failoverHappened(String previousLeader, String newLeader) {
                failovers.increment();
            }
        });
    }

    private static void gauge(
            MeterRegistry registry, String name, String help, Tags tags, HaNode node, ToDoubleFunction<HaNode> f) {
        Gauge.builder(name, node, f).description(help).tags(tags).register(registry);
    }
}
