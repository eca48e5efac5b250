package io.pgha.rest;

import io.pgha.dcs.DcsJson;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Calls other members' REST APIs the way Patroni's HA loop does: {@code GET /patroni} for the
 * leader race's healthiest-node check and {@code POST /failsafe} for failsafe mode. Never throws
 * for a member that is down or slow: the answer is empty / false, and the reason is logged.
 *
 * <p>Thread-safe; one instance serves every thread of a node. Requests use HTTP/1.1, carry the
 * node's Basic credentials when it has them (Patroni's members share {@code restapi.authentication}),
 * and for {@code https} URLs trust {@code restapi.cafile} and present {@code restapi.certfile}.
 */
public final class PatroniClient {
    private static final Logger LOG = LoggerFactory.getLogger(PatroniClient.class);

    private final HttpClient http;
    private final String authorization;

    private PatroniClient(HttpClient http, String authorization) {
        this.http = http;
        this.authorization = authorization;
    }

    /** A client without credentials or TLS material (the JDK's default trust store for https). */
    public static PatroniClient create() {
        return new PatroniClient(
                HttpClient.newBuilder()
                        .version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(2))
                        .build(),
                null);
    }

    /** A client with the node's own credentials and TLS material from its {@code restapi:} config. */
    public static PatroniClient create(RestApiConfig config) {
        Objects.requireNonNull(config, "config");
        HttpClient.Builder b =
                HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2));
        if (config.isTls()) {
            try {
                SSLContext ctx = PemTls.clientContext(config);
                b.sslContext(ctx);
            } catch (IOException | GeneralSecurityException e) {
                throw new IllegalArgumentException(
                        "restapi TLS files cannot be used by the peer client: " + e.getMessage(), e);
            }
        }
        String auth = config.hasAuthentication()
                ? "Basic "
                        + Base64.getEncoder()
                                .encodeToString(
                                        (config.username() + ":" + config.password()).getBytes(StandardCharsets.UTF_8))
                : null;
        return new PatroniClient(b.build(), auth);
    }

    /**
     * {@code GET <apiUrl>} (a member's {@code api_url}, which ends with {@code /patroni}): its status
     * JSON, or empty when it does not answer 200 with a JSON object within {@code timeout}.
     */
    public Optional<Map<String, Object>> getPatroni(String apiUrl, Duration timeout) {
        try {
            HttpRequest req = request(URI.create(apiUrl), timeout).GET().build();
            HttpResponse<String> resp = http.send(req, HttpResponse.BodyHandlers.ofString());
            if (resp.statusCode() != 200) {
                LOG.warn("GET {} answered {}", apiUrl, resp.statusCode());
                return Optional.empty();
            }
            try {
                return Optional.of(DcsJson.readObject(resp.body()));
            } catch (IllegalArgumentException e) {
                LOG.warn("GET {} did not answer a JSON object", apiUrl);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException | IllegalArgumentException e) {
            LOG.warn(
                    "Request failed: GET {} ({})",
                    apiUrl,
                    e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        }
        return Optional.empty();
    }

    /**
     * {@code POST /failsafe} on the member whose {@code api_url} is given: true when it answers 200
     * {@code Accepted} (it agrees that the caller may go on as the primary).
     */
    public boolean postFailsafe(String apiUrl, Map<String, ?> body, Duration timeout) {
        URI uri;
        try {
            uri = URI.create(apiUrl).resolve("/failsafe");
        } catch (IllegalArgumentException e) {
            LOG.warn("Bad api_url {}: {}", apiUrl, e.getMessage());
            return false;
        }
        try {
            HttpRequest req = request(uri, timeout)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(DcsJson.write(body)))
                    .build();
            HttpResponse<String> resp = http.send(req, HttpResponse.BodyHandlers.ofString());
            boolean accepted = resp.statusCode() == 200 && "Accepted".equals(resp.body());
            if (!accepted) {
                LOG.info("POST {} answered {} {}", uri, resp.statusCode(), resp.body());
            }
            return accepted;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException | IllegalArgumentException e) {
            LOG.warn(
                    "Request failed: POST {} ({})",
                    uri,
                    e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        }
        return false;
    }

    private HttpRequest.Builder request(URI uri, Duration timeout) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(timeout);
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return b;
    }
}
