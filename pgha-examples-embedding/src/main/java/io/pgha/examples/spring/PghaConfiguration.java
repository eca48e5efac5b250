package io.pgha.examples.spring;

import io.micrometer.core.instrument.MeterRegistry;
import io.pgha.config.NodeConfig;
import io.pgha.ha.HaListener;
import io.pgha.ha.HaNode;
import io.pgha.ha.PghaMetrics;
import io.pgha.postgres.PostgresException;
import io.pgha.postgres.local.LocalPostgresConfig;
import io.pgha.postgres.local.LocalPostgresController;
import java.nio.file.Path;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Wires a pgha node into a Spring application: the node as a bean started and stopped with the
 * context ({@link SmartLifecycle}), its events as Spring application events, an Actuator health
 * indicator, readiness that follows the primary role when asked, Micrometer meters, and a
 * DataSource that always reaches the primary.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(PghaProperties.class)
public class PghaConfiguration {

    @Bean(destroyMethod = "close")
    LocalPostgresController pghaPostgres(PghaProperties p) throws PostgresException {
        String hp = p.getHost() + ":" + p.getPort();
        return new LocalPostgresController(LocalPostgresConfig.builder()
                .name(p.getName())
                .dataDir(Path.of(p.getDataDir()))
                .listen(hp)
                .connectAddress(hp)
                .superuser("postgres", p.getSuperuserPassword())
                .replication("replicator", p.getReplicationPassword())
                .build());
    }

    @Bean
    PrimaryRoutingDataSource dataSource(PghaProperties p) {
        return new PrimaryRoutingDataSource(p.getHost() + ":" + p.getPort(), "postgres", p.getSuperuserPassword());
    }

    @Bean
    HaNode pghaNode(
            PghaProperties p,
            LocalPostgresController postgres,
            ApplicationEventPublisher events,
            PrimaryRoutingDataSource dataSource,
            ObjectProvider<MeterRegistry> meters) {
        NodeConfig config = NodeConfig.builder(p.getScope(), p.getName())
                .connUrl("postgres://" + p.getHost() + ":" + p.getPort() + "/postgres")
                .bootstrapDcs(p.getBootstrapDcs())
                .build();
        HaNode node = HaNode.builder()
                .config(config)
                .dcs(p.getDcsType(), p.getDcs())
                .postgres(postgres)
                .build();
        node.addListener(new HaListener() {
            @Override
            public void roleChanged(String from, String to) {
                events.publishEvent(new PghaEvents.RoleChanged(node, from, to));
                if (p.isReadinessPrimaryOnly()) {
                    AvailabilityChangeEvent.publish(
                            events,
                            node,
                            "primary".equals(to) ? ReadinessState.ACCEPTING_TRAFFIC : ReadinessState.REFUSING_TRAFFIC);
                }
            }

            @Override
            public void leaderChanged(String from, String to) {
                if (node.state().cluster() != null) {
                    dataSource.refresh(node.state().cluster());
                }
                events.publishEvent(new PghaEvents.LeaderChanged(node, from, to));
            }
        });
        meters.ifAvailable(registry -> PghaMetrics.bind(registry, node));
        return node;
    }

    @Bean
    PghaHealthIndicator pghaHealthIndicator(HaNode node) {
        return new PghaHealthIndicator(node);
    }

    /** Starts the node with the context and closes it (clean handover) when the context stops. */
    @Bean
    SmartLifecycle pghaLifecycle(HaNode node, PghaProperties p, ApplicationEventPublisher events) {
        return new SmartLifecycle() {
            private volatile boolean running;

            @Override
            public void start() {
                if (p.isReadinessPrimaryOnly()) {
                    AvailabilityChangeEvent.publish(events, node, ReadinessState.REFUSING_TRAFFIC);
                }
                node.start();
                running = true;
            }

            @Override
            public void stop() {
                node.close();
                running = false;
            }

            @Override
            public boolean isRunning() {
                return running;
            }
        };
    }
}
