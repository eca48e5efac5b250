package io.pgha.dcs.consul;

import io.pgha.dcs.spi.LoopbackHosts;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Patroni's {@code consul:} section, parsed and checked. Every problem names its key; nothing is
 * connected until the whole section is valid.
 *
 * <p>Supported keys (Patroni's names): {@code host} (host:port, default 127.0.0.1:8500),
 * {@code port}, {@code url} (wins over host/port/scheme), {@code scheme} (http or https),
 * {@code token} (ACL token), {@code verify} (verify the server certificate, default true),
 * {@code cacert}, {@code cert}, {@code key} (PEM files), {@code dc}, {@code consistency}
 * (default, consistent, stale), {@code checks} (session health checks, default none) and
 * {@code register_service} (the member registers a Consul service named after the scope, see
 * {@link ConsulService}) with {@code service_tags}, {@code service_check_interval} (default 5s)
 * and {@code service_check_tls_server_name}.
 */
record ConsulOptions(
        String scheme,
        String host,
        int port,
        String token,
        boolean verify,
        String caCert,
        String cert,
        String key,
        String dc,
        String consistency,
        List<String> checks,
        boolean registerService,
        List<String> serviceTags,
        String serviceCheckInterval,
        String serviceCheckTlsServerName) {

    static final String DEFAULT_HOST = "127.0.0.1";
    static final int DEFAULT_PORT = 8500;

    private static final Set<String> KNOWN = Set.of(
            "host",
            "port",
            "url",
            "scheme",
            "token",
            "verify",
            "cacert",
            "cert",
            "key",
            "dc",
            "consistency",
            "checks",
            "register_service",
            "service_tags",
            "service_check_interval",
            "service_check_tls_server_name");

    ConsulOptions {
        checks = List.copyOf(checks);
        serviceTags = List.copyOf(serviceTags);
    }

    /** The agent's base URL, e.g. {@code http://127.0.0.1:8500}, for requests and error messages. */
    String baseUrl() {
        String h = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
        return scheme + "://" + h + ":" + port;
    }

    boolean https() {
        return "https".equals(scheme);
    }

    /**
     * The warning to log at start when the ACL token would cross the network in clear (plain
     * http to an agent that is not on loopback); null otherwise.
     */
    String cleartextCredentialsWarning() {
        if (token == null || token.isEmpty() || https() || LoopbackHosts.isLoopback(host)) {
            return null;
        }
        return "consul: the ACL token goes to " + baseUrl()
                + " over plain http: anyone on the network path can read it and take the cluster's keys;"
                + " use https (scheme: https, cacert) or a local agent";
    }

    /** Parses the section; an {@link IllegalArgumentException} names the offending key and value. */
    static ConsulOptions parse(Map<String, Object> options) {
        Map<String, Object> o = options == null ? Map.of() : options;
        Set<String> unknown = new TreeSet<>(o.keySet());
        unknown.removeAll(KNOWN);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(
                    "consul: unknown key(s) " + unknown + "; supported: " + new TreeSet<>(KNOWN));
        }
        boolean registerService = bool(o, "register_service", false);

        String scheme = str(o, "scheme", "http").toLowerCase(Locale.ROOT);
        String host = DEFAULT_HOST;
        int port = DEFAULT_PORT;
        if (o.get("url") != null) {
            String url = o.get("url").toString().trim();
            URI uri;
            try {
                uri = new URI(url);
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("consul.url: not a URL: '" + url + "'");
            }
            if (uri.getScheme() == null || uri.getHost() == null) {
                throw new IllegalArgumentException("consul.url: expected scheme://host[:port], got '" + url + "'");
            }
            scheme = uri.getScheme().toLowerCase(Locale.ROOT);
            host = uri.getHost();
            port = uri.getPort() < 0 ? DEFAULT_PORT : uri.getPort();
        } else {
            if (o.get("host") != null) {
                String hp = o.get("host").toString().trim();
                String portText = null;
                if (hp.startsWith("[")) {
                    int close = hp.indexOf(']');
                    if (close < 0) {
                        throw new IllegalArgumentException("consul.host: unbalanced '[' in '" + hp + "'");
                    }
                    host = hp.substring(1, close);
                    String rest = hp.substring(close + 1);
                    if (rest.startsWith(":")) {
                        portText = rest.substring(1);
                    } else if (!rest.isEmpty()) {
                        throw new IllegalArgumentException("consul.host: expected [v6]:port, got '" + hp + "'");
                    }
                } else if (hp.indexOf(':') >= 0 && hp.indexOf(':') == hp.lastIndexOf(':')) {
                    host = hp.substring(0, hp.indexOf(':'));
                    portText = hp.substring(hp.indexOf(':') + 1);
                } else {
                    host = hp; // a bare name, or a bare IPv6 address
                }
                if (portText != null) {
                    port = parsePort("consul.host", portText, hp);
                }
                if (host.isEmpty()) {
                    throw new IllegalArgumentException("consul.host: no host in '" + hp + "'");
                }
            }
            if (o.get("port") != null) {
                port = parsePort(
                        "consul.port",
                        o.get("port").toString().trim(),
                        o.get("port").toString());
            }
        }
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("consul.scheme: expected http or https, got '" + scheme + "'");
        }

        String consistency = str(o, "consistency", "default").toLowerCase(Locale.ROOT);
        if (!List.of("default", "consistent", "stale").contains(consistency)) {
            throw new IllegalArgumentException(
                    "consul.consistency: expected default, consistent or stale, got '" + consistency + "'");
        }

        List<String> checks = new ArrayList<>();
        Object c = o.get("checks");
        if (c instanceof List<?> l) {
            l.forEach(x -> checks.add(String.valueOf(x)));
        } else if (c != null && !c.toString().isBlank()) {
            for (String s : c.toString().split(",")) {
                if (!s.isBlank()) {
                    checks.add(s.trim());
                }
            }
        }

        List<String> serviceTags = new ArrayList<>();
        Object st = o.get("service_tags");
        if (st instanceof List<?> l) {
            l.forEach(x -> serviceTags.add(String.valueOf(x)));
        } else if (st != null) {
            throw new IllegalArgumentException("consul.service_tags: expected a list, got '" + st + "'");
        }
        String interval = str(o, "service_check_interval", "5s");
        if (!interval.matches("\\d+(\\.\\d+)?(ns|us|µs|ms|s|m|h)")) {
            throw new IllegalArgumentException(
                    "consul.service_check_interval: expected a duration such as 5s, got '" + interval + "'");
        }

        String cert = str(o, "cert", null);
        String key = str(o, "key", null);
        if (key != null && cert == null) {
            throw new IllegalArgumentException("consul.key: given without consul.cert");
        }
        return new ConsulOptions(
                scheme,
                host,
                port,
                str(o, "token", null),
                bool(o, "verify", true),
                str(o, "cacert", null),
                cert,
                key,
                str(o, "dc", null),
                consistency,
                checks,
                registerService,
                serviceTags,
                interval,
                str(o, "service_check_tls_server_name", null));
    }

    private static int parsePort(String key, String text, String whole) {
        try {
            int p = Integer.parseInt(text);
            if (p < 1 || p > 65535) {
                throw new NumberFormatException();
            }
            return p;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + ": not a port in '" + whole + "'");
        }
    }

    private static String str(Map<String, Object> o, String key, String fallback) {
        Object v = o.get(key);
        if (v == null || v.toString().isBlank()) {
            return fallback;
        }
        return v.toString().trim();
    }

    /** Patroni's parse_bool: true/false, yes/no, on/off, 1/0. */
    private static boolean bool(Map<String, Object> o, String key, boolean fallback) {
        Object v = o.get(key);
        if (v == null) {
            return fallback;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        switch (v.toString().trim().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on", "1":
                return true;
            case "false", "no", "off", "0":
                return false;
            default:
                throw new IllegalArgumentException("consul." + key + ": expected true or false, got '" + v + "'");
        }
    }

    @Override
    public String toString() {
        // never print the token
        return "ConsulOptions{" + baseUrl() + (dc == null ? "" : ", dc=" + dc) + ", consistency=" + consistency
                + ", checks=" + checks + ", token=" + (token == null ? "none" : "****") + ", verify=" + verify + "}";
    }
}
