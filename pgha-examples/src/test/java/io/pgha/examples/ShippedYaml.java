package io.pgha.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A Patroni YAML file the project ships (the release archive's sample, the compose stack's node
 * files) made runnable on this machine: only what must differ on one host is replaced (the
 * member's name, its loopback addresses and free ports, its data directory, the DCS endpoint,
 * the passwords the deployment would give through PATRONI_*_PASSWORD, client networks in pg_hba by
 * loopback); every other key is the shipped file's.
 */
final class ShippedYaml {
    private static final YAMLMapper YAML = new YAMLMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));
    private static final List<String> DCS_KEYS = List.of("etcd", "etcd3", "zookeeper", "consul", "kubernetes");

    private ShippedYaml() {}

    static ObjectNode read(Path file) {
        try {
            return (ObjectNode) YAML.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The file's settings for {@code m}, as YAML text. */
    static String forMember(ObjectNode shipped, LocalCluster.Member m, String password, LocalDcs dcs) {
        ObjectNode y = shipped.deepCopy();
        y.put("name", m.name);
        ObjectNode api = y.withObject("/restapi");
        api.put("listen", "127.0.0.1:" + m.apiPort);
        api.put("connect_address", "127.0.0.1:" + m.apiPort);
        DCS_KEYS.forEach(y::remove);
        y.putObject(dcs.type()).put("hosts", dcs.endpoint());
        ObjectNode pg = y.withObject("/postgresql");
        pg.put("listen", "127.0.0.1:" + m.pgPort);
        pg.put("connect_address", "127.0.0.1:" + m.pgPort);
        pg.put("data_dir", m.dataDir().toString());
        pg.put("pgpass", m.dir.resolve("pgpass").toString());
        ObjectNode auth = pg.withObject("/authentication");
        auth.withObject("/superuser").put("username", LocalCluster.SUPERUSER).put("password", password);
        auth.withObject("/replication").put("password", password);
        if (pg.get("pg_hba") instanceof ArrayNode hba) {
            for (int i = 0; i < hba.size(); i++) {
                hba.set(i, hba.get(i).asText().replaceAll("\\b\\d+\\.\\d+\\.\\d+\\.\\d+/\\d+\\b", "127.0.0.1/32"));
            }
        }
        try {
            return YAML.writeValueAsString(y);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String text(JsonNode n, String... path) {
        JsonNode at = n;
        for (String p : path) {
            at = at.path(p);
        }
        return at.asText();
    }
}
