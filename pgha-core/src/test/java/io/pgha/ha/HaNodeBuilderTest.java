package io.pgha.ha;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.config.PatroniYaml;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Building a node in a few lines, from code or from a Patroni configuration file. */
class HaNodeBuilderTest {

    @Test
    void fromAPatroniConfigurationFile() {
        PatroniYaml yaml = PatroniYaml.parse("""
                scope: builder
                name: pg0
                restapi:
                  listen: 127.0.0.1:8008
                  connect_address: 127.0.0.1:8008
                memory:
                  store: builder-test
                bootstrap:
                  dcs:
                    ttl: 12
                    loop_wait: 2
                    retry_timeout: 3
                postgresql:
                  listen: 127.0.0.1:5432
                  connect_address: 127.0.0.1:5432
                  data_dir: /tmp/unused
                tags:
                  nofailover: false
                """, "node.yml", Map.of());
        SimulatedPostgres.Network net = new SimulatedPostgres.Network();
        HaNode node =
                HaNode.builder().patroniYaml(yaml).postgres(net.node("pg0")).build();
        try {
            assertThat(node.name()).isEqualTo("pg0");
            assertThat(node.state().scope()).isEqualTo("builder");
            assertThat(node.state().apiUrl()).isEqualTo("http://127.0.0.1:8008/patroni");
            assertThat(node.state().config().ttl().toSeconds()).isEqualTo(12);
            assertThat(node.dcs().memberName()).isEqualTo("pg0");
        } finally {
            node.close();
        }
    }

    @Test
    void theFailsafeCallCarriesTheRestApiCredentialsOfTheConfigurationFile() throws Exception {
        java.util.List<String> auth = new java.util.concurrent.CopyOnWriteArrayList<>();
        com.sun.net.httpserver.HttpServer peer = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
        peer.createContext("/failsafe", ex -> {
            auth.add(String.valueOf(ex.getRequestHeaders().getFirst("Authorization")));
            ex.getRequestBody().readAllBytes();
            byte[] ok = "Accepted".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, ok.length);
            ex.getResponseBody().write(ok);
            ex.close();
        });
        peer.start();
        PatroniYaml yaml = PatroniYaml.parse("""
                scope: builder
                name: pg0
                restapi:
                  listen: 127.0.0.1:8008
                  connect_address: 127.0.0.1:8008
                  authentication:
                    username: patroni
                    password: s3cret
                memory:
                  store: builder-auth-test
                postgresql:
                  listen: 127.0.0.1:5432
                  connect_address: 127.0.0.1:5432
                  data_dir: /tmp/unused
                """, "node.yml", Map.of());
        HaNode node = HaNode.builder()
                .patroniYaml(yaml)
                .postgres(new SimulatedPostgres.Network().node("pg0"))
                .build();
        try {
            String url = "http://127.0.0.1:" + peer.getAddress().getPort() + "/patroni";
            assertThat(node.failsafeProbe()
                            .call(Map.of("pg1", url), Map.of("name", "pg0"), java.time.Duration.ofSeconds(5)))
                    .containsExactly("pg1");
            assertThat(auth)
                    .containsExactly("Basic "
                            + java.util.Base64.getEncoder()
                                    .encodeToString(
                                            "patroni:s3cret".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } finally {
            node.close();
            peer.stop(0);
        }
    }

    @Test
    void anUnknownDcsTypeIsAClearError() {
        assertThatThrownBy(() -> HaNode.builder()
                        .config(io.pgha.config.NodeConfig.builder("s", "n").build())
                        .dcs("etcd2", Map.of())
                        .postgres(new SimulatedPostgres.Network().node("n"))
                        .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("etcd2");
    }
}
