package io.pgha.rest;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * How a node's REST API listens and whom it lets in: Patroni's {@code restapi:} section, typed.
 * Immutable; build it with {@link #builder()} or read Patroni's YAML section with
 * {@link #fromPatroni(Map)}.
 *
 * <p>Writes ({@code PATCH /config}, {@code POST /switchover}, ...) need HTTP Basic auth when
 * {@linkplain Builder#authentication credentials} are set, and come only from addresses in the
 * {@linkplain Builder#allowlist allowlist} when one is set (plus the members' own addresses with
 * {@code allowlist_include_members}). Reads stay open, as in Patroni.
 */
public final class RestApiConfig {

    /** Patroni's {@code restapi.verify_client}. */
    public enum VerifyClient {
        /** No client certificate is asked for. */
        NONE,
        /** A certificate is asked for; writes are refused (403) without one. */
        OPTIONAL,
        /** The TLS handshake fails without a valid client certificate. */
        REQUIRED
    }

    private final String listenHost;
    private final int listenPort;
    private final String connectAddress;
    private final String username;
    private final String password;
    private final List<String> allowlist;
    private final boolean allowlistIncludeMembers;
    private final Path certfile;
    private final Path keyfile;
    private final String keyfilePassword;
    private final Path cafile;
    private final VerifyClient verifyClient;
    private final Map<String, String> httpExtraHeaders;
    private final int threadPoolSize;
    private final int maxBodyBytes;
    private final Duration readTimeout;

    private RestApiConfig(Builder b) {
        this.listenHost = b.listenHost;
        this.listenPort = b.listenPort;
        this.connectAddress = b.connectAddress;
        this.username = b.username;
        this.password = b.password;
        this.allowlist = List.copyOf(b.allowlist);
        this.allowlistIncludeMembers = b.allowlistIncludeMembers;
        this.certfile = b.certfile;
        this.keyfile = b.keyfile;
        this.keyfilePassword = b.keyfilePassword;
        this.cafile = b.cafile;
        this.verifyClient = b.verifyClient;
        Map<String, String> headers = new LinkedHashMap<>(b.httpExtraHeaders);
        if (b.certfile != null) {
            headers.putAll(b.httpsExtraHeaders);
        }
        this.httpExtraHeaders = Collections.unmodifiableMap(headers);
        this.threadPoolSize = b.threadPoolSize;
        this.maxBodyBytes = b.maxBodyBytes;
        this.readTimeout = b.readTimeout;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Reads Patroni's {@code restapi:} section as parsed from YAML: {@code listen},
     * {@code connect_address}, {@code authentication.username/password}, {@code allowlist},
     * {@code allowlist_include_members}, {@code certfile}, {@code keyfile}, {@code keyfile_password},
     * {@code cafile}, {@code verify_client}, {@code http_extra_headers}, {@code https_extra_headers},
     * {@code thread_pool_size}. Unknown keys ({@code ciphers}, {@code server_tokens},
     * {@code request_queue_size}) are accepted and ignored.
     *
     * @throws IllegalArgumentException naming the key when a value is missing or malformed
     */
    public static RestApiConfig fromPatroni(Map<String, ?> restapi) {
        Objects.requireNonNull(restapi, "restapi");
        Builder b = builder();
        Object listen = restapi.get("listen");
        if (listen == null) {
            throw new IllegalArgumentException("restapi.listen is required (<host>:<port>)");
        }
        HostPort hp = HostPort.parse(listen.toString(), "restapi.listen");
        b.listen(hp.host(), hp.port());
        if (restapi.get("connect_address") != null) {
            b.connectAddress(restapi.get("connect_address").toString());
        }
        Object auth = restapi.get("authentication");
        if (auth == null && restapi.containsKey("authentication")) {
            // an empty section reads as "writes are protected" but protects nothing; Patroni 3.0.2
            // fails on it too, with a traceback (TypeError formatting the credentials)
            throw new IllegalArgumentException("restapi.authentication is empty: give it a username and a password,"
                    + " or remove it to leave the REST API's writes open to every client that can reach it");
        }
        if (auth != null) {
            if (!(auth instanceof Map<?, ?> a)
                    || a.get("username") == null
                    || a.get("password") == null
                    || a.get("username").toString().isEmpty()
                    || a.get("password").toString().isEmpty()) {
                throw new IllegalArgumentException("restapi.authentication must have username and password");
            }
            b.authentication(a.get("username").toString(), a.get("password").toString());
        }
        Object allow = restapi.get("allowlist");
        if (allow != null) {
            if (!(allow instanceof List<?> l)) {
                throw new IllegalArgumentException(
                        "restapi.allowlist must be a list of addresses or CIDRs, got: " + allow);
            }
            List<String> entries = new ArrayList<>();
            l.forEach(e -> entries.add(String.valueOf(e)));
            b.allowlist(entries);
        }
        b.allowlistIncludeMembers(isTrue(restapi.get("allowlist_include_members")));
        b.certfile = path(restapi, "certfile");
        b.keyfile = path(restapi, "keyfile");
        b.cafile = path(restapi, "cafile");
        b.keyfilePassword = restapi.get("keyfile_password") == null
                ? null
                : restapi.get("keyfile_password").toString();
        Object verify = restapi.get("verify_client");
        if (verify != null) {
            try {
                b.verifyClient(VerifyClient.valueOf(verify.toString().trim().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        "restapi.verify_client must be none, optional or required, got: " + verify);
            }
        }
        b.httpExtraHeaders(headers(restapi, "http_extra_headers"));
        b.httpsExtraHeaders = headers(restapi, "https_extra_headers");
        Object pool = restapi.get("thread_pool_size");
        if (pool != null) {
            try {
                b.threadPoolSize(Integer.parseInt(pool.toString().trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("restapi.thread_pool_size must be an integer, got: " + pool);
            }
        }
        return b.build();
    }

    private static Path path(Map<String, ?> m, String key) {
        Object v = m.get(key);
        return v == null || v.toString().isBlank() ? null : Path.of(v.toString());
    }

    private static Map<String, String> headers(Map<String, ?> m, String key) {
        Object v = m.get(key);
        if (v == null) {
            return Map.of();
        }
        if (!(v instanceof Map<?, ?> h)) {
            throw new IllegalArgumentException("restapi." + key + " must be a map of header name to value, got: " + v);
        }
        Map<String, String> out = new LinkedHashMap<>();
        h.forEach((k, val) -> out.put(String.valueOf(k), String.valueOf(val)));
        return out;
    }

    private static boolean isTrue(Object v) {
        return v instanceof Boolean bool
                ? bool
                : v != null
                        && List.of("true", "on", "yes", "1")
                                .contains(v.toString().trim().toLowerCase(Locale.ROOT));
    }

    public String listenHost() {
        return listenHost;
    }

    public int listenPort() {
        return listenPort;
    }

    /** The host:port other members and clients use; null: the listen address. */
    public String connectAddress() {
        return connectAddress;
    }

    public String username() {
        return username;
    }

    public String password() {
        return password;
    }

    public boolean hasAuthentication() {
        return username != null;
    }

    public List<String> allowlist() {
        return allowlist;
    }

    public boolean allowlistIncludeMembers() {
        return allowlistIncludeMembers;
    }

    public Path certfile() {
        return certfile;
    }

    public Path keyfile() {
        return keyfile;
    }

    public String keyfilePassword() {
        return keyfilePassword;
    }

    public Path cafile() {
        return cafile;
    }

    public VerifyClient verifyClient() {
        return verifyClient;
    }

    /** The server's TLS context from {@code certfile}, {@code keyfile} and {@code cafile}. */
    public javax.net.ssl.SSLContext serverSslContext()
            throws java.io.IOException, java.security.GeneralSecurityException {
        return PemTls.serverContext(this);
    }

    public boolean isTls() {
        return certfile != null;
    }

    /** Headers added to every response ({@code https_extra_headers} included when TLS is on). */
    public Map<String, String> httpExtraHeaders() {
        return httpExtraHeaders;
    }

    public int threadPoolSize() {
        return threadPoolSize;
    }

    public int maxBodyBytes() {
        return maxBodyBytes;
    }

    public Duration readTimeout() {
        return readTimeout;
    }

    @Override
    public String toString() {
        return "RestApiConfig{listen=" + listenHost + ":" + listenPort + ", connect_address=" + connectAddress
                + ", tls=" + isTls() + ", auth=" + hasAuthentication() + ", allowlist=" + allowlist + "}";
    }

    /** Builder with Patroni's defaults: listen 127.0.0.1:8008, no auth, no TLS, five threads. */
    public static final class Builder {
        private String listenHost = "127.0.0.1";
        private int listenPort = 8008;
        private String connectAddress;
        private String username;
        private String password;
        private List<String> allowlist = List.of();
        private boolean allowlistIncludeMembers;
        private Path certfile;
        private Path keyfile;
        private String keyfilePassword;
        private Path cafile;
        private VerifyClient verifyClient = VerifyClient.NONE;
        private Map<String, String> httpExtraHeaders = Map.of();
        private Map<String, String> httpsExtraHeaders = Map.of();
        private int threadPoolSize = 8;
        private int maxBodyBytes = 64 * 1024;
        private Duration readTimeout = Duration.ofSeconds(5);

        private Builder() {}

        /** Host ("" or "*" or "0.0.0.0" for every interface) and port (0: any free port). */
        public Builder listen(String host, int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("restapi.listen port out of range: " + port);
            }
            this.listenHost = host == null || host.isBlank() || host.equals("*") ? "0.0.0.0" : host;
            this.listenPort = port;
            return this;
        }

        /** host:port advertised as this member's api_url. */
        public Builder connectAddress(String hostPort) {
            if (hostPort != null) {
                HostPort.parse(hostPort, "restapi.connect_address");
            }
            this.connectAddress = hostPort;
            return this;
        }

        public Builder authentication(String username, String password) {
            if ((username == null) != (password == null)) {
                throw new IllegalArgumentException("restapi.authentication needs both username and password");
            }
            this.username = username;
            this.password = password;
            return this;
        }

        /** Client addresses, host names or CIDRs allowed to call the write endpoints. */
        public Builder allowlist(List<String> entries) {
            this.allowlist = List.copyOf(entries);
            return this;
        }

        public Builder allowlistIncludeMembers(boolean include) {
            this.allowlistIncludeMembers = include;
            return this;
        }

        /**
         * Turns TLS on. PEM files as Patroni takes them: the certificate (chain) file, the key file
         * (PKCS#8, encrypted PKCS#8 with {@code keyfilePassword}, or PKCS#1 RSA; null: the key is in
         * {@code certfile}), and the CA file that verifies client certificates.
         */
        public Builder tls(
                Path certfile, Path keyfile, String keyfilePassword, Path cafile, VerifyClient verifyClient) {
            this.certfile = Objects.requireNonNull(certfile, "restapi.certfile");
            this.keyfile = keyfile;
            this.keyfilePassword = keyfilePassword;
            this.cafile = cafile;
            this.verifyClient = verifyClient == null ? VerifyClient.NONE : verifyClient;
            return this;
        }

        public Builder verifyClient(VerifyClient verifyClient) {
            this.verifyClient = Objects.requireNonNull(verifyClient, "restapi.verify_client");
            return this;
        }

        public Builder httpExtraHeaders(Map<String, String> headers) {
            this.httpExtraHeaders = Map.copyOf(headers);
            return this;
        }

        /** Worker threads (at least 2): a slow client holds one, never the others. */
        public Builder threadPoolSize(int threads) {
            if (threads < 1) {
                throw new IllegalArgumentException("restapi.thread_pool_size must be positive, got: " + threads);
            }
            this.threadPoolSize = Math.max(2, threads);
            return this;
        }

        /** Largest request body accepted (default 64 KiB); bigger ones get 413. */
        public Builder maxBodyBytes(int bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("maxBodyBytes must be positive, got: " + bytes);
            }
            this.maxBodyBytes = bytes;
            return this;
        }

        /** How long a request body may take to arrive (default 5 s); a slower client gets 408. */
        public Builder readTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("readTimeout must be positive, got: " + timeout);
            }
            this.readTimeout = timeout;
            return this;
        }

        public RestApiConfig build() {
            if (verifyClient != VerifyClient.NONE && certfile == null) {
                throw new IllegalArgumentException("restapi.verify_client needs restapi.certfile (TLS)");
            }
            if (verifyClient != VerifyClient.NONE && cafile == null) {
                throw new IllegalArgumentException(
                        "restapi.verify_client needs restapi.cafile to verify client certificates");
            }
            return new RestApiConfig(this);
        }
    }

    /** host:port as Patroni writes it ({@code [::1]:8008}, {@code *:8008}, {@code :8008}). */
    record HostPort(String host, int port) {
        static HostPort parse(String text, String key) {
            String t = text.trim();
            int colon = t.lastIndexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException(key + ": expected <host>:<port>, got \"" + text + "\"");
            }
            String host = t.substring(0, colon);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            int port;
            try {
                port = Integer.parseInt(t.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(key + ": expected <host>:<port>, got \"" + text + "\"");
            }
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException(key + ": port out of range in \"" + text + "\"");
            }
            return new HostPort(host, port);
        }
    }
    /** The REST API's write endpoints (methods and paths), named in the warning when they are open. */
    private static final String WRITE_ENDPOINTS = "PATCH/PUT /config, POST /switchover, POST /failover, POST /restart,"
            + " POST /reload, POST /reinitialize, POST /failsafe, DELETE /switchover, DELETE /restart";

    /**
     * The warning logged at start when {@code restapi.authentication} is absent (writes then need
     * no credentials, as in Patroni), naming the open write endpoints and who can reach them; null
     * when authentication is set.
     */
    public String openWritesWarning() {
        if (hasAuthentication()) {
            return null;
        }
        String who = allowlist().isEmpty()
                ? "any client that can reach " + listenHost() + ":" + listenPort()
                : "any client from restapi.allowlist " + allowlist();
        String tls =
                verifyClient() == VerifyClient.REQUIRED ? " holding a client certificate signed by restapi.cafile" : "";
        return "restapi.authentication is not set: the REST API's writes (" + WRITE_ENDPOINTS
                + ") need no credentials, as in Patroni; " + who + tls
                + " may switch over, restart or reconfigure the cluster. Set restapi.authentication"
                + " (username, password) and an allowlist (docs/security.md)";
    }
}
