package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ConnInfoTest {

    @Test
    void buildsAReplicaConninfo() {
        String ci = ConnInfo.to(
                        new HostPort("10.0.0.2", 5433),
                        "replicator",
                        "/tmp/pgha-101-ab/pgpass",
                        "node-1",
                        ClientSsl.DEFAULT)
                .toString();
        assertThat(ci)
                .isEqualTo("host=10.0.0.2 port=5433 user=replicator passfile=/tmp/pgha-101-ab/pgpass "
                        + "application_name=node-1 sslmode=prefer");
        assertThat(ci).doesNotContain("password");
    }

    @Test
    void quotesWhatLibpqWouldSplit() {
        String ci = new ConnInfo()
                .set("user", "o'neil")
                .set("passfile", "/a dir/pgpass")
                .set("application_name", "")
                .set("x", "back\\slash")
                .toString();
        assertThat(ci).isEqualTo("user='o\\'neil' passfile='/a dir/pgpass' application_name='' x='back\\\\slash'");
        assertThat(ConnInfo.parse(ci))
                .containsExactly(
                        Map.entry("user", "o'neil"),
                        Map.entry("passfile", "/a dir/pgpass"),
                        Map.entry("application_name", ""),
                        Map.entry("x", "back\\slash"));
    }

    @Test
    void skipsNullValues() {
        assertThat(new ConnInfo().set("host", "h").set("port", null).toString()).isEqualTo("host=h");
    }

    @Test
    void parseRejectsBrokenInput() {
        assertThatThrownBy(() -> ConnInfo.parse("host")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ConnInfo.parse("host='x")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void hostPortFromConnUrlAndListen() {
        assertThat(HostPort.fromConnUrl("postgres://10.0.0.1:5433/postgres")).isEqualTo(new HostPort("10.0.0.1", 5433));
        assertThat(HostPort.fromConnUrl("postgresql://db1/postgres")).isEqualTo(new HostPort("db1", 5432));
        assertThat(HostPort.fromConnUrl("postgres://[::1]:6000/postgres")).isEqualTo(new HostPort("::1", 6000));
        assertThatThrownBy(() -> HostPort.fromConnUrl("http://x:1/")).hasMessageContaining("conn_url");
        assertThatThrownBy(() -> HostPort.fromConnUrl(null)).hasMessageContaining("conn_url");

        HostPort listen = HostPort.parse("postgresql.listen", "127.0.0.1,::1:5432");
        assertThat(listen.host()).isEqualTo("127.0.0.1,::1");
        assertThat(listen.port()).isEqualTo(5432);
        assertThat(listen.firstHost()).isEqualTo("127.0.0.1");
        assertThat(HostPort.parse("k", "*:5432").localConnectHost()).isEqualTo("127.0.0.1");
        assertThat(HostPort.parse("k", "0.0.0.0:5432").localConnectHost()).isEqualTo("127.0.0.1");
        assertThat(HostPort.parse("k", "[::]:5432").localConnectHost()).isEqualTo("::1");
        assertThat(HostPort.urlAuthority("::1", 5)).isEqualTo("[::1]:5");
        for (String bad : new String[] {"", "host", "host:", ":5432", "h:0", "h:70000", "h:x"}) {
            assertThatThrownBy(() -> HostPort.parse("postgresql.listen", bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("postgresql.listen");
        }
    }
}
