package io.pgha.rest;

import io.pgha.dcs.DcsJson;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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
 *
 * <p>A member's {@code api_url} comes from the DCS, so it is not trusted (issue 19, item 5): a URL
 * that is not {@code http(s)://host:port/path} without user info is not called at all; the
 * credentials go only over the scheme this node's own API uses ({@code https} when it has TLS), so
 * a planted {@code http://} URL never receives them in clear; redirects are not followed; the whole
 * exchange, body included, ends within the timeout given, and an answer longer than
 * {@link #MAX_BODY_BYTES} is dropped unread past the cap.
 */
public final class PatroniClient {
    private static final Logger LOG = LoggerFactory.getLogger(PatroniClient.class);

    /** The largest answer read from a member; a longer one is a failed call. */
    public static final int MAX_BODY_BYTES = 256 * 1024;

    private final HttpClient http;
    private final String authorization;
    private final String credentialScheme;

    private PatroniClient(HttpClient http, String authorization, String credentialScheme) {
        this.http = http;
        this.authorization = authorization;
        this.credentialScheme = credentialScheme;
    }

    /** A client without credentials or TLS material (the JDK's default trust store for https). */
    public static PatroniClient create() {
        return new PatroniClient(
                HttpClient.newBuilder()
                        .version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(2))
                        .followRedirects(HttpClient.Redirect.NEVER)
                        .build(),
                null,
                "http");
    }

    /** A client with the node's own credentials and TLS material from its {@code restapi:} config. */
    public static PatroniClient create(RestApiConfig config) {
        Objects.requireNonNull(config, "config");
        HttpClient.Builder b = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2))
                .followRedirects(HttpClient.Redirect.NEVER);
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
        return new PatroniClient(b.build(), auth, config.isTls() ? "https" : "http");
    }

    /**
     * {@code GET <apiUrl>} (a member's {@code api_url}, which ends with {@code /patroni}): its status
     * JSON, or empty when it does not answer 200 with a JSON object within {@code timeout}.
     */
    public Optional<Map<String, Object>> getPatroni(String apiUrl, Duration timeout) {
        try {
            HttpRequest req =
                    request(checked(URI.create(apiUrl)), timeout).GET().build();
            HttpResponse<String> resp = send(req, timeout);
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
            uri = checked(URI.create(apiUrl)).resolve("/failsafe");
        } catch (IllegalArgumentException e) {
            LOG.warn("Bad api_url {}: {}", apiUrl, e.getMessage());
            return false;
        }
        try {
            HttpRequest req = request(uri, timeout)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(DcsJson.write(body)))
                    .build();
            HttpResponse<String> resp = send(req, timeout);
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
        if (authorization != null && credentialScheme.equalsIgnoreCase(uri.getScheme())) {
            b.header("Authorization", authorization);
        }
        return b;
    }

    /** An api_url fit to be called: http(s), a host, no user info; IllegalArgumentException otherwise. */
    static URI checked(URI uri) {
        String scheme = uri.getScheme();
        if (scheme == null
                || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))
                || uri.getHost() == null
                || uri.getRawUserInfo() != null) {
            throw new IllegalArgumentException("not an http(s)://host[:port]/path URL");
        }
        return uri;
    }

    /** The answer, read whole within {@code timeout} from the start and at most {@link #MAX_BODY_BYTES} long. */
    private HttpResponse<String> send(HttpRequest req, Duration timeout) throws IOException, InterruptedException {
        CompletableFuture<HttpResponse<String>> call = http.sendAsync(req, info -> limited());
        try {
            return call.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            call.cancel(true);
            throw new HttpTimeoutException("no whole answer within " + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            call.cancel(true);
            throw e;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            throw new IOException(cause == null ? e.toString() : cause.toString(), cause);
        }
    }

    /** A body read into memory up to {@link #MAX_BODY_BYTES}; beyond, the exchange is cancelled and fails. */
    private static HttpResponse.BodySubscriber<String> limited() {
        return new HttpResponse.BodySubscriber<>() {
            private final CompletableFuture<String> result = new CompletableFuture<>();
            private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
            private Flow.Subscription subscription;

            @Override
            public CompletionStage<String> getBody() {
                return result;
            }

            @Override
            public void onSubscribe(Flow.Subscription s) {
                subscription = s;
                s.request(Long.MAX_VALUE);
            }

            @Override
            public void onNext(List<ByteBuffer> items) {
                if (result.isDone()) {
                    return;
                }
                for (ByteBuffer b : items) {
                    if (buffer.size() + b.remaining() > MAX_BODY_BYTES) {
                        subscription.cancel();
                        result.completeExceptionally(
                                new IOException("answer longer than " + MAX_BODY_BYTES + " bytes"));
                        return;
                    }
                    byte[] bytes = new byte[b.remaining()];
                    b.get(bytes);
                    buffer.write(bytes, 0, bytes.length);
                }
            }

            @Override
            public void onError(Throwable t) {
                result.completeExceptionally(t);
            }

            @Override
            public void onComplete() {
                result.complete(buffer.toString(StandardCharsets.UTF_8));
            }
        };
    }
}
