package io.pgha.spring.boot;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.pgha.ha.HaNode;
import io.pgha.ha.PghaMetrics;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * With Micrometer: the member's meters, bound to every registry the application has (Spring Boot
 * binds {@link MeterBinder} beans), under Patroni's metric names, the same series as the REST API's
 * {@code GET /metrics} ({@link PghaMetrics}).
 */
@AutoConfiguration(after = PghaAutoConfiguration.class)
@ConditionalOnClass(MeterRegistry.class)
@ConditionalOnBean(PghaMember.class)
public class PghaMetricsAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean(name = "pghaMeterBinder")
    MeterBinder pghaMeterBinder(HaNode node) {
        return registry -> PghaMetrics.bind(registry, node);
    }
}
