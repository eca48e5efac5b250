package io.pgha.dcs.consul;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Patroni's {@code consul.register_service}: the member registers itself as an instance of a Consul
 * service named after the scope, tagged with its role ({@code master} and {@code primary} for the
 * leader, {@code replica}, {@code standby-leader}, plus {@code service_tags}), at its PostgreSQL
 * address, with an HTTP check on its REST API's role endpoint ({@code api_url} with the path
 * {@code /<role>}); a stopped member deregisters. Driven by the member record the store writes
 * each cycle; Consul is only called when the role, state or an address changed (or the last call
 * failed).
 *
 * <p>Threading: {@link #update} is called by the HA loop's thread only.
 */
final class ConsulService {

    private static final Logger LOG = LoggerFactory.getLogger(ConsulService.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> ROLES = List.of("master", "primary", "replica", "standby-leader");

    private final RawConsul raw;
    private final String scope;
    private final String member;
    private final List<String> tags;
    private final String checkInterval;
    private final String tlsServerName;
    private final long deregisterAfterSeconds;
    private List<Object> last;

    ConsulService(RawConsul raw, String scope, String member, ConsulOptions options, long ttlSeconds) {
        this.raw = raw;
        this.scope = scope;
        this.member = member;
        this.tags = options.serviceTags().stream().sorted().toList();
        this.checkInterval = options.serviceCheckInterval();
        this.tlsServerName = options.serviceCheckTlsServerName();
        this.deregisterAfterSeconds = ttlSeconds * 10;
    }

    /** Patroni's service name: the scope in lower case, {@code . _} and space as {@code -}, at most 230 characters. */
    static String serviceName(String scope) {
        Matcher m = Pattern.compile("[^a-z0-9\\-]").matcher(scope.toLowerCase(Locale.ROOT));
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            char c = m.group().charAt(0);
            m.appendReplacement(sb, c == '.' || c == '_' || c == ' ' ? "-" : String.format("u%04d", (int) c));
        }
        m.appendTail(sb);
        return sb.length() > 230 ? sb.substring(0, 230) : sb.toString();
    }

    String serviceId() {
        return scope + "/" + member;
    }

    /** The member record as written to Consul: registers, updates or deregisters the service instance. */
    void update(String memberJson) {
        Map<?, ?> data;
        try {
            data = JSON.readValue(memberJson, Map.class);
        } catch (IOException e) {
            return;
        }
        Object role = data.get("role");
        Object state = data.get("state");
        Object apiUrl = data.get("api_url");
        Object connUrl = data.get("conn_url");
        if (role == null || state == null || apiUrl == null || connUrl == null) {
            LOG.warn("Could not register service: not enough params in member data");
            return;
        }
        List<Object> key = List.of(role, state, apiUrl, connUrl);
        if (key.equals(last)) {
            return;
        }
        try {
            String r = role.toString().replace('_', '-');
            if ("stopped".equals(state)) {
                LOG.info("Deregister service {}", serviceId());
                raw.deregisterService(serviceId());
            } else if (ROLES.contains(r)) {
                if (!"running".equals(state)) {
                    last = key;
                    return;
                }
                Map<String, Object> def = definition(r, apiUrl.toString(), connUrl.toString());
                LOG.info("Register service {}, params {}", serviceName(scope), def);
                raw.registerService(def);
            } else {
                LOG.warn("Could not register service: unknown role type {}", r);
            }
            last = key;
        } catch (IOException | RuntimeException e) {
            last = null; // try again next cycle, as Patroni's force_if_last_failed
            LOG.warn("could not update Consul service {}: {}", serviceId(), e.getMessage());
        } catch (InterruptedException e) {
            last = null;
            Thread.currentThread().interrupt();
        }
    }

    /** Consul's service definition, field for field as Patroni's python-consul sends it. */
    Map<String, Object> definition(String role, String apiUrl, String connUrl) {
        URI api = URI.create(apiUrl);
        URI conn = URI.create(connUrl);
        Map<String, Object> check = new LinkedHashMap<>();
        check.put("HTTP", api.getScheme() + "://" + api.getRawAuthority() + "/" + role);
        check.put("Interval", checkInterval);
        check.put("DeregisterCriticalServiceAfter", deregisterAfterSeconds + "s");
        if (tlsServerName != null) {
            check.put("TLSServerName", tlsServerName);
        }
        List<String> t = new ArrayList<>(tags);
        t.add(role);
        if (role.equals("master")) {
            t.add("primary");
        } else if (role.equals("primary")) {
            t.add("master");
        }
        Map<String, Object> def = new LinkedHashMap<>();
        def.put("Name", serviceName(scope));
        def.put("ID", serviceId());
        def.put("Address", Objects.requireNonNullElse(conn.getHost(), ""));
        def.put("Port", conn.getPort());
        def.put("Tags", t);
        def.put("EnableTagOverride", true);
        def.put("Check", check);
        return def;
    }
}
