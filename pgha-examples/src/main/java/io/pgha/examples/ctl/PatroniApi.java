package io.pgha.examples.ctl;

import io.pgha.dcs.DcsJson;
import io.pgha.dcs.Member;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * Calls a member's Patroni-compatible REST API, as patronictl's {@code PatroniRequest} does: the
 * URL is the member's {@code api_url} with its last path element replaced by the endpoint; writes
 * carry HTTP Basic auth when the config has credentials. Thread-safe.
 */
final class PatroniApi {
    /** A write may wait for its outcome (a switchover polls up to 2 * max(10, loop_wait) seconds). */
    static final Duration WRITE_TIMEOUT = Duration.ofSeconds(90);

    static final Duration READ_TIMEOUT = Duration.ofSeconds(5);

    private final HttpClient http;
    private final String authorization;

    /** The answer of a member: its status code and body text. */
    record Response(int status, String body) {
        boolean ok() {
            return status < 400;
        }

        /** The body on one line, for messages. */
        String text() {
            return CtlException.oneLine(body);
        }
    }

    /** The member's API could not be reached at all (refused, timed out, no api_url). */
    static final class Unreachable extends IOException {
        private static final long serialVersionUID = 1L;

        Unreachable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    PatroniApi(CtlConfig config) {
        HttpClient.Builder b = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(5))
                .followRedirects(HttpClient.Redirect.NEVER);
        if (config.insecure() || config.cacert() != null) {
            b.sslContext(sslContext(config));
        }
        this.http = b.build();
        this.authorization = config.username() == null
                ? null
                : "Basic "
                        + Base64.getEncoder()
                                .encodeToString(
                                        (config.username() + ":" + (config.password() == null ? "" : config.password()))
                                                .getBytes(StandardCharsets.UTF_8));
    }

    Response get(Member member, String endpoint) throws Unreachable {
        return call(member, "GET", endpoint, null, READ_TIMEOUT);
    }

    Response call(Member member, String method, String endpoint, Object body) throws Unreachable {
        return call(member, method, endpoint, body, WRITE_TIMEOUT);
    }

    Response call(Member member, String method, String endpoint, Object body, Duration timeout) throws Unreachable {
        URI uri = uri(member, endpoint);
        HttpRequest.Builder req = HttpRequest.newBuilder(uri)
                .timeout(timeout)
                .method(
                        method,
                        body == null
                                ? HttpRequest.BodyPublishers.noBody()
                                : HttpRequest.BodyPublishers.ofString(DcsJson.write(body)));
        if (body != null) {
            req.header("Content-Type", "application/json");
        }
        if (authorization != null) {
            req.header("Authorization", authorization);
        }
        try {
            HttpResponse<String> r = http.send(req.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            return new Response(r.statusCode(), r.body() == null ? "" : r.body());
        } catch (ConnectException | HttpTimeoutException e) {
            throw new Unreachable(member.name() + "'s REST API at " + uri + " is unreachable: " + describe(e), e);
        } catch (IOException e) {
            throw new Unreachable(member.name() + "'s REST API at " + uri + " failed: " + describe(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unreachable("interrupted while calling " + uri, e);
        }
    }

    static URI uri(Member member, String endpoint) throws Unreachable {
        String api = member.apiUrl();
        if (api == null || api.isBlank()) {
            throw new Unreachable("member " + member.name() + " has no api_url in the DCS", null);
        }
        int slash = api.lastIndexOf('/');
        String base = slash > api.indexOf("//") + 1 ? api.substring(0, slash) : api;
        try {
            return URI.create(base + "/" + endpoint);
        } catch (IllegalArgumentException e) {
            throw new Unreachable("member " + member.name() + " has a malformed api_url '" + api + "'", e);
        }
    }

    private static String describe(Exception e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    private static SSLContext sslContext(CtlConfig config) {
        try {
            TrustManager[] trust;
            if (config.insecure()) {
                // -k: patronictl's insecure mode. The JDK client checks host names unless told not to.
                System.setProperty("jdk.internal.httpclient.disableHostnameVerification", "true");
                trust = new TrustManager[] {new TrustAll()};
            } else {
                trust = trustManagers(config.cacert());
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, trust, new SecureRandom());
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new CtlException("cannot use the CA certificate " + config.cacert() + ": " + e.getMessage());
        }
    }

    private static TrustManager[] trustManagers(Path cacert) throws GeneralSecurityException, IOException {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        int i = 0;
        try (InputStream in = Files.newInputStream(cacert)) {
            for (Certificate c : cf.generateCertificates(in)) {
                ks.setCertificateEntry("ca" + i++, c);
            }
        }
        if (i == 0) {
            throw new GeneralSecurityException("no certificate in the file");
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        return tmf.getTrustManagers();
    }

    private static final class TrustAll implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
