package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LocalPostgresConfigTest {

    private static final String YAML = """
            name: node-1.dc1
            bootstrap:
              dcs:
                postgresql:
                  use_slots: false
                  parameters:
                    max_connections: 200
                    wal_keep_size: 256MB
              initdb:
                - encoding: UTF8
                - data-checksums
                - locale: C
            postgresql:
              listen: 127.0.0.1,::1:5433
              connect_address: 10.0.0.7:5433
              data_dir: /var/lib/postgresql/15/main
              bin_dir: /usr/lib/postgresql/15/bin
              pgpass: /tmp/pgpass0
              authentication:
                superuser:
                  username: admin
                  password: s3cret
                replication:
                  username: replicator
                  password: r3pl
              parameters:
                wal_keep_size: 512MB
                hot_standby_feedback: false
                shared_buffers: 1GB
              pg_hba:
                - host replication replicator 10.0.0.0/8 scram-sha-256
                - host all all 10.0.0.0/8 scram-sha-256
              use_pg_rewind: true
              remove_data_directory_on_rewind_failure: "yes"
              create_replica_methods:
                - basebackup
            """;

    @SuppressWarnings("unchecked")
    private static Map<String, Object> yaml(String text) throws Exception {
        return new ObjectMapper(new YAMLFactory()).readValue(text, Map.class);
    }

    @SuppressWarnings("unchecked")
    private static LocalPostgresConfig fromYaml(Map<String, Object> y) {
        return LocalPostgresConfig.fromPatroni(
                (String) y.get("name"), (Map<String, Object>) y.get("postgresql"), (Map<String, Object>)
                        y.get("bootstrap"));
    }

    @Test
    void readsPatroniYaml() throws Exception {
        LocalPostgresConfig c = fromYaml(yaml(YAML));
        assertThat(c.name()).isEqualTo("node-1.dc1");
        assertThat(c.slotName()).isEqualTo("node_1_dc1");
        assertThat(c.dataDir()).isEqualTo(Path.of("/var/lib/postgresql/15/main"));
        assertThat(c.binDir()).isEqualTo(Path.of("/usr/lib/postgresql/15/bin"));
        assertThat(c.listenAddresses()).isEqualTo("127.0.0.1,::1");
        assertThat(c.port()).isEqualTo(5433);
        assertThat(c.connUrl()).isEqualTo("postgres://10.0.0.7:5433/postgres");
        assertThat(c.pgpass()).isEqualTo(Path.of("/tmp/pgpass0"));
        assertThat(c.superuser()).isEqualTo("admin");
        assertThat(c.superuserPassword()).isEqualTo("s3cret");
        assertThat(c.replicationUser()).isEqualTo("replicator");
        assertThat(c.replicationPassword()).isEqualTo("r3pl");
        // the member's parameters win over bootstrap.dcs's; YAML booleans become on/off
        assertThat(c.parameters())
                .containsEntry("max_connections", "200")
                .containsEntry("wal_keep_size", "512MB")
                .containsEntry("hot_standby_feedback", "off")
                .containsEntry("shared_buffers", "1GB");
        assertThat(c.pgHba()).hasSize(2);
        assertThat(c.usePgRewind()).isTrue();
        assertThat(c.removeDataDirectoryOnRewindFailure()).isTrue();
        assertThat(c.removeDataDirectoryOnDivergedTimelines()).isFalse();
        assertThat(c.useSlots()).isFalse();
        assertThat(c.runAs()).isEqualTo("postgres");
        assertThat(c.initdbOptions()).containsExactly("--encoding=UTF8", "--data-checksums", "--locale=C");
        assertThat(c.toString()).doesNotContain("s3cret").doesNotContain("r3pl");
    }

    @Test
    void usePgRewindFollowsTheEnginesRule() throws Exception {
        // local value first, else bootstrap.dcs.postgresql's (where Patroni's examples put it), else true
        String bootstrapOnly = YAML.replace("\n  use_pg_rewind: true\n", "\n")
                .replace("      use_slots: false\n", "      use_slots: false\n      use_pg_rewind: false\n");
        assertThat(fromYaml(yaml(bootstrapOnly)).usePgRewind()).isFalse();
        String neither = YAML.replace("\n  use_pg_rewind: true\n", "\n");
        assertThat(fromYaml(yaml(neither)).usePgRewind()).isTrue();
        String localOff = YAML.replace("\n  use_pg_rewind: true\n", "\n  use_pg_rewind: false\n");
        assertThat(fromYaml(yaml(localOff)).usePgRewind()).isFalse();
    }

    @Test
    void appliesPatroniDefaults() {
        LocalPostgresConfig c = LocalPostgresConfig.builder()
                .name("n")
                .dataDir(Path.of("/d"))
                .superuser("postgres", "x")
                .replication("rep", "y")
                .build();
        assertThat(c.listenAddresses()).isEqualTo("127.0.0.1");
        assertThat(c.port()).isEqualTo(5432);
        assertThat(c.connUrl()).isEqualTo("postgres://127.0.0.1:5432/postgres");
        assertThat(c.usePgRewind())
                .as("pgha's default, as the engine's (Patroni: false)")
                .isTrue();
        assertThat(c.useSlots()).isTrue();
        assertThat(c.runAs()).isEqualTo("postgres");
        assertThat(c.pgpass()).isNull();
        assertThat(c.createReplicaMethods()).containsExactly("basebackup");
        assertThat(LocalPostgresConfig.builder()
                        .name("n")
                        .dataDir(Path.of("/d"))
                        .listen("*:6000")
                        .superuser("postgres", "x")
                        .replication("rep", "y")
                        .build()
                        .connUrl())
                .isEqualTo("postgres://127.0.0.1:6000/postgres");
    }

    @Test
    void namesTheKeyOfABadValue() throws Exception {
        Map<String, String> bad = new HashMap<>();
        bad.put("postgresql:\n  data_dir: /d", "postgresql.data_dir is required");
        bad.put("  listen: nope", "postgresql.listen");
        bad.put("  listen: h:99999", "postgresql.listen");
        bad.put("  connect_address: a,b:1", "postgresql.connect_address");
        bad.put("  use_pg_rewind: maybe", "postgresql.use_pg_rewind");
        bad.put("  parameters: [a, b]", "postgresql.parameters");
        bad.put("  parameters: {hba_file: /x}", "postgresql.parameters.hba_file");
        bad.put("  parameters: {primary_conninfo: x}", "postgresql.parameters.primary_conninfo");
        bad.put("  parameters: {\"bad name\": 1}", "postgresql.parameters");
        bad.put("  pg_hba: host all all all trust", "postgresql.pg_hba");
        bad.put("  create_replica_methods: []", "postgresql.create_replica_methods");
        bad.put("  create_replica_methods: [wal_e]\n  wal_e: [not, a, mapping]", "postgresql.wal_e");
        bad.put("  run_as: \"bad user\"", "postgresql.run_as");
        bad.put("  authentication: {superuser: {username: postgres}}", "postgresql.authentication.superuser.password");
        for (Map.Entry<String, String> e : bad.entrySet()) {
            String text = e.getKey().startsWith("postgresql:")
                    ? "name: n\n" + e.getKey().replace("data_dir: /d", "listen: h:1")
                    : "name: n\npostgresql:\n  data_dir: /d\n  authentication: {superuser: {password: a}, "
                            + "replication: {username: r, password: b}}\n" + e.getKey();
            Map<String, Object> y = yaml(text);
            assertThatThrownBy(() -> fromYaml(y))
                    .as(e.getKey())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(e.getValue());
        }
    }

    @Test
    void ignoresTheParametersPatroniOverridesToo() {
        LocalPostgresConfig c = LocalPostgresConfig.builder()
                .name("n")
                .dataDir(Path.of("/d"))
                .listen("h:6000")
                .superuser("postgres", "x")
                .replication("rep", "y")
                .parameter("port", "5432")
                .parameter("listen_addresses", "*")
                .parameter("synchronous_standby_names", "*")
                .parameter("work_mem", "8MB")
                .build();
        assertThat(c.parameters()).containsOnlyKeys("work_mem");
        assertThat(c.port()).isEqualTo(6000);
    }

    @Test
    void normalizesInitdbOptionsAndRefusesPghasOwn() {
        assertThat(InitdbOptions.fromPatroni(
                        List.of("data-checksums", Map.of("encoding", "UTF8"), Map.of("locale", "C.UTF-8"))))
                .containsExactly("--data-checksums", "--encoding=UTF8", "--locale=C.UTF-8");
        assertThatThrownBy(() -> InitdbOptions.fromPatroni(List.of(Map.of("pwfile", "/x"))))
                .hasMessageContaining("bootstrap.initdb")
                .hasMessageContaining("pwfile");
        assertThatThrownBy(() -> InitdbOptions.fromPatroni(List.of(Map.of("a", "1", "b", "2"))))
                .hasMessageContaining("bootstrap.initdb");
        assertThatThrownBy(() -> InitdbOptions.fromPatroni("data-checksums")).hasMessageContaining("bootstrap.initdb");
        assertThatThrownBy(() -> InitdbOptions.fromPatroni(List.of("bad option")))
                .hasMessageContaining("bootstrap.initdb");
        assertThat(LocalPostgresConfig.builder()
                        .name("n")
                        .dataDir(Path.of("/d"))
                        .superuser("postgres", "x")
                        .replication("rep", "y")
                        .initdb(List.of("--locale=C", "data-checksums"))
                        .build()
                        .initdbOptions())
                .containsExactly("--locale=C", "--data-checksums");
    }

    @Test
    void passesTheUsersAuthenticationMethodsToInitdbAsPatroniDoes() {
        // Patroni's acceptance features bootstrap with [{auth: md5}, {auth-host: md5}]
        List<String> options = InitdbOptions.fromPatroni(List.of(Map.of("auth", "md5"), Map.of("auth-host", "md5")));
        assertThat(options).containsExactly("--auth=md5", "--auth-host=md5");
        assertThat(InitdbOptions.choosesAuthentication(options)).isTrue();
        assertThat(InitdbOptions.choosesAuthentication(List.of("--auth-local=peer")))
                .isTrue();
        assertThat(InitdbOptions.choosesAuthentication(List.of("--encoding=UTF8", "--data-checksums")))
                .isFalse();
    }
}
