package io.pgha.api;

import com.sun.net.httpserver.HttpExchange;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One request and its response: the parsed path and query, a bounded and timed body read, and
 * the ways Patroni answers (plain text, JSON, the status line alone). Used by one thread.
 */
final class ApiExchange {
    final HttpExchange http;
    final String method;
    final String path;
    /** First value of each query parameter; blank values dropped, as Python's parse_qs does. */
    final Map<String, String> query;

    /** The longest path and query accepted (414 beyond). */
    static final int MAX_URI_CHARS = 4096;
    /** The most query parameters accepted (400 beyond). */
    static final int MAX_QUERY_PARAMETERS = 64;

    private final int uriChars;
    private final int queryParameters;
    private final Map<String, String> extraHeaders;
    private final int maxBody;
    private final long readTimeoutMillis;
    private final ScheduledExecutorService watchdog;
    private boolean answered;

    ApiExchange(
            HttpExchange http,
            Map<String, String> extraHeaders,
            int maxBody,
            long readTimeoutMillis,
            ScheduledExecutorService watchdog) {
        this.http = http;
        this.method = http.getRequestMethod().toUpperCase(Locale.ROOT);
        String p = http.getRequestURI().getRawPath();
        String q = http.getRequestURI().getRawQuery();
        this.uriChars = (p == null ? 0 : p.length()) + (q == null ? 0 : q.length() + 1);
        this.queryParameters = q == null || q.isEmpty() ? 0 : q.split("[&;]", -1).length;
        boolean parse = uriChars <= MAX_URI_CHARS && queryParameters <= MAX_QUERY_PARAMETERS;
        this.path = p == null || p.isEmpty() ? "/" : parse ? decode(p) : p.substring(0, Math.min(p.length(), 64));
        this.query = parse ? parseQuery(q) : Map.of();
        this.extraHeaders = extraHeaders;
        this.maxBody = maxBody;
        this.readTimeoutMillis = readTimeoutMillis;
        this.watchdog = watchdog;
    }

    private static Map<String, String> parseQuery(String raw) {
        if (raw == null || raw.isEmpty()) {
            return Map.of();
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (String pair : raw.split("[&;]", -1)) {
            int eq = pair.indexOf('=');
            String k = decode(eq < 0 ? pair : pair.substring(0, eq));
            String v = eq < 0 ? "" : decode(pair.substring(eq + 1));
            if (!k.isEmpty() && !v.isEmpty()) {
                out.putIfAbsent(k, v);
            }
        }
        return Collections.unmodifiableMap(out);
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s;
        }
    }

    /** 414 for a path and query longer than {@link #MAX_URI_CHARS}, 400 for more than {@link #MAX_QUERY_PARAMETERS} parameters. */
    void checkLimits() throws ApiError {
        if (uriChars > MAX_URI_CHARS) {
            throw new ApiError(414, "the path and query are longer than " + MAX_URI_CHARS + " characters");
        }
        if (queryParameters > MAX_QUERY_PARAMETERS) {
            throw new ApiError(400, "more than " + MAX_QUERY_PARAMETERS + " query parameters");
        }
    }

    boolean answered() {
        return answered;
    }

    /**
     * Reads the body: at most {@code maxBody} bytes (413 beyond, without reading the rest), within
     * the read timeout (408; a client that stalls inside one read is cut off by the watchdog).
     * Returns null when the request declares no body at all.
     */
    byte[] body() throws ApiError, IOException {
        String length = http.getRequestHeaders().getFirst("Content-Length");
        String encoding = http.getRequestHeaders().getFirst("Transfer-Encoding");
        if (length == null && encoding == null) {
            return null;
        }
        if (length != null) {
            long declared;
            try {
                declared = Long.parseLong(length.trim());
            } catch (NumberFormatException e) {
                throw new ApiError(400, "bad Content-Length: " + length);
            }
            if (declared > maxBody) {
                throw new ApiError(
                        413,
                        "request body of " + declared + " bytes is larger than the limit of " + maxBody + " bytes");
            }
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(readTimeoutMillis);
        // a read that blocks past the deadline cannot see it: close the connection under it
        ScheduledFuture<?> guard = watchdog.schedule(http::close, readTimeoutMillis + 1000, TimeUnit.MILLISECONDS);
        try (InputStream in = http.getRequestBody()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
                if (out.size() > maxBody) {
                    throw new ApiError(413, "request body is larger than the limit of " + maxBody + " bytes");
                }
                if (System.nanoTime() > deadline) {
                    throw new ApiError(408, "request body not received within " + readTimeoutMillis + " ms");
                }
            }
            return out.toByteArray();
        } finally {
            guard.cancel(false);
        }
    }

    /**
     * The body as a JSON object. {@code optional}: no body or an empty one is an empty map;
     * otherwise it is 411 (no length, as Patroni) or 400 (empty). Not an object: 400.
     */
    Map<String, Object> jsonObject(boolean optional) throws ApiError, IOException {
        byte[] body = body();
        if (body == null) {
            if (optional) {
                return new LinkedHashMap<>();
            }
            throw new ApiError(411, "a JSON body with a Content-Length is required");
        }
        String text = new String(body, StandardCharsets.UTF_8);
        if (text.isBlank()) {
            if (optional) {
                return new LinkedHashMap<>();
            }
            throw new ApiError(400, "a JSON object body is required");
        }
        Object json = Json.read(text);
        if (!(json instanceof Map<?, ?> map)) {
            throw new ApiError(400, "the body must be a JSON object, got: " + abbreviate(text));
        }
        if (map.isEmpty() && !optional) {
            throw new ApiError(400, "the body must be a non-empty JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> result = (Map<String, Object>) map;
        return result;
    }

    private static String abbreviate(String s) {
        String t = s.strip();
        return t.length() > 60 ? t.substring(0, 60) + "..." : t;
    }

    void text(int status, String message) throws IOException {
        text(status, message, Map.of());
    }

    void text(int status, String message, Map<String, String> headers) throws IOException {
        send(status, message.getBytes(StandardCharsets.UTF_8), "text/plain; charset=utf-8", headers);
    }

    void json(int status, Object value) throws IOException {
        send(status, Json.write(value).getBytes(StandardCharsets.UTF_8), "application/json", Map.of());
    }

    void prometheus(String text) throws IOException {
        send(200, text.getBytes(StandardCharsets.UTF_8), "text/plain; version=0.0.4; charset=utf-8", Map.of());
    }

    /** The status line alone (HEAD, OPTIONS, /liveness, /readiness), as HAProxy's checks want it. */
    void statusOnly(int status) throws IOException {
        answered = true;
        extraHeaders.forEach((k, v) -> http.getResponseHeaders().add(k, v));
        http.sendResponseHeaders(status, -1);
        http.close();
    }

    private void send(int status, byte[] body, String contentType, Map<String, String> headers) throws IOException {
        answered = true;
        http.getResponseHeaders().set("Content-Type", contentType);
        headers.forEach((k, v) -> http.getResponseHeaders().set(k, v));
        extraHeaders.forEach((k, v) -> http.getResponseHeaders().add(k, v));
        if ("HEAD".equals(method)) {
            http.sendResponseHeaders(status, -1);
        } else {
            http.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
            try (OutputStream out = http.getResponseBody()) {
                out.write(body);
            }
        }
        http.close();
    }
}
