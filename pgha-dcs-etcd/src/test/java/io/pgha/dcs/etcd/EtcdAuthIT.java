package io.pgha.dcs.etcd;

import static io.pgha.dcs.etcd.EtcdStore.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.etcd.jetcd.Auth;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.auth.Permission;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsSettings;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code username} / {@code password} against an etcd with authentication on, and a user limited to the namespace. */
class EtcdAuthIT {
    private static EtcdServer etcd;

    @BeforeAll
    static void startEtcd() throws Exception {
        EtcdServer.assumeInstalled();
        etcd = EtcdServer.start();
        try (Client admin = Client.builder().endpoints(etcd.endpoint()).build()) {
            Auth auth = admin.getAuthClient();
            auth.userAdd(bytes("root"), bytes("rootpw")).get(60, TimeUnit.SECONDS);
            auth.userGrantRole(bytes("root"), bytes("root")).get(10, TimeUnit.SECONDS);
            auth.roleAdd(bytes("pgha")).get(10, TimeUnit.SECONDS);
            // read/write on the /service/ prefix only
            auth.roleGrantPermission(bytes("pgha"), bytes("/service/"), bytes("/service0"), Permission.Type.READWRITE)
                    .get(10, TimeUnit.SECONDS);
            auth.userAdd(bytes("pgha"), bytes("s3cret")).get(10, TimeUnit.SECONDS);
            auth.userGrantRole(bytes("pgha"), bytes("pgha")).get(10, TimeUnit.SECONDS);
            auth.authEnable().get(10, TimeUnit.SECONDS);
        }
    }

    @AfterAll
    static void stopEtcd() throws Exception {
        if (etcd != null) {
            etcd.close();
        }
    }

    @Test
    void aUserWithRightsOnTheNamespaceRunsTheWholeCycle() throws Exception {
        try (Dcs a = connect("pgha", "s3cret", "/service/", "a");
                Dcs b = connect("pgha", "s3cret", "/service/", "b")) {
            a.touchMember(Map.of("state", "running"));
            assertThat(a.acquireLeader()).isTrue();
            assertThat(a.renewLeader()).isTrue();
            assertThat(a.writeConfig(Map.of("ttl", 30L), Dcs.ABSENT)).isTrue();
            assertThat(b.read().isLeader("a")).isTrue();
            a.close();
            assertThat(b.read().hasLeader()).as("the lease revoked on close").isFalse();
        }
    }

    @Test
    void aWrongPasswordAndAForeignNamespaceFailClearly() throws Exception {
        try (Dcs wrong = connect("pgha", "nope", "/service/", "a")) {
            assertThatThrownBy(wrong::read).isInstanceOf(DcsException.class).hasMessageContaining(etcd.endpoint());
        }
        try (Dcs foreign = connect("pgha", "s3cret", "/other/", "a")) {
            assertThatThrownBy(foreign::read)
                    .isInstanceOf(DcsException.class)
                    .hasMessageContaining("PERMISSION_DENIED");
        }
    }

    private static Dcs connect(String user, String password, String namespace, String member) throws DcsException {
        return new EtcdDcsProvider()
                .create(new DcsSettings(
                        namespace,
                        "auth",
                        member,
                        Duration.ofSeconds(10),
                        Duration.ofSeconds(10),
                        Map.of("host", etcd.hostPort(), "username", user, "password", password)));
    }
}
