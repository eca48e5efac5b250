package io.pgha.api;

import com.sun.net.httpserver.Headers;
import io.pgha.rest.RestApiConfig;
import java.net.URI;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a write request ({@code POST}, {@code PUT}, {@code PATCH}, {@code DELETE}) must look like
 * before the allowlist and the credentials are even checked (issue 19, item 13): a body is JSON,
 * and a browser's request comes from the API's own origin. Thread-safe, immutable.
 *
 * <ul>
 *   <li>{@code Content-Type}, when the request has a body and names one, is {@code application/json}
 *       or {@code application/*+json} (415 otherwise). A body without a {@code Content-Type} is
 *       accepted: {@code patronictl} 3.0.2 and Patroni's own {@code POST /failsafe} send none, and
 *       a browser cannot send one cross-origin without an {@code Origin} header, checked next.
 *   <li>{@code Sec-Fetch-Site} other than {@code same-origin} or {@code none}: 403.
 *   <li>{@code Origin} present (browsers send it with every {@code POST}): it must be
 *       {@code scheme://host[:port]} with the host and port of the {@code Host} header (403
 *       otherwise, {@code Origin: null} included); and that host must be an IP address,
 *       {@code localhost}, or the host of {@code restapi.listen} or {@code restapi.connect_address}
 *       (403 otherwise): a page whose name was rebound to this address (DNS rebinding) has a
 *       matching Origin, but not one of these names.
 * </ul>
 */
final class WriteGuard {
    private final Set<String> ownHosts = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);

    WriteGuard(RestApiConfig config) {
        ownHosts.add("localhost");
        ownHosts.add(stripBrackets(config.listenHost()));
        if (config.connectAddress() != null) {
            ownHosts.add(stripBrackets(hostOf(config.connectAddress())));
        }
    }

    static boolean isWrite(String method) {
        return switch (method) {
            case "POST", "PUT", "PATCH", "DELETE" -> true;
            default -> false;
        };
    }

    void check(Headers headers) throws ApiError {
        String type = headers.getFirst("Content-Type");
        if (type != null && hasBody(headers) && !isJson(type)) {
            throw new ApiError(415, "the request body must be JSON (Content-Type: application/json)");
        }
        String site = headers.getFirst("Sec-Fetch-Site");
        if (site != null) {
            String s = site.trim().toLowerCase(Locale.ROOT);
            if (!s.equals("same-origin") && !s.equals("none")) {
                throw new ApiError(403, "cross-origin requests are refused");
            }
        }
        String origin = headers.getFirst("Origin");
        if (origin != null) {
            String host = headers.getFirst("Host");
            if (host == null || !sameOrigin(origin.trim(), host.trim())) {
                throw new ApiError(403, "cross-origin requests are refused");
            }
            String name = stripBrackets(hostOf(host.trim()));
            if (!isIpLiteral(name) && !ownHosts.contains(name)) {
                throw new ApiError(403, "cross-origin requests are refused: unknown Host");
            }
        }
    }

    private static boolean hasBody(Headers headers) {
        String length = headers.getFirst("Content-Length");
        if (headers.getFirst("Transfer-Encoding") != null) {
            return true;
        }
        return length != null && !length.trim().equals("0");
    }

    static boolean isJson(String contentType) {
        String media = contentType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        return media.equals("application/json") || (media.startsWith("application/") && media.endsWith("+json"));
    }

    /** {@code Origin: http://h:p} against {@code Host: h:p}; default ports made explicit on both sides. */
    private static boolean sameOrigin(String origin, String host) {
        URI o;
        try {
            o = new URI(origin);
        } catch (java.net.URISyntaxException e) {
            return false;
        }
        if (o.getScheme() == null || o.getHost() == null) {
            return false; // "null", opaque or malformed origins
        }
        String scheme = o.getScheme().toLowerCase(Locale.ROOT);
        int defaultPort = scheme.equals("https") ? 443 : scheme.equals("http") ? 80 : -1;
        if (defaultPort < 0) {
            return false;
        }
        int originPort = o.getPort() < 0 ? defaultPort : o.getPort();
        String hostName = hostOf(host);
        int hostPort = portOf(host, defaultPort);
        return stripBrackets(o.getHost()).equalsIgnoreCase(stripBrackets(hostName)) && originPort == hostPort;
    }

    /** The host of {@code host[:port]} or {@code [v6][:port]}. */
    static String hostOf(String hostPort) {
        if (hostPort.startsWith("[")) {
            int end = hostPort.indexOf(']');
            return end < 0 ? hostPort : hostPort.substring(0, end + 1);
        }
        int colon = hostPort.lastIndexOf(':');
        return colon < 0 || hostPort.indexOf(':') != colon ? hostPort : hostPort.substring(0, colon);
    }

    private static int portOf(String hostPort, int defaultPort) {
        String host = hostOf(hostPort);
        if (host.length() == hostPort.length()) {
            return defaultPort;
        }
        String rest = hostPort.substring(host.length());
        if (!rest.startsWith(":") || rest.length() > 6) {
            return -2;
        }
        try {
            return Integer.parseInt(rest.substring(1));
        } catch (NumberFormatException e) {
            return -2;
        }
    }

    private static String stripBrackets(String host) {
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    private static boolean isIpLiteral(String host) {
        return host.matches("\\d{1,3}(\\.\\d{1,3}){3}")
                || (host.contains(":") && host.matches("[0-9a-fA-F:.%a-zA-Z0-9]+"));
    }
}
