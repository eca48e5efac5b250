package io.pgha.dcs.consul;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConsulOptionsTest {

    @Test
    void warnsWhenTheTokenWouldCrossTheNetworkInClear() {
        assertThat(ConsulOptions.parse(Map.of("host", "10.0.0.9:8500", "token", "t0ken"))
                        .cleartextCredentialsWarning())
                .contains("plain http", "http://10.0.0.9:8500")
                .doesNotContain("t0ken");
        assertThat(ConsulOptions.parse(Map.of("token", "t0ken")).cleartextCredentialsWarning())
                .as("the local agent")
                .isNull();
        assertThat(ConsulOptions.parse(Map.of("url", "https://10.0.0.9:8501", "token", "t0ken"))
                        .cleartextCredentialsWarning())
                .isNull();
        assertThat(ConsulOptions.parse(Map.of("host", "10.0.0.9:8500")).cleartextCredentialsWarning())
                .isNull();
    }

    @Test
    void defaultsArePatronis() {
        ConsulOptions o = ConsulOptions.parse(Map.of());
        assertThat(o.baseUrl()).isEqualTo("http://127.0.0.1:8500");
        assertThat(o.consistency()).isEqualTo("default");
        assertThat(o.checks()).isEmpty();
        assertThat(o.verify()).isTrue();
        assertThat(o.token()).isNull();
    }

    @Test
    void hostPortUrlAndScheme() {
        assertThat(ConsulOptions.parse(Map.of("host", "consul.local:8501")).baseUrl())
                .isEqualTo("http://consul.local:8501");
        assertThat(ConsulOptions.parse(Map.of("host", "consul.local")).baseUrl())
                .isEqualTo("http://consul.local:8500");
        assertThat(ConsulOptions.parse(Map.of("host", "consul.local:8501", "port", 9000))
                        .baseUrl())
                .isEqualTo("http://consul.local:9000");
        assertThat(ConsulOptions.parse(Map.of("host", "[::1]:8501")).baseUrl()).isEqualTo("http://[::1]:8501");
        assertThat(ConsulOptions.parse(Map.of("host", "10.0.0.1:8501", "scheme", "HTTPS"))
                        .baseUrl())
                .isEqualTo("https://10.0.0.1:8501");
        ConsulOptions url = ConsulOptions.parse(Map.of("url", "https://c.example:8443", "host", "ignored:1"));
        assertThat(url.baseUrl()).isEqualTo("https://c.example:8443");
        assertThat(url.https()).isTrue();
        assertThat(ConsulOptions.parse(Map.of("url", "http://c.example")).port())
                .isEqualTo(8500);
    }

    @Test
    void theRestOfTheSection() {
        ConsulOptions o = ConsulOptions.parse(Map.of(
                "token",
                "t0k",
                "dc",
                "eu1",
                "consistency",
                "Consistent",
                "checks",
                List.of("serfHealth", "service:pg"),
                "verify",
                "off",
                "register_service",
                false,
                "service_tags",
                List.of("x")));
        assertThat(o.token()).isEqualTo("t0k");
        assertThat(o.dc()).isEqualTo("eu1");
        assertThat(o.consistency()).isEqualTo("consistent");
        assertThat(o.checks()).containsExactly("serfHealth", "service:pg");
        assertThat(o.verify()).isFalse();
        assertThat(o.toString()).doesNotContain("t0k");
        assertThat(ConsulOptions.parse(Map.of("checks", "a, b")).checks()).containsExactly("a", "b");
    }

    @Test
    void badValuesNameTheirKeyAndValue() {
        assertThatThrownBy(() -> ConsulOptions.parse(Map.of("host", "h:notaport")))
                .hasMessageContaining("consul.host")
                .hasMessageContaining("h:notaport");
        assertThatThrownBy(() -> ConsulOptions.parse(Map.of("port", 70000))).hasMessageContaining("consul.port");
        assertThatThrownBy(() -> ConsulOptions.parse(Map.of("scheme", "ftp"))).hasMessageContaining("consul.scheme");
        assertThatThrownBy(() -> ConsulOptions.parse(Map.of("url", "127.0.0.1:8500")))
                .hasMessageContaining("consul.url");
        assertThatThrownBy(() -> ConsulOptions.parse(Map.of("consistency", "eventual")))
                .hasMessageContaining("consul.consistency")
                .hasMessageContaining("eventual");
        assertThatThrownBy(() -> ConsulOptions.parse(Map.of("verify", "maybe"))).hasMessageContaining("consul.verify");
        assertThatThrownBy(() -> ConsulOptions.parse(Map.of("key", "/k.pem"))).hasMessageContaining("consul.key");
        assertThatThrownBy(() -> ConsulOptions.parse(Map.of("register_service", "sometimes")))
                .hasMessageContaining("consul.register_service");
        assertThatThrownBy(() -> ConsulOptions.parse(Map.of("service_tags", "a,b")))
                .hasMessageContaining("consul.service_tags");
        assertThatThrownBy(() -> ConsulOptions.parse(Map.of("hosts", "a:1")))
                .hasMessageContaining("hosts")
                .hasMessageContaining("unknown");
    }

    @Test
    void tlsMaterialProblemsNameTheirKey() {
        assertThatThrownBy(() ->
                        ConsulTls.from(ConsulOptions.parse(Map.of("scheme", "https", "cacert", "/nonexistent/ca.pem"))))
                .hasMessageContaining("consul.cacert")
                .hasMessageContaining("/nonexistent/ca.pem");
        assertThat(ConsulTls.from(ConsulOptions.parse(Map.of("scheme", "https", "verify", false)))
                        .hostnameVerifier())
                .isNotNull();
        assertThat(ConsulTls.from(ConsulOptions.parse(Map.of("scheme", "https")))
                        .trustManager())
                .isNotNull();
    }

    @Test
    void sessionTtlIsHalfTheTtlAsAGoDuration() {
        assertThat(ConsulSession.duration(ConsulSession.sessionTtlFor(java.time.Duration.ofSeconds(30))))
                .isEqualTo("15s");
        assertThat(ConsulSession.duration(ConsulSession.sessionTtlFor(java.time.Duration.ofSeconds(5))))
                .isEqualTo("2500ms");
    }
}
