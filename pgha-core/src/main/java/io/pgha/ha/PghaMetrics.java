package io.pgha.ha;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.pgha.api.PatroniMetrics;

/**
 * Micrometer meters for a node, for embedders who use Micrometer (an optional dependency of
 * pgha-core: this class is loaded only when you call {@link #bind}, so a node without Micrometer
 * on the class path pays nothing). The meters are the series of the REST API's {@code GET /metrics}
 * ({@link PatroniMetrics}, one table for both), under Patroni's names and tagged {@code scope} and
 * {@code name} as Patroni labels them, so that a Prometheus scraping the application
 * ({@code /actuator/prometheus}) sees what it sees on a Patroni member. Each is a gauge (Patroni's
 * three counters included: a Micrometer counter would be renamed {@code *_total}).
 */
public final class PghaMetrics {
    private PghaMetrics() {}

    /**
     * Registers the node's gauges, and {@code pgha.failovers} (Prometheus: {@code
     * pgha_failovers_total}), the leader changes this node has seen, which Patroni does not have.
     */
    public static void bind(MeterRegistry registry, HaNode node) {
        NodeState s0 = node.state();
        Tags tags = Tags.of("scope", s0.scope(), "name", s0.name());
        for (PatroniMetrics.Metric m : PatroniMetrics.all()) {
            Gauge.builder(m.name(), node, n -> m.valueOf(n, n.clock().instant()))
                    .description(m.help())
                    .tags(tags)
                    .register(registry);
        }
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
}
