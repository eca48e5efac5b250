package io.pgha.dcs.consul;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsContract;
import io.pgha.dcs.DcsProvider;
import io.pgha.dcs.DcsSettings;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The DCS contract against {@link ConsulDouble}, the HTTP double of a Consul agent: it proves the
 * adapter's use of Consul's documented API (sessions, acquire, cas, blocking queries), not Consul
 * itself; {@link RealConsulDcsContractIT} runs the same suite against a real agent when one can be
 * had. The double invalidates sessions at twice their TTL, as Consul does, and its
 * session_ttl_min is lowered to 1 s (an agent setting) so that the suite's 4 s ttl works.
 */
class ConsulDcsContractTest extends DcsContract {
    private static ConsulDouble consul;

    @BeforeAll
    static void startDouble() throws Exception {
        consul = ConsulDouble.create().sessionTtlMin(Duration.ofSeconds(1));
    }

    @AfterAll
    static void stopDouble() {
        consul.close();
    }

    @Override
    protected Dcs connect(String scope, String member, Duration ttl) throws Exception {
        return DcsProvider.find("consul")
                .create(new DcsSettings(
                        null, scope, member, ttl, Duration.ofSeconds(3), Map.of("host", consul.hostPort())));
    }

    @Override
    protected void putRaw(String scope, String key, String value) throws Exception {
        put("http://" + consul.hostPort(), "service/" + scope + "/" + key, value);
    }

    @Override
    protected void stopStore() {
        consul.stop();
    }

    @Override
    protected void startStore() throws Exception {
        consul.start();
    }

    static void put(String baseUrl, String key, String value) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create(baseUrl + "/v1/kv/" + key))
                                .PUT(HttpRequest.BodyPublishers.ofString(value))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("PUT " + key).isEqualTo(200);
        assertThat(r.body()).isEqualTo("true");
    }
}
