package io.pgha.dcs.etcd;

import io.pgha.dcs.spi.LoopbackHosts;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code etcd3:} section of a Patroni configuration file, validated.
 *
 * <p>Keys have Patroni's names: {@code host} ("host:port"), {@code hosts} (a list or a comma
 * separated string), {@code url}, {@code urls}, {@code protocol} ({@code http} or {@code https}),
 * {@code username}, {@code password}, {@code cacert}, {@code cert}, {@code key}. An unknown key, a
 * Patroni key pgha does not support, or a malformed value is an {@link IllegalArgumentException}
 * naming the key: a typo must not silently connect somewhere else or without TLS.
 *
 * @param endpoints the etcd client URLs, each {@code http(s)://host:port}
 * @param tls whether to connect with TLS
 * @param username etcd user, or null
 * @param password etcd password, or null
 * @param cacert PEM file of the CA that signed etcd's certificate, or null for the JVM's trust store
 * @param cert PEM client certificate, or null
 * @param key PEM client private key (PKCS#8), or null
 */
record EtcdOptions(
        List<URI> endpoints, boolean tls, String username, String password, Path cacert, Path cert, Path key) {

    static final int DEFAULT_PORT = 2379;
    static final String DEFAULT_HOST = "127.0.0.1:" + DEFAULT_PORT;

    private static final Set<String> KNOWN =
            Set.of("host", "hosts", "url", "urls", "protocol", "username", "password", "cacert", "cert", "key");
    /** Patroni keys that pgha recognizes but does not implement: refuse rather than ignore. */
    private static final Map<String, String> UNSUPPORTED = Map.of(
            "srv", "DNS SRV discovery is not supported; list the endpoints in 'hosts'",
            "srv_suffix", "DNS SRV discovery is not supported; list the endpoints in 'hosts'",
            "proxy", "etcd proxies are not supported; list the endpoints in 'hosts'",
            "use_proxies", "etcd proxies are not supported; list the endpoints in 'hosts'",
            "key_password", "encrypted private keys are not supported; give an unencrypted PKCS#8 'key'");

    EtcdOptions {
        endpoints = List.copyOf(endpoints);
    }

    /** Parses and validates the options map; see the class comment. */
    static EtcdOptions parse(Map<String, Object> options) {
        Map<String, Object> opts = options == null ? Map.of() : options;
        for (String k : opts.keySet()) {
            if (UNSUPPORTED.containsKey(k)) {
                throw new IllegalArgumentException("etcd3." + k + " is not supported by pgha: " + UNSUPPORTED.get(k));
            }
            if (!KNOWN.contains(k)) {
                throw new IllegalArgumentException(
                        "unknown etcd3 option '" + k + "' (known: " + new TreeSet<>(KNOWN) + ")");
            }
        }
        String protocol = string(opts, "protocol");
        protocol = protocol == null ? null : protocol.trim().toLowerCase(Locale.ROOT);
        if (protocol != null && !protocol.equals("http") && !protocol.equals("https")) {
            throw new IllegalArgumentException("etcd3.protocol must be http or https, not '" + protocol + "'");
        }
        String defaultScheme = protocol == null ? "http" : protocol;

        List<URI> endpoints = new ArrayList<>();
        addAll(endpoints, "host", opts.get("host"), defaultScheme);
        addAll(endpoints, "hosts", opts.get("hosts"), defaultScheme);
        addAll(endpoints, "url", opts.get("url"), defaultScheme);
        addAll(endpoints, "urls", opts.get("urls"), defaultScheme);
        if (endpoints.isEmpty()) {
            endpoints.add(endpoint("host", DEFAULT_HOST, defaultScheme));
        }
        Set<String> schemes = new TreeSet<>();
        endpoints.forEach(u -> schemes.add(u.getScheme()));
        if (schemes.size() > 1) {
            throw new IllegalArgumentException("etcd3 endpoints mix http and https: " + endpoints);
        }
        if (protocol != null && !schemes.contains(protocol)) {
            throw new IllegalArgumentException(
                    "etcd3.protocol is " + protocol + " but the endpoints say " + schemes + ": " + endpoints);
        }
        boolean tls = schemes.contains("https");

        String username = string(opts, "username");
        String password = string(opts, "password");
        if ((username == null) != (password == null)) {
            throw new IllegalArgumentException("etcd3: 'username' and 'password' go together (only "
                    + (username == null ? "password" : "username") + " is set)");
        }
        Path cacert = file(opts, "cacert");
        Path cert = file(opts, "cert");
        Path key = file(opts, "key");
        if ((cert == null) != (key == null)) {
            throw new IllegalArgumentException(
                    "etcd3: 'cert' and 'key' go together (only " + (cert == null ? "key" : "cert") + " is set)");
        }
        if (!tls && (cacert != null || cert != null)) {
            throw new IllegalArgumentException(
                    "etcd3: cacert/cert/key need protocol https (the endpoints are " + endpoints + ")");
        }
        return new EtcdOptions(endpoints, tls, username, password, cacert, cert, key);
    }

    /**
     * The warning to log at start when the username and password would cross the network in
     * clear (plain http to an endpoint that is not loopback); null otherwise.
     */
    String cleartextCredentialsWarning() {
        if (username == null || tls || endpoints.stream().allMatch(u -> LoopbackHosts.isLoopback(u.getHost()))) {
            return null;
        }
        return "etcd3: the username and password go to " + describeEndpoints()
                + " over plain http: anyone on the network path can read them and take the cluster's keys;"
                + " use https (protocol: https, cacert)";
    }

    /** The endpoints as one readable string, for error messages. */
    String describeEndpoints() {
        StringBuilder sb = new StringBuilder();
        for (URI u : endpoints) {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(u);
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        // never print the password
        return "EtcdOptions{endpoints=" + endpoints + ", tls=" + tls + ", username=" + username + ", cacert=" + cacert
                + ", cert=" + cert + "}";
    }

    private static void addAll(List<URI> out, String key, Object value, String defaultScheme) {
        if (value == null) {
            return;
        }
        List<String> items = new ArrayList<>();
        if (value instanceof Collection<?> c) {
            for (Object o : c) {
                if (o == null) {
                    throw new IllegalArgumentException("etcd3." + key + " contains an empty entry");
                }
                items.add(o.toString());
            }
        } else if (value instanceof String s) {
            for (String part : s.split(",")) {
                items.add(part);
            }
        } else {
            throw new IllegalArgumentException("etcd3." + key + " must be a string or a list, not " + value);
        }
        for (String item : items) {
            String t = item.trim();
            if (t.isEmpty()) {
                throw new IllegalArgumentException("etcd3." + key + " contains an empty entry: '" + value + "'");
            }
            out.add(endpoint(key, t, defaultScheme));
        }
    }

    static URI endpoint(String key, String text, String defaultScheme) {
        String withScheme = text.contains("://") ? text : defaultScheme + "://" + text;
        URI uri;
        try {
            uri = new URI(withScheme);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("etcd3." + key + ": not a host:port or URL: '" + text + "'");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("etcd3." + key + ": scheme must be http or https: '" + text + "'");
        }
        if (uri.getHost() == null || uri.getHost().isBlank()) {
            throw new IllegalArgumentException("etcd3." + key + ": no host in '" + text + "'");
        }
        if (uri.getPath() != null && !uri.getPath().isEmpty() && !uri.getPath().equals("/")) {
            throw new IllegalArgumentException("etcd3." + key + ": an etcd v3 endpoint has no path: '" + text + "'");
        }
        int port = uri.getPort() == -1 ? DEFAULT_PORT : uri.getPort();
        try {
            return new URI(scheme, null, uri.getHost(), port, null, null, null);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("etcd3." + key + ": not a host:port or URL: '" + text + "'");
        }
    }

    private static String string(Map<String, Object> opts, String key) {
        Object v = opts.get(key);
        if (v == null) {
            return null;
        }
        if (v instanceof Map || v instanceof Collection) {
            throw new IllegalArgumentException("etcd3." + key + " must be a string, not " + v);
        }
        String s = v.toString();
        return s.isEmpty() ? null : s;
    }

    private static Path file(Map<String, Object> opts, String key) {
        String s = string(opts, key);
        if (s == null) {
            return null;
        }
        Path p = Path.of(s);
        if (!Files.isReadable(p)) {
            throw new IllegalArgumentException("etcd3." + key + ": cannot read file " + p);
        }
        return p;
    }
}
