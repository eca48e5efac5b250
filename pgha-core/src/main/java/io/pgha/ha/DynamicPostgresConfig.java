package io.pgha.ha;

import io.pgha.config.DynamicConfig;
import io.pgha.postgres.PostgresController;
import io.pgha.postgres.PostgresException;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Passes the {@code postgresql} section of the cluster's dynamic configuration on to the
 * controller whenever it changes (an {@code edit-config}, a {@code PATCH /config}), so that
 * {@code parameters} and {@code pg_hba} take effect on every member within a loop_wait, as with
 * Patroni. It carries the configuration out; what to merge and whether to reload is the
 * controller's, and nothing here is an HA decision. A section the controller refuses is logged
 * once and tried again only when it changes.
 *
 * <p>Threading: the loop thread only.
 */
final class DynamicPostgresConfig {
    private static final Logger LOG = LoggerFactory.getLogger(DynamicPostgresConfig.class);

    private final String name;
    private final PostgresController postgres;
    private final NodeEvents events;
    /** The last section handed over (applied or refused); null before the first. */
    private Map<String, ?> seen;

    DynamicPostgresConfig(String name, PostgresController postgres, NodeEvents events) {
        this.name = name;
        this.postgres = postgres;
        this.events = events;
    }

    /**
     * Hands the section over when it differs from the last one seen; with {@code
     * hot_standby_feedback} on where this member may keep copies of permanent logical slots
     * ({@link SlotPlan#needsHotStandbyFeedback}), as Patroni enforces it.
     */
    void apply(DynamicConfig config, Map<String, Object> tags) {
        Map<String, ?> section = config.raw().get("postgresql") instanceof Map<?, ?> m ? cast(m) : Map.of();
        if (SlotPlan.needsHotStandbyFeedback(config, tags)) {
            Map<String, Object> withFeedback = new java.util.LinkedHashMap<>(section);
            Map<String, Object> parameters = new java.util.LinkedHashMap<>();
            if (section.get("parameters") instanceof Map<?, ?> p) {
                p.forEach((k, v) -> parameters.put(String.valueOf(k), v));
            }
            parameters.put("hot_standby_feedback", "on");
            withFeedback.put("parameters", parameters);
            section = withFeedback;
        }
        if (Objects.equals(section, seen)) {
            return;
        }
        seen = section;
        try {
            if (postgres.applyDynamicConfig(section)) {
                String role = postgres.status().isPrimary() ? "primary" : "replica";
                events.fire(l -> l.postgresReloaded(role));
            }
        } catch (PostgresException e) {
            LOG.error("[{}] cannot apply the cluster's dynamic postgresql configuration: {}", name, e.getMessage());
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, ?> cast(Map<?, ?> m) {
        return (Map<String, ?>) m;
    }
}
