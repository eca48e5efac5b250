package io.pgha.api;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsExchange;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Member;
import io.pgha.rest.RestApiConfig;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Patroni's {@code check_access} for the write endpoints, in its order: the allowlist (403
 * "Access is denied"), a client certificate when TLS asks for one (403 "client certificate
 * required"), then HTTP Basic auth (401 with {@code WWW-Authenticate: Basic realm="Patroni"}).
 * Thread-safe: the allowlist is resolved once at start; member addresses at each check.
 */
final class AccessControl {
    private static final Logger LOG = LoggerFactory.getLogger(AccessControl.class);
    static final Map<String, String> CHALLENGE = Map.of("WWW-Authenticate", "Basic realm=\"Patroni\"");

    /** How often names of the allowlist that did not resolve are tried again (on a write's thread). */
    static final long RETRY_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(30);

    private final boolean allowlistSet;
    private volatile List<Cidr> allowlist;
    private volatile List<String> unresolved;
    private volatile long lastResolve;
    private final boolean includeMembers;
    private final byte[] expectedAuth;
    private final boolean clientCertWanted;
    private final Supplier<ClusterState> cluster;

    AccessControl(RestApiConfig config, Supplier<ClusterState> cluster) {
        this.allowlistSet = !config.allowlist().isEmpty();
        List<Cidr> nets = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (String entry : config.allowlist()) {
            List<Cidr> resolved = Cidr.resolve(entry, "restapi.allowlist");
            if (resolved.isEmpty()) {
                missing.add(entry);
            }
            nets.addAll(resolved);
        }
        this.allowlist = List.copyOf(nets);
        this.unresolved = List.copyOf(missing);
        this.lastResolve = System.nanoTime();
        if (!missing.isEmpty()) {
            LOG.error(
                    "restapi.allowlist: {} did not resolve; writes from them are refused until they do"
                            + " (tried again every 30 s)",
                    missing);
        }
        this.includeMembers = config.allowlistIncludeMembers();
        this.expectedAuth = config.hasAuthentication()
                ? ("Basic "
                                + Base64.getEncoder()
                                        .encodeToString((config.username() + ":" + config.password())
                                                .getBytes(StandardCharsets.UTF_8)))
                        .getBytes(StandardCharsets.UTF_8)
                : null;
        this.clientCertWanted = config.isTls() && config.verifyClient() != RestApiConfig.VerifyClient.NONE;
        this.cluster = cluster;
    }

    /** Throws the refusal Patroni would send; returns when the caller may write. */
    void check(HttpExchange exchange, boolean checkMembers) throws ApiError {
        boolean members = checkMembers && includeMembers;
        if (allowlistSet || members) {
            retryUnresolved();
            InetAddress client = exchange.getRemoteAddress().getAddress();
            boolean allowed = allowlist.stream().anyMatch(c -> c.contains(client))
                    || (members && memberNets().stream().anyMatch(c -> c.contains(client)));
            if (!allowed) {
                throw new ApiError(403, "Access is denied");
            }
        }
        if (clientCertWanted && !hasClientCertificate(exchange)) {
            throw new ApiError(403, "client certificate required");
        }
        if (expectedAuth != null) {
            String header = exchange.getRequestHeaders().getFirst("Authorization");
            if (header == null) {
                throw new ApiError(401, "no auth header received", CHALLENGE);
            }
            if (!MessageDigest.isEqual(expectedAuth, header.trim().getBytes(StandardCharsets.UTF_8))) {
                throw new ApiError(401, "not authenticated", CHALLENGE);
            }
        }
    }

    /**
     * An allowlist whose names did not resolve at start fails closed (issue 19, item 14): the
     * check stays on with what did resolve, and the missing names are tried again every 30 s.
     */
    private void retryUnresolved() {
        List<String> missing = unresolved;
        long now = System.nanoTime();
        if (missing.isEmpty() || now - lastResolve < RETRY_NANOS) {
            return;
        }
        synchronized (this) {
            if (now - lastResolve < RETRY_NANOS) {
                return;
            }
            lastResolve = now;
            List<Cidr> nets = new ArrayList<>(allowlist);
            List<String> still = new ArrayList<>();
            for (String entry : missing) {
                List<Cidr> resolved = Cidr.resolve(entry, "restapi.allowlist");
                if (resolved.isEmpty()) {
                    still.add(entry);
                } else {
                    LOG.info("restapi.allowlist: {} resolves now", entry);
                }
                nets.addAll(resolved);
            }
            allowlist = List.copyOf(nets);
            unresolved = List.copyOf(still);
        }
    }

    private static boolean hasClientCertificate(HttpExchange exchange) {
        if (!(exchange instanceof HttpsExchange https)) {
            return false;
        }
        SSLSession session = https.getSSLSession();
        try {
            return session != null && session.getPeerCertificates().length > 0;
        } catch (SSLPeerUnverifiedException e) {
            return false;
        }
    }

    private List<Cidr> memberNets() {
        ClusterState c = cluster.get();
        List<Cidr> nets = new ArrayList<>();
        if (c == null) {
            return nets;
        }
        for (Member m : c.members()) {
            if (m.apiUrl() == null) {
                continue;
            }
            try {
                String host = URI.create(m.apiUrl()).getHost();
                if (host != null) {
                    nets.addAll(Cidr.resolve(host, "members/" + m.name() + " api_url"));
                }
            } catch (IllegalArgumentException e) {
                LOG.debug("Cannot parse api_url {} of {}: {}", m.apiUrl(), m.name(), e.getMessage());
            }
        }
        return nets;
    }

    /** An address block; IPv4-mapped IPv6 addresses are compared as IPv4. */
    @SuppressWarnings("ArrayRecordComponent") // never compared or hashed: only contains() reads the bytes
    record Cidr(byte[] network, int prefix) {
        static List<Cidr> resolve(String entry, String where) {
            String e = entry.trim();
            int slash = e.indexOf('/');
            try {
                if (slash >= 0) {
                    byte[] addr = normalize(InetAddress.getByName(literal(e.substring(0, slash))));
                    int prefix = Integer.parseInt(e.substring(slash + 1));
                    if (prefix < 0 || prefix > addr.length * 8) {
                        throw new IllegalArgumentException(where + ": prefix out of range in \"" + entry + "\"");
                    }
                    return List.of(new Cidr(addr, prefix));
                }
                List<Cidr> out = new ArrayList<>();
                for (InetAddress a : InetAddress.getAllByName(literal(e))) {
                    byte[] bytes = normalize(a);
                    out.add(new Cidr(bytes, bytes.length * 8));
                }
                return out;
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException(where + ": bad prefix in \"" + entry + "\"");
            } catch (UnknownHostException ex) {
                LOG.error("{}: cannot resolve \"{}\": {}", where, entry, ex.getMessage());
                return List.of();
            }
        }

        private static String literal(String host) {
            return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        }

        static byte[] normalize(InetAddress a) {
            byte[] b = a.getAddress();
            if (b.length == 16) {
                boolean mapped = true;
                for (int i = 0; i < 10; i++) {
                    mapped &= b[i] == 0;
                }
                mapped &= (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff;
                if (mapped) {
                    return new byte[] {b[12], b[13], b[14], b[15]};
                }
            }
            return b;
        }

        boolean contains(InetAddress address) {
            byte[] a = normalize(address);
            if (a.length != network.length) {
                return false;
            }
            int bits = prefix;
            for (int i = 0; i < a.length && bits > 0; i++, bits -= 8) {
                int mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
                if ((a[i] & mask) != (network[i] & mask)) {
                    return false;
                }
            }
            return true;
        }
    }
}
