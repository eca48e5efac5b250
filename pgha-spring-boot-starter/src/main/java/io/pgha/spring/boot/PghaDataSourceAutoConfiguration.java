package io.pgha.spring.boot;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import io.pgha.ha.HaListener;
import io.pgha.ha.HaNode;
import java.util.Map;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * With HikariCP, and when the application defines no DataSource of its own: the application's
 * DataSource, a HikariCP pool whose connections go to the cluster's current primary. On every
 * leader change the hosts are re-read and the pool's connections evicted (idle ones at once, busy
 * ones when they are returned), so that after a failover or switchover new work reaches the new
 * primary and none stays on the former one. Pool settings are Spring Boot's
 * {@code spring.datasource.hikari.*}; credentials {@code pgha.datasource.username/password}
 * (default: the superuser's). Off with {@code pgha.datasource.enabled=false}.
 */
// before Boot's own DataSource auto-configuration, which backs off for a DataSource bean: Boot 3's
// (spring-boot-autoconfigure) and Boot 4's (its spring-boot-jdbc module, named as a string: the
// class is not on this module's Boot 3.5 class path)
@AutoConfiguration(
        after = PghaAutoConfiguration.class,
        before = DataSourceAutoConfiguration.class,
        beforeName = "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration")
@ConditionalOnClass({HikariDataSource.class, DataSource.class})
@ConditionalOnBean(PghaMember.class)
@ConditionalOnProperty(prefix = "pgha.datasource", name = "enabled", havingValue = "true", matchIfMissing = true)
public class PghaDataSourceAutoConfiguration {
    private static final Logger log = LoggerFactory.getLogger(PghaDataSourceAutoConfiguration.class);

    @Bean
    @ConditionalOnMissingBean(DataSource.class)
    @ConfigurationProperties(prefix = "spring.datasource.hikari")
    HikariDataSource dataSource(PghaMember member, PghaProperties properties) {
        PghaProperties.Datasource p = properties.getDatasource();
        Map.Entry<String, String> superuser = member.superuser();
        boolean own = p.getUsername() != null;
        PrimaryFollowingDataSource primary = new PrimaryFollowingDataSource(
                member.postgresAddress(),
                p.getDatabase(),
                own ? p.getUsername() : superuser.getKey(),
                own ? p.getPassword() : superuser.getValue());
        HikariDataSource pool = new HikariDataSource();
        pool.setDataSource(primary);
        pool.setPoolName("pgha-primary");
        // the pool is not filled before the member has a primary to connect to
        pool.setInitializationFailTimeout(-1);
        HaNode node = member.node();
        node.addListener(new HaListener() {
            @Override
            public void leaderChanged(String from, String to) {
                if (node.state().cluster() != null) {
                    primary.follow(node.state().cluster());
                }
                HikariPoolMXBean pooled = pool.getHikariPoolMXBean();
                if (pooled != null) {
                    log.info(
                            "leader {} -> {}: evicting the pool's connections, new ones go to {}",
                            from,
                            to,
                            primary.hosts());
                    pooled.softEvictConnections();
                }
            }
        });
        return pool;
    }
}
