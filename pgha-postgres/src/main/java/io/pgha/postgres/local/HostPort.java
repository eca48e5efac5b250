package io.pgha.postgres.local;

import io.pgha.dcs.Member;
import io.pgha.postgres.PostgresException;
import java.net.URI;
import java.net.URISyntaxException;

/**
 * A host and a port, parsed from Patroni's {@code host:port} settings ({@code listen},
 * {@code connect_address}) or from a member's {@code conn_url}.
 */
record HostPort(String host, int port) {

    HostPort {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("empty host");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
    }

    /**
     * Parses {@code host:port}, {@code [v6]:port}, or Patroni's listen form
     * {@code 127.0.0.1,::1:5432} (several hosts, the port after the last colon). The host part is
     * returned whole (all the hosts, for listen_addresses); {@link #firstHost()} gives the first.
     */
    static HostPort parse(String key, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(key + " is empty; expected host:port");
        }
        String v = value.trim();
        int colon = v.lastIndexOf(':');
        if (colon <= 0 || colon == v.length() - 1) {
            throw new IllegalArgumentException(key + " '" + value + "' is not host:port");
        }
        String host = v.substring(0, colon).trim();
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(v.substring(colon + 1).trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(key + " '" + value + "' has no numeric port", e);
        }
        if (port < 1 || port > 65535 || host.isEmpty()) {
            throw new IllegalArgumentException(key + " '" + value + "' is not host:port with a port in 1..65535");
        }
        return new HostPort(host, port);
    }

    /** Parses a member's {@code conn_url}: {@code postgres://host:port/dbname} (or postgresql://). */
    static HostPort fromConnUrl(String connUrl) {
        if (connUrl == null || connUrl.isBlank()) {
            throw new IllegalArgumentException("the member has no conn_url");
        }
        try {
            URI uri = new URI(connUrl.trim());
            String scheme = uri.getScheme();
            if (!"postgres".equals(scheme) && !"postgresql".equals(scheme)) {
                throw new IllegalArgumentException("conn_url '" + connUrl + "' is not a postgres:// URL");
            }
            String host = uri.getHost();
            if (host == null) {
                throw new IllegalArgumentException("conn_url '" + connUrl + "' has no host");
            }
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            return new HostPort(host, uri.getPort() == -1 ? 5432 : uri.getPort());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("conn_url '" + connUrl + "' is not a URL: " + e.getMessage(), e);
        }
    }

    /** Where {@code member}'s server is, from its conn_url; the error names the member. */
    static HostPort of(Member member) throws PostgresException {
        if (member == null) {
            throw new PostgresException("no member given");
        }
        try {
            return fromConnUrl(member.connUrl());
        } catch (IllegalArgumentException e) {
            throw new PostgresException("member " + member.name() + ": " + e.getMessage(), e);
        }
    }

    /** The first of a comma-separated host list. */
    String firstHost() {
        int comma = host.indexOf(',');
        return (comma < 0 ? host : host.substring(0, comma)).trim();
    }

    /** A host to reach a server listening on {@link #firstHost()} from this machine. */
    String localConnectHost() {
        String h = firstHost();
        if (h.equals("*") || h.equals("0.0.0.0") || h.isEmpty()) {
            return "127.0.0.1";
        }
        if (h.equals("::")) {
            return "::1";
        }
        return h;
    }

    /** {@code host:port} for URLs, with brackets around an IPv6 literal. */
    static String urlAuthority(String host, int port) {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
