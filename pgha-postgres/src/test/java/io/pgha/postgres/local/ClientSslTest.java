package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.pgha.dcs.Member;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** Patroni's authentication.{superuser,replication,rewind} TLS keys in every connection pgha makes. */
class ClientSslTest {

    private static final String YAML = """
            name: node-1
            postgresql:
              listen: 127.0.0.1:5433
              data_dir: /var/lib/postgresql/15/main
              authentication:
                superuser:
                  username: admin
                  password: s3cret
                  sslmode: verify-full
                  sslrootcert: /etc/pgha/ca.crt
                  sslcert: /etc/pgha/admin.crt
                  sslkey: /etc/pgha/admin.pk8
                  sslpassword: keypass
                  channel_binding: require
                  gssencmode: disable
                replication:
                  username: replicator
                  password: r3pl
                  sslmode: verify-ca
                  sslrootcert: /etc/pgha/ca dir/ca.crt
                  sslcert: /etc/pgha/repl.crt
                  sslkey: /etc/pgha/repl.key
                  sslcrl: /etc/pgha/crl.pem
                rewind:
                  username: rewinder
                  password: rw
                  sslmode: require
            """;

    @SuppressWarnings("unchecked")
    private static LocalPostgresConfig config(String text) throws Exception {
        Map<String, Object> y = new ObjectMapper(new YAMLFactory()).readValue(text, Map.class);
        return LocalPostgresConfig.fromPatroni(
                (String) y.get("name"), (Map<String, Object>) y.get("postgresql"), (Map<String, Object>)
                        y.get("bootstrap"));
    }

    private static Member leader() {
        return new Member("node-0", 0, Map.of("conn_url", "postgres://10.0.0.2:5432/postgres"));
    }

    @Test
    void replicationConninfoCarriesTheReplicationUsersTlsKeys() throws Exception {
        LocalPostgresConfig c = config(YAML);
        String ci =
                ConnInfo.replication(c, Path.of("/run/pgha/pgpass"), leader()).toString();
        assertThat(ci)
                .isEqualTo("host=10.0.0.2 port=5432 user=replicator passfile=/run/pgha/pgpass application_name=node-1"
                        + " sslmode=verify-ca sslrootcert='/etc/pgha/ca dir/ca.crt' sslcert=/etc/pgha/repl.crt"
                        + " sslkey=/etc/pgha/repl.key sslcrl=/etc/pgha/crl.pem");
        assertThat(ConnInfo.parse(ci)).containsEntry("sslrootcert", "/etc/pgha/ca dir/ca.crt");
    }

    @Test
    void superuserJdbcPropertiesCarryTheSuperusersTlsKeys() throws Exception {
        LocalPostgresConfig c = config(YAML);
        Properties p = Sql.properties(c.superuser(), "s3cret", c.superuserSsl(), 10);
        assertThat(p)
                .containsEntry("sslmode", "verify-full")
                .containsEntry("sslrootcert", "/etc/pgha/ca.crt")
                .containsEntry("sslcert", "/etc/pgha/admin.crt")
                .containsEntry("sslkey", "/etc/pgha/admin.pk8")
                .containsEntry("sslpassword", "keypass")
                .containsEntry("channelBinding", "require")
                .containsEntry("gssEncMode", "disable");
        // libpq never gets the key's password: not on a command line, not in primary_conninfo
        assertThat(c.superuserSsl().libpq()).doesNotContainKey("sslpassword");
        assertThat(c.superuserSsl().toString()).doesNotContain("keypass");
    }

    @Test
    void rewindSourceIsTheRewindUserWithItsTlsKeys() throws Exception {
        LocalPostgresConfig c = config(YAML);
        assertThat(c.rewindUser()).isEqualTo("rewinder");
        assertThat(c.separateRewindUser()).isTrue();
        String source = Rewind.sourceConninfo(c, new HostPort("10.0.0.2", 5432), "/run/pgha/pgpass");
        assertThat(ConnInfo.parse(source))
                .containsEntry("user", "rewinder")
                .containsEntry("sslmode", "require")
                .containsEntry("passfile", "/run/pgha/pgpass")
                .doesNotContainKey("password");
        assertThat(ManagedConfig.passfile(c)).contains("*:*:*:rewinder:rw\n");
    }

    @Test
    void withoutKeysEverythingStaysPrefer() throws Exception {
        String plain = """
                name: node-1
                postgresql:
                  listen: 127.0.0.1:5433
                  data_dir: /var/lib/postgresql/15/main
                  authentication:
                    superuser: {username: postgres, password: a}
                    replication: {username: replicator, password: b}
                """;
        LocalPostgresConfig c = config(plain);
        assertThat(ConnInfo.parse(
                        ConnInfo.replication(c, Path.of("/p"), leader()).toString()))
                .containsEntry("sslmode", "prefer")
                .doesNotContainKeys("sslrootcert", "sslcert", "sslkey", "channel_binding", "gssencmode");
        assertThat(Sql.properties("postgres", "a", c.superuserSsl(), 10))
                .containsEntry("sslmode", "prefer")
                .doesNotContainKeys("sslrootcert", "sslcert", "sslkey", "sslpassword", "channelBinding");
        // no authentication.rewind: pg_rewind connects as the superuser, with the superuser's TLS keys
        assertThat(c.rewindUser()).isEqualTo("postgres");
        assertThat(c.separateRewindUser()).isFalse();
        assertThat(ConnInfo.parse(Rewind.sourceConninfo(c, new HostPort("h", 1), "/p")))
                .containsEntry("user", "postgres")
                .containsEntry("sslmode", "prefer");
    }

    @Test
    void aBadModeIsRefusedByKey() {
        assertThatThrownBy(() -> config(YAML.replace("sslmode: verify-ca", "sslmode: verify")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("postgresql.authentication.replication.sslmode must be one of");
        assertThatThrownBy(() -> config(YAML.replace("channel_binding: require", "channel_binding: yes")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("postgresql.authentication.superuser.channel_binding");
    }
}
