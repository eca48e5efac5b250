package io.pgha.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.rest.RestApiConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RestApiConfigTest {

    @Test
    void anEmptyAuthenticationSectionIsAnError() {
        Map<String, Object> section = new java.util.LinkedHashMap<>();
        section.put("listen", "127.0.0.1:8008");
        section.put("authentication", null); // "authentication:" with nothing under it
        assertThatThrownBy(() -> RestApiConfig.fromPatroni(section))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("restapi.authentication is empty");
        section.put("authentication", Map.of());
        assertThatThrownBy(() -> RestApiConfig.fromPatroni(section))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("restapi.authentication");
        section.remove("authentication");
        assertThat(RestApiConfig.fromPatroni(section).hasAuthentication()).isFalse();
    }

    @Test
    void readsPatronisRestapiSection() {
        Map<String, Object> section = new java.util.LinkedHashMap<>();
        section.put("listen", "0.0.0.0:8008");
        section.put("connect_address", "10.0.0.1:8008");
        section.put("authentication", Map.of("username", "admin", "password", "secret"));
        section.put("allowlist", List.of("127.0.0.1", "10.0.0.0/8"));
        section.put("allowlist_include_members", true);
        section.put("certfile", "/etc/ssl/api.pem");
        section.put("keyfile", "/etc/ssl/api.key");
        section.put("cafile", "/etc/ssl/ca.pem");
        section.put("verify_client", "Required");
        section.put("http_extra_headers", Map.of("X-Frame-Options", "SAMEORIGIN"));
        section.put("https_extra_headers", Map.of("Strict-Transport-Security", "max-age=31536000"));
        RestApiConfig c = RestApiConfig.fromPatroni(section);
        assertThat(c.listenHost()).isEqualTo("0.0.0.0");
        assertThat(c.listenPort()).isEqualTo(8008);
        assertThat(c.connectAddress()).isEqualTo("10.0.0.1:8008");
        assertThat(c.username()).isEqualTo("admin");
        assertThat(c.password()).isEqualTo("secret");
        assertThat(c.allowlist()).containsExactly("127.0.0.1", "10.0.0.0/8");
        assertThat(c.allowlistIncludeMembers()).isTrue();
        assertThat(c.certfile()).isEqualTo(Path.of("/etc/ssl/api.pem"));
        assertThat(c.keyfile()).isEqualTo(Path.of("/etc/ssl/api.key"));
        assertThat(c.verifyClient()).isEqualTo(RestApiConfig.VerifyClient.REQUIRED);
        assertThat(c.httpExtraHeaders())
                .containsEntry("X-Frame-Options", "SAMEORIGIN")
                .containsEntry("Strict-Transport-Security", "max-age=31536000");
    }

    @Test
    void listenForms() {
        assertThat(RestApiConfig.fromPatroni(Map.of("listen", "[::1]:8009")).listenHost())
                .isEqualTo("::1");
        assertThat(RestApiConfig.fromPatroni(Map.of("listen", "*:8008")).listenHost())
                .isEqualTo("0.0.0.0");
        assertThat(RestApiConfig.fromPatroni(Map.of("listen", ":8008")).listenHost())
                .isEqualTo("0.0.0.0");
    }

    @Test
    void badValuesNameTheKey() {
        assertThatThrownBy(() -> RestApiConfig.fromPatroni(Map.of())).hasMessageContaining("restapi.listen");
        assertThatThrownBy(() -> RestApiConfig.fromPatroni(Map.of("listen", "8008")))
                .hasMessageContaining("restapi.listen");
        assertThatThrownBy(() -> RestApiConfig.fromPatroni(Map.of("listen", "h:99999")))
                .hasMessageContaining("restapi.listen");
        assertThatThrownBy(() -> RestApiConfig.fromPatroni(Map.of("listen", "h:1", "allowlist", "10.0.0.0/8")))
                .hasMessageContaining("restapi.allowlist");
        assertThatThrownBy(() ->
                        RestApiConfig.fromPatroni(Map.of("listen", "h:1", "authentication", Map.of("username", "u"))))
                .hasMessageContaining("restapi.authentication");
        assertThatThrownBy(() -> RestApiConfig.fromPatroni(Map.of("listen", "h:1", "verify_client", "sometimes")))
                .hasMessageContaining("restapi.verify_client");
        assertThatThrownBy(() -> RestApiConfig.fromPatroni(Map.of("listen", "h:1", "thread_pool_size", "many")))
                .hasMessageContaining("restapi.thread_pool_size");
        assertThatThrownBy(() -> RestApiConfig.fromPatroni(Map.of("listen", "h:1", "connect_address", "nohost")))
                .hasMessageContaining("restapi.connect_address");
    }

    @Test
    void badAllowlistEntryFailsAtStart() {
        assertThatThrownBy(() -> AccessControl.Cidr.resolve("10.0.0.0/40", "restapi.allowlist"))
                .hasMessageContaining("restapi.allowlist");
        assertThat(AccessControl.Cidr.resolve("10.1.0.0/16", "x").get(0).contains(addr("10.1.200.3")))
                .isTrue();
        assertThat(AccessControl.Cidr.resolve("10.1.0.0/16", "x").get(0).contains(addr("10.2.0.1")))
                .isFalse();
        assertThat(AccessControl.Cidr.resolve("127.0.0.1", "x").get(0).contains(addr("::ffff:127.0.0.1")))
                .isTrue();
        assertThat(AccessControl.Cidr.resolve("::1/128", "x").get(0).contains(addr("::1")))
                .isTrue();
    }

    private static java.net.InetAddress addr(String s) {
        try {
            return java.net.InetAddress.getByName(s);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void anEmptyOrBlankAuthenticationIsAnError() {
        java.util.Map<String, Object> section = new java.util.HashMap<>();
        section.put("listen", "h:1");
        section.put("authentication", null);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> RestApiConfig.fromPatroni(section))
                .hasMessageContaining("restapi.authentication is empty");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> RestApiConfig.fromPatroni(java.util.Map.of(
                        "listen", "h:1", "authentication", java.util.Map.of("username", "", "password", "x"))))
                .hasMessageContaining("restapi.authentication");
    }

    @Test
    void warnsNamingTheOpenWriteEndpointsWhenThereIsNoAuthentication() {
        RestApiConfig open = RestApiConfig.fromPatroni(Map.of("listen", "0.0.0.0:8008"));
        assertThat(open.openWritesWarning())
                .contains("restapi.authentication is not set")
                .contains("POST /switchover")
                .contains("PATCH/PUT /config")
                .contains("0.0.0.0:8008");
        RestApiConfig closed = RestApiConfig.fromPatroni(
                Map.of("listen", "0.0.0.0:8008", "authentication", Map.of("username", "u", "password", "p")));
        assertThat(closed.openWritesWarning()).isNull();
    }
}
