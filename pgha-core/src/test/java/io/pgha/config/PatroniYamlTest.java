package io.pgha.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.dcs.DcsSettings;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PatroniYamlTest {

    static final String GOOD = """
            scope: batman
            namespace: /db/
            name: pg0

            restapi:
              listen: 0.0.0.0:8008
              connect_address: 10.0.0.1:8008
              authentication:
                username: admin
                password: secret

            etcd3:
              hosts: 10.0.0.5:2379,10.0.0.6:2379

            bootstrap:
              dcs:
                ttl: 10
                loop_wait: 2
                retry_timeout: 3
                maximum_lag_on_failover: 1048576
                postgresql:
                  use_pg_rewind: true
                  parameters:
                    wal_level: replica
              initdb:
                - encoding: UTF8
                - data-checksums
              pg_hba:
                - host replication replicator 127.0.0.1/32 md5

            postgresql:
              listen: 0.0.0.0:5432
              connect_address: 10.0.0.1:5432
              data_dir: /var/lib/pgha/data
              pgpass: /tmp/pgpass0
              authentication:
                replication:
                  username: replicator
                  password: rep-pass
                superuser:
                  username: postgres
                  password: su-pass
              parameters:
                unix_socket_directories: '/tmp'
              use_pg_rewind: on

            tags:
              nofailover: false
              noloadbalance: false
              clonefrom: false
              nosync: false
            """;

    @Test
    void readsAPatroniFileAsItStands() {
        PatroniYaml y = PatroniYaml.parse(GOOD, "pg0.yml", Map.of());
        assertThat(y.warnings())
                .singleElement()
                .asString()
                .startsWith("bootstrap.pg_hba is not used by pgha: removed in Patroni 3")
                .endsWith("(line 28)");
        assertThat(y.scope()).isEqualTo("batman");
        assertThat(y.name()).isEqualTo("pg0");
        assertThat(y.namespace()).isEqualTo("/db/");
        assertThat(y.dcsType()).isEqualTo("etcd3");
        assertThat(y.dcsOptions()).containsEntry("hosts", "10.0.0.5:2379,10.0.0.6:2379");
        assertThat(y.bootstrapDcs()).containsEntry("ttl", 10).containsEntry("loop_wait", 2);
        assertThat(y.postgresql()).containsEntry("data_dir", "/var/lib/pgha/data");
        assertThat(y.logLevel()).isEqualTo("INFO");

        NodeConfig node = y.nodeConfig();
        assertThat(node.apiUrl()).isEqualTo("http://10.0.0.1:8008/patroni");
        assertThat(node.connUrl()).isEqualTo("postgres://10.0.0.1:5432/postgres");
        assertThat(node.namespace()).isEqualTo("/db/");
        assertThat(node.tags()).containsEntry("nofailover", false);
        assertThat(node.initialDynamicConfig().loopWait()).isEqualTo(Duration.ofSeconds(2));

        DcsSettings dcs = y.dcsSettings();
        assertThat(dcs.clusterPrefix()).isEqualTo("/db/batman/");
        assertThat(dcs.ttl()).isEqualTo(Duration.ofSeconds(10));
        assertThat(dcs.retryTimeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(dcs.option("hosts", null)).isEqualTo("10.0.0.5:2379,10.0.0.6:2379");
        assertThat(y.origin("postgresql.data_dir")).isEqualTo("line 34");
    }

    @Test
    void connectAddressDefaultsToListenWithAWildcardMadeReachable() {
        String text = """
                scope: s
                name: n
                restapi: {listen: '0.0.0.0:8008'}
                memory: {}
                postgresql: {listen: '*:5433', data_dir: /tmp/d}
                """;
        NodeConfig node = PatroniYaml.parse(text, "t.yml", Map.of()).nodeConfig();
        assertThat(node.apiUrl()).isEqualTo("http://127.0.0.1:8008/patroni");
        assertThat(node.connUrl()).isEqualTo("postgres://127.0.0.1:5433/postgres");
        assertThat(node.namespace()).isEqualTo("/service/");
    }

    @Test
    void unknownKeysAreWarningsNamingKeyAndLine() {
        String text = GOOD.replace("  use_pg_rewind: on\n", "  use_pg_rewind: on\n  use_pg_rewnd: on\n")
                + "watchdog:\n  mode: automatic\nfrobnicate: 1\n";
        PatroniYaml y = PatroniYaml.parse(text, "pg0.yml", Map.of());
        assertThat(y.warnings())
                .anySatisfy(
                        w -> assertThat(w).contains("postgresql.use_pg_rewnd").contains("line 46"));
        assertThat(y.warnings())
                .anySatisfy(w -> assertThat(w).contains("frobnicate").contains("line 55"));
        assertThat(y.warnings()).noneSatisfy(w -> assertThat(w).contains("watchdog")); // used now: WatchdogConfigTest
    }

    @Test
    void theBackupSectionIsKnownAndItsTyposAreWarnings() {
        String text = """
                scope: s
                name: n
                restapi: {listen: '127.0.0.1:8008'}
                memory: {}
                postgresql:
                  listen: '127.0.0.1:5433'
                  data_dir: /tmp/d
                  create_replica_methods: [pgbackrest, basebackup]
                backup:
                  repo_path: /var/lib/pgbackrest
                  stanza: s
                  pgbackrest: /usr/bin/pgbackrest
                  work_dir: /tmp/d-backup
                  archive: true
                  retention: {full: 2, diff: 6}
                  schedule: {full: 7d, diff: off, logical: 86400, drill: 1d}
                  logical: {databases: [app], directory: /tmp/dumps}
                  drill: {tables: {"app:public.t": 1}, timeout: 10m, directory: /tmp/drill}
                """;
        PatroniYaml y = PatroniYaml.parse(text, "n.yml", Map.of());
        assertThat(y.warnings()).isEmpty();
        assertThat(y.raw()).containsKey("backup");

        PatroniYaml typo = PatroniYaml.parse(text.replace("  stanza: s", "  stanzza: s"), "n.yml", Map.of());
        assertThat(typo.warnings())
                .singleElement()
                .asString()
                .contains("backup.stanzza")
                .contains("line 11");
    }

    @Test
    void patronisReplicaMethodSectionsAndRecoveryConfAreRead() {
        String text = """
                scope: s
                name: n
                restapi: {listen: '127.0.0.1:8008'}
                memory: {}
                postgresql:
                  listen: '127.0.0.1:5433'
                  data_dir: /tmp/d
                  create_replica_methods: [pgbackrest, basebackup]
                  pgbackrest: {command: /usr/bin/pgbackrest --stanza=s restore, keep_data: true, no_params: true}
                  recovery_conf: {restore_command: 'cp /archive/%f %p'}
                """;
        assertThat(PatroniYaml.parse(text, "n.yml", Map.of()).warnings()).isEmpty();
        String custom = """
                scope: s
                name: n
                restapi: {listen: '127.0.0.1:8008'}
                memory: {}
                postgresql:
                  listen: '127.0.0.1:5433'
                  data_dir: /tmp/d
                  create_replica_methods: [from_backup]
                  from_backup: {command: /usr/local/bin/restore, no_leader: 1}
                  not_a_method: {command: x}
                """;
        assertThat(PatroniYaml.parse(custom, "n.yml", Map.of()).warnings())
                .singleElement()
                .asString()
                .contains("unknown key postgresql.not_a_method");
    }

    @Test
    void aJsonLogSectionWithAListFormatAndStaticFieldsIsRead() {
        String log = """

                log:
                  type: json
                  format:
                    - asctime: '@timestamp'
                    - levelname
                    - message
                  static_fields:
                    app: pgha
                """;
        PatroniYaml y = PatroniYaml.parse(GOOD + log, "pg0.yml", Map.of());
        assertThat(y.warnings()).noneSatisfy(w -> assertThat(w).contains("log."));
        assertThat(y.log().get("format")).isEqualTo(List.of(Map.of("asctime", "@timestamp"), "levelname", "message"));
        assertThat(y.log().get("static_fields")).isEqualTo(Map.of("app", "pgha"));
        assertThatThrownBy(() ->
                        PatroniYaml.parse(GOOD + log.replace("\n    app: pgha", " app=pgha"), "pg0.yml", Map.of()))
                .hasMessageContaining("log.static_fields must be a mapping");
    }

    @Test
    void wrongTypesAndMissingKeysAreErrorsNamingKeyAndLine() {
        String text = """
                scope: batman
                restapi:
                  listen: 127.0.0.1:8008
                etcd3:
                  hosts: 127.0.0.1:2379
                bootstrap:
                  initdb: data-checksums
                postgresql:
                  listen: 127.0.0.1:5432
                  use_pg_rewind: sometimes
                  parameters:
                    - max_connections=100
                """;
        assertThatThrownBy(() -> PatroniYaml.parse(text, "bad.yml", Map.of()))
                .isInstanceOf(PatroniYamlException.class)
                .satisfies(e -> {
                    List<String> p = ((PatroniYamlException) e).problems();
                    assertThat(p).anySatisfy(s -> assertThat(s).startsWith("name is required"));
                    assertThat(p)
                            .anySatisfy(s -> assertThat(s)
                                    .contains("postgresql.data_dir is required")
                                    .contains("line 8"));
                    assertThat(p)
                            .anySatisfy(s -> assertThat(s)
                                    .contains("bootstrap.initdb must be a list")
                                    .contains("line 7"));
                    assertThat(p)
                            .anySatisfy(s -> assertThat(s)
                                    .contains("postgresql.use_pg_rewind must be true or false")
                                    .contains("line 10"));
                    assertThat(p)
                            .anySatisfy(s -> assertThat(s)
                                    .contains("postgresql.parameters must be a mapping")
                                    .contains("line 11"));
                })
                .hasMessageStartingWith("bad.yml: ");
    }

    @Test
    void aCitusSectionIsAnErrorNotAWarning() {
        String yaml = """
                      scope: s
                      name: n
                      restapi: {listen: '127.0.0.1:8008'}
                      etcd3: {hosts: '127.0.0.1:2379'}
                      postgresql: {listen: '127.0.0.1:5432', data_dir: /tmp/d}
                      citus: {group: 0, database: citus}
                      """;
        assertThatThrownBy(() -> PatroniYaml.parse(yaml, "t.yml", Map.of()))
                .hasMessageContaining("citus: pgha does not support Citus clusters")
                .hasMessageContaining("line 6");
    }

    @Test
    void aDcsSectionIsRequiredAndOnlyOne() {
        String base = """
                      scope: s
                      name: n
                      restapi: {listen: '127.0.0.1:8008'}
                      postgresql: {listen: '127.0.0.1:5432', data_dir: /tmp/d}
                      """;
        assertThatThrownBy(() -> PatroniYaml.parse(base, "t.yml", Map.of()))
                .hasMessageContaining("a DCS section is required");
        assertThatThrownBy(() -> PatroniYaml.parse(base + "etcd3: {hosts: a}\nconsul: {host: b}\n", "t.yml", Map.of()))
                .hasMessageContaining("only one DCS section")
                .hasMessageContaining("etcd3 (line 5)")
                .hasMessageContaining("consul (line 6)");
        assertThatThrownBy(() -> PatroniYaml.parse(base + "etcd: {host: a}\n", "t.yml", Map.of()))
                .hasMessageContaining("use an etcd3 section");
        assertThatThrownBy(() -> PatroniYaml.parse(base + "kubernetes: {}\n", "t.yml", Map.of()))
                .hasMessageContaining("kubernetes (line 5) is not supported");
    }

    @Test
    void syntaxErrorsNameTheLine() {
        String text = "scope: s\nname: n\nrestapi:\n  listen: [unclosed\npostgresql: {}\n";
        assertThatThrownBy(() -> PatroniYaml.parse(text, "t.yml", Map.of()))
                .isInstanceOf(PatroniYamlException.class)
                .hasMessageContaining("not valid YAML (line ");
        assertThatThrownBy(() -> PatroniYaml.parse("- a\n- b\n", "t.yml", Map.of()))
                .hasMessageContaining("the top level must be a mapping");
        assertThatThrownBy(() -> PatroniYaml.parse("scope: a\nscope: b\n", "t.yml", Map.of()))
                .hasMessageContaining("scope appears twice (line 1 and line 2)");
    }

    @Test
    void environmentOverridesTheFileAndPghaWinsOverPatroni() {
        Map<String, String> env = Map.of(
                "PATRONI_NAME", "pg9",
                "PATRONI_SCOPE", "robin",
                "PGHA_SCOPE", "joker",
                "PATRONI_POSTGRESQL_DATA_DIR", "/data/9",
                "PATRONI_RESTAPI_CONNECT_ADDRESS", "10.9.9.9:8008",
                "PATRONI_SUPERUSER_PASSWORD", "from-env",
                "PGHA_ETCD3_HOSTS", "h1:2379,h2:2379",
                "PATRONI_admin_PASSWORD", "adm",
                "PATRONI_admin_OPTIONS", "createrole,createdb");
        PatroniYaml y = PatroniYaml.parse(GOOD, "pg0.yml", env);
        assertThat(y.name()).isEqualTo("pg9");
        assertThat(y.scope()).isEqualTo("joker");
        assertThat(y.postgresql()).containsEntry("data_dir", "/data/9");
        assertThat(y.nodeConfig().apiUrl()).isEqualTo("http://10.9.9.9:8008/patroni");
        assertThat(y.dcsOptions()).containsEntry("hosts", "h1:2379,h2:2379");
        @SuppressWarnings("unchecked")
        Map<String, Object> su =
                (Map<String, Object>) ((Map<String, Object>) y.postgresql().get("authentication")).get("superuser");
        assertThat(su).containsEntry("password", "from-env").containsEntry("username", "postgres");
        @SuppressWarnings("unchecked")
        Map<String, Object> admin =
                (Map<String, Object>) ((Map<String, Object>) y.bootstrap().get("users")).get("admin");
        assertThat(admin).containsEntry("password", "adm").containsEntry("options", List.of("createrole", "createdb"));
        assertThat(y.origin("scope")).isEqualTo("environment PGHA_SCOPE");
        assertThat(y.environmentOverrides())
                .contains("PGHA_SCOPE", "PATRONI_SUPERUSER_PASSWORD")
                .doesNotContain("from-env");
    }

    @Test
    void environmentAloneCanCompleteAFile() {
        Map<String, String> env = Map.of(
                "PATRONI_SCOPE",
                "s",
                "PATRONI_NAME",
                "n",
                "PATRONI_RESTAPI_LISTEN",
                "127.0.0.1:8008",
                "PATRONI_POSTGRESQL_LISTEN",
                "127.0.0.1:5432",
                "PATRONI_POSTGRESQL_DATA_DIR",
                "/tmp/d",
                "PATRONI_ZOOKEEPER_HOSTS",
                "['z1:2181', 'z2:2181']");
        PatroniYaml y = PatroniYaml.parse("", "env", env);
        assertThat(y.dcsType()).isEqualTo("zookeeper");
        assertThat(y.dcsOptions()).containsEntry("hosts", List.of("z1:2181", "z2:2181"));
    }

    @Test
    void anErrorFromAnotherModuleIsLocated() {
        PatroniYaml y = PatroniYaml.parse(GOOD, "pg0.yml", Map.of());
        assertThat(y.locate("postgresql.authentication.superuser.password must not be empty"))
                .isEqualTo("pg0.yml: postgresql.authentication.superuser.password must not be empty"
                        + " (postgresql.authentication.superuser.password: line 42)");
        assertThat(y.locate("postgresql.authentication.rewind.username is required"))
                .endsWith("(postgresql.authentication: line 36)");
    }

    @Test
    void messagesNeverCarryValues() {
        String text = GOOD.replace("password: secret", "password: [secret]");
        assertThatThrownBy(() -> PatroniYaml.parse(text, "pg0.yml", Map.of()))
                .hasMessageContaining("restapi.authentication.password must be a single value")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("secret"));
    }

    @Test
    void aBadBootstrapDcsValueIsOneErrorNamingKeyValueAndLine() {
        String text = GOOD.replace("    ttl: 10\n", "    ttl: \"abc\"\n");
        assertThatThrownBy(() -> PatroniYaml.parse(text, "pg0.yml", Map.of()))
                .isInstanceOf(PatroniYamlException.class)
                .hasMessage("pg0.yml: bootstrap.dcs.ttl must be an integer >= 10, found \"abc\" (line 17)");
    }

    @Test
    void bootstrapDcsIsCheckedForTypeAndRangeKeyByKey() {
        String text = GOOD.replace("    loop_wait: 2\n", "    loop_wait: 0\n")
                .replace("      use_pg_rewind: true\n", "      use_pg_rewind: sometimes\n")
                .replace(
                        "    maximum_lag_on_failover: 1048576\n",
                        "    maximum_lag_on_failover: 1048576\n" + "    synchronous_node_count: [2]\n");
        assertThatThrownBy(() -> PatroniYaml.parse(text, "pg0.yml", Map.of()))
                .isInstanceOf(PatroniYamlException.class)
                .satisfies(e -> assertThat(((PatroniYamlException) e).problems())
                        .containsExactly(
                                "bootstrap.dcs.loop_wait must be an integer >= 1, found 0 (line 18)",
                                "bootstrap.dcs.synchronous_node_count must be an integer >= 1, found a list (line 21)",
                                "bootstrap.dcs.postgresql.use_pg_rewind must be true or false, found \"sometimes\""
                                        + " (line 23)"));
    }

    @Test
    void patronisTagsAreTypedAndOwnTagsAreFree() {
        String text = GOOD.replace(
                "  nofailover: false\n",
                "  nofailover: maybe\n  failover_priority: -1\n  replicatefrom: pg1\n  rack: r1\n");
        assertThatThrownBy(() -> PatroniYaml.parse(text, "pg0.yml", Map.of()))
                .isInstanceOf(PatroniYamlException.class)
                .satisfies(e -> assertThat(((PatroniYamlException) e).problems())
                        .containsExactly(
                                "tags.nofailover must be true or false, found a string (line 48)",
                                "tags.failover_priority must be a whole number >= 0, found the number -1 (line 49)"));
        PatroniYaml y = PatroniYaml.parse(
                GOOD.replace("  nofailover: false\n", "  nofailover: true\n  failover_priority: 2\n  rack: r1\n"),
                "pg0.yml",
                Map.of());
        assertThat(y.warnings()).noneMatch(w -> w.contains("tags"));
    }

    @Test
    void anEmptyRestapiAuthenticationSectionIsAnError() throws Exception {
        String text =
                GOOD.replace("  authentication:\n    username: admin\n    password: secret\n", "  authentication:\n");
        org.assertj.core.api.Assertions.assertThat(text).isNotEqualTo(GOOD);
        PatroniYaml yaml = PatroniYaml.parse(text, "pg0.yml", Map.of());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> io.pgha.rest.RestApiConfig.fromPatroni(yaml.restapi()))
                .hasMessageContaining("restapi.authentication is empty");
    }
}
