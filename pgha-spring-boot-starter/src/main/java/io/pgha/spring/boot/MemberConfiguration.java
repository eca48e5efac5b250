package io.pgha.spring.boot;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.pgha.config.PatroniYaml;
import io.pgha.config.PatroniYamlException;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The member's Patroni configuration from {@code pgha.*}: the file {@code pgha.patroni-config} names,
 * read as the runner reads it, or the properties turned into the same document (Patroni's keys) and
 * read by the same parser, so that both go through one set of checks.
 */
final class MemberConfiguration {
    /** How the properties are named in messages about them. */
    static final String PROPERTIES_SOURCE = "pgha.* properties";

    private static final Pattern PATRONI_KEY = Pattern.compile(
            "\\b(postgresql|restapi|bootstrap\\.dcs|tags|etcd3|zookeeper|consul|memory)((?:\\.[A-Za-z0-9_]+)*)");
    private static final Pattern INTEGER = Pattern.compile("-?\\d{1,18}");
    private static final Pattern DECIMAL = Pattern.compile("-?\\d+\\.\\d+");

    private MemberConfiguration() {}

    static PatroniYaml read(PghaProperties p) {
        if (p.getPatroniConfig() != null) {
            List<String> alsoSet = p.nodePropertiesSet();
            if (!alsoSet.isEmpty()) {
                throw new PghaConfigurationException(
                        "pgha.patroni-config is set and so are " + String.join(", ", alsoSet)
                                + ": the file is the member's whole configuration; set one or the other");
            }
            try {
                return PatroniYaml.load(p.getPatroniConfig());
            } catch (PatroniYamlException e) {
                throw new PghaConfigurationException(e.getMessage(), e);
            } catch (NoSuchFileException e) {
                throw new PghaConfigurationException("pgha.patroni-config: no such file: " + p.getPatroniConfig(), e);
            } catch (IOException e) {
                throw new PghaConfigurationException(
                        "pgha.patroni-config: cannot read " + p.getPatroniConfig() + ": " + e.getMessage(), e);
            }
        }
        if (p.getDcsType() == null) {
            throw new PghaConfigurationException("pgha.dcs-type is not set (etcd3, zookeeper, consul, or memory for a"
                    + " single-node trial), nor is pgha.patroni-config");
        }
        String text;
        try {
            text = new YAMLMapper().writeValueAsString(document(p));
        } catch (JsonProcessingException e) {
            throw new PghaConfigurationException(
                    "pgha.*: cannot be written as a Patroni document: " + e.getMessage(), e);
        }
        try {
            // no PATRONI_* overrides here: Spring's own property sources already carry the environment
            return PatroniYaml.parse(text, PROPERTIES_SOURCE, Map.of());
        } catch (PatroniYamlException e) {
            throw new PghaConfigurationException(propertyNames(String.join("; ", e.problems())), e);
        }
    }

    /** The Patroni document the properties stand for. */
    static Map<String, Object> document(PghaProperties p) {
        Map<String, Object> doc = new LinkedHashMap<>();
        put(doc, "scope", p.getScope());
        put(doc, "name", p.getName());
        put(doc, "namespace", p.getNamespace());

        PghaProperties.RestApi api = p.getRestapi();
        Map<String, Object> restapi = new LinkedHashMap<>();
        put(restapi, "listen", api.getListen());
        put(restapi, "connect_address", api.getConnectAddress());
        if (api.getUsername() != null || api.getPassword() != null) {
            Map<String, Object> auth = new LinkedHashMap<>();
            put(auth, "username", api.getUsername());
            put(auth, "password", api.getPassword());
            restapi.put("authentication", auth);
        }
        if (!restapi.isEmpty()) {
            doc.put("restapi", restapi);
        }

        doc.put(p.getDcsType(), typed(p.getDcs()));
        if (!p.getBootstrapDcs().isEmpty()) {
            doc.put("bootstrap", Map.of("dcs", typed(p.getBootstrapDcs())));
        }

        PghaProperties.Postgresql pg = p.getPostgresql();
        Map<String, Object> postgresql = new LinkedHashMap<>();
        put(postgresql, "listen", pg.getListen());
        put(postgresql, "connect_address", pg.getConnectAddress());
        put(postgresql, "data_dir", pg.getDataDir());
        put(postgresql, "bin_dir", pg.getBinDir());
        Map<String, Object> auth = new LinkedHashMap<>();
        auth.put("superuser", credentials(pg.getAuthentication().getSuperuser()));
        auth.put("replication", credentials(pg.getAuthentication().getReplication()));
        postgresql.put("authentication", auth);
        if (!pg.getParameters().isEmpty()) {
            postgresql.put("parameters", typed(pg.getParameters()));
        }
        if (!pg.getPgHba().isEmpty()) {
            postgresql.put("pg_hba", pg.getPgHba());
        }
        doc.put("postgresql", postgresql);

        if (!p.getTags().isEmpty()) {
            doc.put("tags", typed(p.getTags()));
        }
        return doc;
    }

    private static Map<String, Object> credentials(PghaProperties.Credentials c) {
        Map<String, Object> m = new LinkedHashMap<>();
        put(m, "username", c.getUsername());
        put(m, "password", c.getPassword());
        return m;
    }

    private static void put(Map<String, Object> m, String key, Object value) {
        if (value != null) {
            m.put(key, value);
        }
    }

    /**
     * Spring binds the values of an open map as text ({@code pgha.bootstrap-dcs.ttl=30} is "30"):
     * numbers and booleans become what a YAML file would have made of them.
     */
    static Map<String, Object> typed(Map<String, ?> map) {
        Map<String, Object> out = new LinkedHashMap<>();
        map.forEach((k, v) -> out.put(k, typedValue(v)));
        return out;
    }

    private static Object typedValue(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put(String.valueOf(k), typedValue(x)));
            // Spring binds a list given by index (a[0]=x) into an open map as {"0": x}
            if (!out.isEmpty()
                    && out.keySet().stream().allMatch(k -> INTEGER.matcher(k).matches())) {
                return out.entrySet().stream()
                        .sorted(Map.Entry.comparingByKey((a, b) -> Long.compare(Long.parseLong(a), Long.parseLong(b))))
                        .map(Map.Entry::getValue)
                        .toList();
            }
            return out;
        }
        if (v instanceof List<?> l) {
            return l.stream().map(MemberConfiguration::typedValue).toList();
        }
        if (v instanceof String s) {
            if ("true".equalsIgnoreCase(s) || "false".equalsIgnoreCase(s)) {
                return Boolean.parseBoolean(s);
            }
            if (INTEGER.matcher(s).matches()) {
                return Long.parseLong(s);
            }
            if (DECIMAL.matcher(s).matches()) {
                return Double.parseDouble(s);
            }
        }
        return v;
    }

    /**
     * A message about the document in the properties' names: {@code postgresql.data_dir} becomes
     * {@code pgha.postgresql.data-dir}, {@code etcd3.hosts} {@code pgha.dcs.hosts}.
     */
    static String propertyNames(String message) {
        Matcher m = PATRONI_KEY.matcher(message);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String section = m.group(1);
            String rest = m.group(2).replace('_', '-');
            String name;
            if ("bootstrap.dcs".equals(section)) {
                name = "pgha.bootstrap-dcs" + m.group(2);
            } else if (PatroniYaml.DCS_TYPES.contains(section)) {
                name = "pgha.dcs" + m.group(2);
            } else if ("tags".equals(section) || rest.startsWith(".parameters")) {
                name = "pgha." + section + m.group(2);
            } else {
                name = "pgha." + section + rest;
            }
            m.appendReplacement(out, Matcher.quoteReplacement(name));
        }
        m.appendTail(out);
        return out.toString();
    }
}
