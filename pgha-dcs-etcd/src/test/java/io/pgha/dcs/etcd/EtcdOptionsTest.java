package io.pgha.dcs.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.dcs.DcsProvider;
import io.pgha.dcs.DcsSettings;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EtcdOptionsTest {

    @Test
    void warnsWhenCredentialsWouldCrossTheNetworkInClear() {
        String w = EtcdOptions.parse(Map.of("hosts", "10.0.0.1:2379,10.0.0.2:2379", "username", "u", "password", "p"))
                .cleartextCredentialsWarning();
        assertThat(w).contains("plain http", "http://10.0.0.1:2379").doesNotContain("p\"");
        assertThat(EtcdOptions.parse(Map.of("hosts", "10.0.0.1:2379")).cleartextCredentialsWarning())
                .isNull();
        assertThat(EtcdOptions.parse(Map.of("url", "https://10.0.0.1:2379", "username", "u", "password", "p"))
                        .cleartextCredentialsWarning())
                .isNull();
        assertThat(EtcdOptions.parse(Map.of("hosts", "127.0.0.1:2379,localhost:2380", "username", "u", "password", "p"))
                        .cleartextCredentialsWarning())
                .isNull();
    }

    @Test
    void defaultsToLocalEtcd() {
        EtcdOptions o = EtcdOptions.parse(Map.of());
        assertThat(o.endpoints()).containsExactly(URI.create("http://127.0.0.1:2379"));
        assertThat(o.tls()).isFalse();
        assertThat(o.username()).isNull();
    }

    @Test
    void acceptsPatronisEndpointForms() {
        assertThat(EtcdOptions.parse(Map.of("host", "10.0.0.1:2379")).endpoints())
                .containsExactly(URI.create("http://10.0.0.1:2379"));
        assertThat(EtcdOptions.parse(Map.of("hosts", "10.0.0.1:2379, 10.0.0.2:2380,10.0.0.3"))
                        .endpoints())
                .containsExactly(
                        URI.create("http://10.0.0.1:2379"),
                        URI.create("http://10.0.0.2:2380"),
                        URI.create("http://10.0.0.3:2379"));
        assertThat(EtcdOptions.parse(Map.of("hosts", List.of("a:1", "b:2"))).endpoints())
                .containsExactly(URI.create("http://a:1"), URI.create("http://b:2"));
        assertThat(EtcdOptions.parse(Map.of("url", "http://etcd.example:2379")).endpoints())
                .containsExactly(URI.create("http://etcd.example:2379"));
        assertThat(EtcdOptions.parse(Map.of("urls", List.of("https://a:2379", "https://b:2379")))
                        .tls())
                .isTrue();
        EtcdOptions https = EtcdOptions.parse(Map.of("hosts", "a:2379", "protocol", "HTTPS"));
        assertThat(https.endpoints()).containsExactly(URI.create("https://a:2379"));
        assertThat(https.tls()).isTrue();
    }

    @Test
    void unknownAndUnsupportedKeysFailNamingTheKey() {
        assertThatThrownBy(() -> EtcdOptions.parse(Map.of("hostz", "a:1")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'hostz'");
        assertThatThrownBy(() -> EtcdOptions.parse(Map.of("srv", "example.com")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("etcd3.srv");
        assertThatThrownBy(() -> EtcdOptions.parse(Map.of("use_proxies", true)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("etcd3.use_proxies");
    }

    @Test
    void malformedValuesFailNamingTheKey() {
        assertThatThrownBy(() -> EtcdOptions.parse(Map.of("protocol", "grpc"))).hasMessageContaining("etcd3.protocol");
        assertThatThrownBy(() -> EtcdOptions.parse(Map.of("hosts", "a:1,,b:2"))).hasMessageContaining("etcd3.hosts");
        assertThatThrownBy(() -> EtcdOptions.parse(Map.of("host", "a:notaport")))
                .hasMessageContaining("etcd3.host");
        assertThatThrownBy(() -> EtcdOptions.parse(Map.of("url", "ftp://a:1"))).hasMessageContaining("etcd3.url");
        assertThatThrownBy(() -> EtcdOptions.parse(Map.of("url", "http://a:1/v2")))
                .hasMessageContaining("no path");
        assertThatThrownBy(() -> EtcdOptions.parse(Map.of("hosts", 5))).hasMessageContaining("etcd3.hosts");
        assertThatThrownBy(() -> EtcdOptions.parse(Map.of("urls", List.of("http://a:1", "https://b:2"))))
                .hasMessageContaining("mix");
        assertThatThrownBy(() -> EtcdOptions.parse(Map.of("hosts", "a:1", "protocol", "https", "url", "http://b:1")))
                .hasMessageContaining("mix");
        assertThatThrownBy(() -> EtcdOptions.parse(Map.of("username", "u"))).hasMessageContaining("password");
        assertThatThrownBy(() -> EtcdOptions.parse(Map.of("cacert", "/nonexistent/ca.pem", "protocol", "https")))
                .hasMessageContaining("etcd3.cacert");
    }

    @Test
    void tlsFilesNeedHttpsAndGoTogether(@TempDir Path dir) throws Exception {
        Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
        Path cert = Files.writeString(dir.resolve("c.pem"), "x");
        assertThatThrownBy(() -> EtcdOptions.parse(Map.of("cacert", ca.toString())))
                .hasMessageContaining("https");
        assertThatThrownBy(() -> EtcdOptions.parse(Map.of("protocol", "https", "cert", cert.toString())))
                .hasMessageContaining("'key'");
        Map<String, Object> ok = new LinkedHashMap<>();
        ok.put("protocol", "https");
        ok.put("cacert", ca.toString());
        ok.put("username", "pgha");
        ok.put("password", "secret");
        EtcdOptions o = EtcdOptions.parse(ok);
        assertThat(o.cacert()).isEqualTo(ca);
        assertThat(o.toString()).doesNotContain("secret");
    }

    @Test
    void theProviderIsFoundAsEtcd3AndRejectsBadOptions() {
        DcsProvider p = DcsProvider.find("etcd3");
        assertThat(p).isInstanceOf(EtcdDcsProvider.class);
        assertThatThrownBy(() ->
                        p.create(new DcsSettings(null, "s", "m", Duration.ofSeconds(30), null, Map.of("hots", "a:1"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'hots'");
    }

    @Test
    void leaseTtlIsWholeSecondsRoundedUp() {
        assertThat(LeaseKeeper.seconds(Duration.ofSeconds(30))).isEqualTo(30);
        assertThat(LeaseKeeper.seconds(Duration.ofMillis(4500))).isEqualTo(5);
        assertThat(LeaseKeeper.seconds(Duration.ofMillis(10))).isEqualTo(1);
        assertThatThrownBy(() -> LeaseKeeper.seconds(Duration.ZERO)).hasMessageContaining("ttl");
    }
}
