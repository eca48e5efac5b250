package io.pgha.dcs.consul;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The two calls the client library cannot make precisely, sent with the JDK's HTTP client, with
 * the same address, ACL token, datacenter, TLS material and time bound as the library client:
 * <ul>
 *   <li>{@code DELETE /v1/kv/<key>?cas=<index>}: {@code KeyValueClient.deleteKey(key, DeleteOptions)}
 *       returns {@code void} and drops Consul's {@code true}/{@code false} answer, so a lost
 *       compare-and-delete would look like a success.</li>
 *   <li>{@code PUT /v1/session/create}: the library's {@code Session} model leaves an empty
 *       {@code Checks} list out of the JSON, and Consul then attaches the node's
 *       {@code serfHealth} check. Patroni sends {@code "Checks": []} (or the configured
 *       {@code checks}) so that only the TTL decides; so do we.</li>
 * </ul>
 * Thread-safe.
 */
final class RawConsul {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ConsulOptions options;
    private final HttpClient http;
    private volatile Duration timeout;

    RawConsul(ConsulOptions options, ConsulTls tls, Duration timeout) {
        this.options = options;
        this.timeout = timeout;
        HttpClient.Builder b = HttpClient.newBuilder()
                .connectTimeout(timeout.dividedBy(2)) // the request timeout below bounds the whole exchange
                .followRedirects(HttpClient.Redirect.NEVER)
                .version(HttpClient.Version.HTTP_1_1);
        if (tls != null) {
            b.sslContext(tls.sslContext());
        }
        this.http = b.build();
    }

    /**
     * {@code retry_timeout} changed: the next requests are bounded by {@code timeout} (the HTTP
     * client's connect timeout, fixed when built, stays; the request timeout bounds the exchange).
     */
    void timeout(Duration timeout) {
        this.timeout = timeout;
    }

    /** Deletes {@code key} only if its ModifyIndex is still {@code index}; Consul's answer. */
    boolean deleteCas(String key, long index) throws IOException, InterruptedException {
        HttpRequest.Builder req = HttpRequest.newBuilder(uri("/v1/kv/" + key, dcQuery("cas=" + index)))
                .timeout(timeout)
                .DELETE();
        return Boolean.parseBoolean(send(req).body().trim());
    }

    /**
     * Creates a session; its ID. An error status is a {@link StatusException} carrying Consul's
     * message (e.g. "Invalid Session TTL ...").
     */
    String createSession(String name, String ttl, String behavior, String lockDelay, List<String> checks)
            throws IOException, InterruptedException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("Name", name);
        body.put("TTL", ttl);
        body.put("Behavior", behavior);
        body.put("LockDelay", lockDelay);
        body.put("Checks", checks);
        HttpRequest.Builder req = HttpRequest.newBuilder(uri("/v1/session/create", dcQuery(null)))
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
        HttpResponse<String> resp = send(req);
        Object id = JSON.readValue(resp.body(), Map.class).get("ID");
        if (id == null) {
            throw new IOException("no ID in Consul's answer to session/create: " + resp.body());
        }
        return id.toString();
    }

    /** {@code PUT /v1/agent/service/register} with Consul's service definition (Patroni's register_service). */
    void registerService(Map<String, Object> definition) throws IOException, InterruptedException {
        HttpRequest.Builder req = HttpRequest.newBuilder(uri("/v1/agent/service/register", null))
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(definition)));
        send(req);
    }

    /** {@code PUT /v1/agent/service/deregister/<id>}. */
    void deregisterService(String id) throws IOException, InterruptedException {
        HttpRequest.Builder req = HttpRequest.newBuilder(uri("/v1/agent/service/deregister/" + id, null))
                .timeout(timeout)
                .PUT(HttpRequest.BodyPublishers.noBody());
        send(req);
    }

    private HttpResponse<String> send(HttpRequest.Builder req) throws IOException, InterruptedException {
        if (options.token() != null) {
            req.header("X-Consul-Token", options.token());
        }
        HttpResponse<String> resp = http.send(req.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        if (resp.statusCode() != 200) {
            throw new StatusException(resp.statusCode(), resp.body().trim());
        }
        return resp;
    }

    private String dcQuery(String query) {
        String dc = options.dc() == null ? null : "dc=" + URLEncoder.encode(options.dc(), StandardCharsets.UTF_8);
        if (dc == null) {
            return query;
        }
        return query == null ? dc : query + "&" + dc;
    }

    /** Consul answered with an error status. */
    static final class StatusException extends IOException {
        private static final long serialVersionUID = 1L;
        private final int status;

        StatusException(int status, String body) {
            super("HTTP " + status + ": " + body);
            this.status = status;
        }

        int status() {
            return status;
        }
    }

    private URI uri(String path, String query) {
        try {
            // the multi-argument constructor quotes what a path may not hold; '/' stays a separator
            return new URI(options.scheme(), null, options.host(), options.port(), path, query, null);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("cannot build a URL for '" + path + "': " + e.getMessage(), e);
        }
    }
}
