package io.pgha.spring.boot;

import io.pgha.ha.HaListener;
import io.pgha.ha.HaNode;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;

/**
 * The embedded member ({@link PghaMember}, started and stopped with the context, REST API
 * included), the node as a bean, and its role and leader changes as application events
 * ({@link PghaEvents}). Off with {@code pgha.enabled=false}.
 */
@AutoConfiguration
@ConditionalOnProperty(prefix = "pgha", name = "enabled", havingValue = "true", matchIfMissing = true)
@EnableConfigurationProperties(PghaProperties.class)
public class PghaAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    PghaMember pghaMember(PghaProperties properties, ApplicationEventPublisher events) {
        PghaMember member = PghaMember.create(MemberConfiguration.read(properties), properties.isAutoStartup());
        HaNode node = member.node();
        node.addListener(new HaListener() {
            @Override
            public void roleChanged(String from, String to) {
                events.publishEvent(new PghaEvents.RoleChanged(node, from, to));
            }

            @Override
            public void leaderChanged(String from, String to) {
                events.publishEvent(new PghaEvents.LeaderChanged(node, from, to));
            }
        });
        return member;
    }

    /** The node (its state, listeners, operations); the member closes it. */
    @Bean(destroyMethod = "")
    @ConditionalOnMissingBean
    HaNode pghaNode(PghaMember member) {
        return member.node();
    }
}
