package io.pgha.dcs.consul;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The double itself, on the documented Consul behaviour the adapter tests do not reach: behavior
 * release, lock-delay, cas=0, blocking queries, the 2x TTL grace, the TTL bounds.
 */
class ConsulDoubleTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();
    private ConsulDouble consul;

    @BeforeEach
    void start() throws Exception {
        consul = ConsulDouble.create().sessionTtlMin(Duration.ofMillis(100));
    }

    @AfterEach
    void stop() {
        consul.close();
    }

    private HttpResponse<String> call(String method, String path, String body) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create("http://" + consul.hostPort() + path))
                        .method(
                                method,
                                body == null
                                        ? HttpRequest.BodyPublishers.noBody()
                                        : HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private String session(String json) throws Exception {
        HttpResponse<String> r = call("PUT", "/v1/session/create", json);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body()).get("ID").asText();
    }

    @Test
    void behaviorReleaseKeepsTheKeyAndLockDelayBlocksOtherAcquirers() throws Exception {
        String s1 = session("{\"TTL\":\"10s\",\"LockDelay\":\"1s\",\"Checks\":[]}"); // behavior release by default
        String s2 = session("{\"TTL\":\"10s\",\"Checks\":[]}");
        assertThat(call("PUT", "/v1/kv/k?acquire=" + s1, "v").body()).isEqualTo("true");
        assertThat(call("PUT", "/v1/kv/k?acquire=" + s2, "w").body()).isEqualTo("false");
        assertThat(call("PUT", "/v1/session/destroy/" + s1, null).body()).isEqualTo("true");
        Map<?, ?> entry = consul.entry("k").orElseThrow();
        assertThat(entry.get("Session")).isNull();
        assertThat(entry.get("LockIndex")).isEqualTo(1L);
        assertThat(call("PUT", "/v1/kv/k?acquire=" + s2, "w").body())
                .as("within the lock-delay")
                .isEqualTo("false");
        Thread.sleep(1200);
        assertThat(call("PUT", "/v1/kv/k?acquire=" + s2, "w").body()).isEqualTo("true");
        assertThat(call("PUT", "/v1/kv/k?release=" + s1, "x").body())
                .as("release by a non-holder")
                .isEqualTo("false");
        assertThat(call("PUT", "/v1/kv/k?acquire=nope", "x").statusCode()).isEqualTo(500);
    }

    @Test
    void casZeroCreatesOnlyAndEmptyValuesAreNull() throws Exception {
        assertThat(call("PUT", "/v1/kv/a?cas=0", "").body()).isEqualTo("true");
        assertThat(call("PUT", "/v1/kv/a?cas=0", "x").body()).isEqualTo("false");
        HttpResponse<String> r = call("GET", "/v1/kv/a", null);
        assertThat(JSON.readTree(r.body()).get(0).get("Value").isNull()).isTrue();
        long idx = JSON.readTree(r.body()).get(0).get("ModifyIndex").asLong();
        assertThat(call("DELETE", "/v1/kv/a?cas=" + (idx + 1), null).body()).isEqualTo("false");
        assertThat(call("DELETE", "/v1/kv/a?cas=" + idx, null).body()).isEqualTo("true");
        HttpResponse<String> missing = call("GET", "/v1/kv/a", null);
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(Long.parseLong(missing.headers().firstValue("X-Consul-Index").orElseThrow()))
                .isGreaterThan(idx);
    }

    @Test
    void aBlockingQueryReturnsOnAChangeUnderThePrefixOrAfterTheWait() throws Exception {
        call("PUT", "/v1/kv/p/x", "1");
        call("PUT", "/v1/kv/q", "1");
        long idx = Long.parseLong(call("GET", "/v1/kv/p/?recurse", null)
                .headers()
                .firstValue("X-Consul-Index")
                .orElseThrow());
        long t0 = System.nanoTime();
        HttpResponse<String> timedOut = call("GET", "/v1/kv/p/?recurse&index=" + idx + "&wait=300ms", null);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(290));
        assertThat(timedOut.headers().firstValue("X-Consul-Index")).contains(Long.toString(idx));

        CompletableFuture<HttpResponse<String>> blocked = CompletableFuture.supplyAsync(() -> {
            try {
                return call("GET", "/v1/kv/p/?recurse&index=" + idx + "&wait=30s", null);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(200);
        call("PUT", "/v1/kv/q", "2"); // outside the prefix
        Thread.sleep(200);
        assertThat(blocked).isNotDone();
        call("PUT", "/v1/kv/p/y", "2");
        HttpResponse<String> woke = blocked.get(10, TimeUnit.SECONDS);
        assertThat(Long.parseLong(woke.headers().firstValue("X-Consul-Index").orElseThrow()))
                .isGreaterThan(idx);
        assertThat(JSON.readTree(woke.body()).size()).isEqualTo(2);
    }

    @Test
    void aSessionLivesBetweenOnceAndTwiceItsTtl() throws Exception {
        String s = session("{\"TTL\":\"2s\",\"Behavior\":\"delete\",\"Checks\":[]}");
        long t0 = System.nanoTime();
        call("PUT", "/v1/kv/l?acquire=" + s, "me");
        Thread.sleep(2300); // past the TTL, inside the grace
        assertThat(consul.sessionIds()).contains(s);
        while (consul.sessionIds().contains(s) && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10)) {
            Thread.sleep(20);
        }
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isBetween(Duration.ofSeconds(3), Duration.ofSeconds(10));
        assertThat(consul.entry("l")).isEmpty();
        assertThat(call("PUT", "/v1/session/renew/" + s, null).statusCode()).isEqualTo(404);
    }

    @Test
    void sessionDefaultsAndBounds() throws Exception {
        String s = session("{}");
        Map<String, Object> info = consul.sessionInfo(s).orElseThrow();
        assertThat(info).containsEntry("Behavior", "release").containsEntry("Checks", List.of("serfHealth"));
        assertThat(info.get("LockDelay")).isEqualTo(TimeUnit.SECONDS.toNanos(15));
        consul.sessionTtlMin(Duration.ofSeconds(10));
        HttpResponse<String> refused = call("PUT", "/v1/session/create", "{\"TTL\":\"5s\"}");
        assertThat(refused.statusCode()).isEqualTo(500);
        assertThat(refused.body()).contains("Invalid Session TTL");
    }
}
