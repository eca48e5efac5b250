package io.pgha.dcs.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.dcs.DcsProvider;
import io.pgha.dcs.DcsSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.zookeeper.ZooDefs.Perms;
import org.apache.zookeeper.client.ZKClientConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ZooKeeperOptionsTest {

    @Test
    void hostsAsAListOrACommaStringWithTheDefaultPort() {
        assertThat(ZooKeeperOptions.parse(Map.of("hosts", List.of("zk1:2181", "zk2")))
                        .connectString())
                .isEqualTo("zk1:2181,zk2:2181");
        assertThat(ZooKeeperOptions.parse(Map.of("hosts", " zk1:2182, zk2:2183 "))
                        .connectString())
                .isEqualTo("zk1:2182,zk2:2183");
    }

    @Test
    void badHostsAreRejectedNamingTheValue() {
        assertThatThrownBy(() -> ZooKeeperOptions.parse(Map.of())).hasMessageContaining("zookeeper.hosts");
        assertThatThrownBy(() -> ZooKeeperOptions.parse(Map.of("hosts", "zk1:abc")))
                .hasMessageContaining("'zk1:abc'");
        assertThatThrownBy(() -> ZooKeeperOptions.parse(Map.of("hosts", "zk1:99999")))
                .hasMessageContaining("'zk1:99999'");
        assertThatThrownBy(() -> ZooKeeperOptions.parse(Map.of("hosts", "zk1:2181/chroot")))
                .hasMessageContaining("chroot");
    }

    @Test
    void unknownOptionsAreRejected() {
        assertThatThrownBy(() -> ZooKeeperOptions.parse(Map.of("hosts", "zk1", "host", "zk2")))
                .hasMessageContaining("zookeeper.host: unknown option");
    }

    @Test
    void setAclsAsPatroniWritesThem() {
        ZooKeeperOptions o = ZooKeeperOptions.parse(Map.of(
                "hosts", "zk1", "set_acls", Map.of("CN=node", List.of("ALL"), "CN=admin", List.of("read", "Write"))));
        assertThat(o.acls()).hasSize(2);
        assertThat(o.acls())
                .allSatisfy(acl -> assertThat(acl.getId().getScheme()).isEqualTo("x509"));
        assertThat(o.acls()).anySatisfy(acl -> {
            assertThat(acl.getId().getId()).isEqualTo("CN=admin");
            assertThat(acl.getPerms()).isEqualTo(Perms.READ | Perms.WRITE);
        });
        assertThatThrownBy(() -> ZooKeeperOptions.parse(
                        Map.of("hosts", "zk1", "set_acls", Map.of("CN=x", List.of("READ", "FLY")))))
                .hasMessageContaining("zookeeper.set_acls.CN=x")
                .hasMessageContaining("'FLY'");
        assertThatThrownBy(() -> ZooKeeperOptions.parse(Map.of("hosts", "zk1", "set_acls", "CN=x")))
                .hasMessageContaining("zookeeper.set_acls");
    }

    @Test
    void tlsOptionsMapOntoTheClientConfig(@TempDir Path dir) throws Exception {
        Path ca = Files.writeString(
                dir.resolve("ca.pem"), "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n");
        Path cert =
                Files.writeString(dir.resolve("c.pem"), "-----BEGIN CERTIFICATE-----\nC\n-----END CERTIFICATE-----\n");
        Path key =
                Files.writeString(dir.resolve("c.key"), "-----BEGIN PRIVATE KEY-----\nK\n-----END PRIVATE KEY-----\n");
        ZooKeeperOptions o = ZooKeeperOptions.parse(Map.of(
                "hosts",
                "zk1",
                "use_ssl",
                true,
                "cacert",
                ca.toString(),
                "cert",
                cert.toString(),
                "key",
                key.toString(),
                "key_password",
                "s3cret",
                "verify",
                "false"));
        ZKClientConfig c = o.clientConfig();
        assertThat(c.getProperty(ZKClientConfig.SECURE_CLIENT)).isEqualTo("true");
        assertThat(c.getProperty(ZKClientConfig.ZOOKEEPER_CLIENT_CNXN_SOCKET)).endsWith("ClientCnxnSocketNetty");
        assertThat(c.getProperty("zookeeper.ssl.trustStore.location")).isEqualTo(ca.toString());
        assertThat(c.getProperty("zookeeper.ssl.trustStore.type")).isEqualTo("PEM");
        assertThat(c.getProperty("zookeeper.ssl.keyStore.type")).isEqualTo("PEM");
        assertThat(c.getProperty("zookeeper.ssl.keyStore.password")).isEqualTo("s3cret");
        assertThat(c.getProperty("zookeeper.ssl.hostnameVerification")).isEqualTo("false");
        Path joined = Path.of(c.getProperty("zookeeper.ssl.keyStore.location"));
        assertThat(Files.readString(joined)).contains("PRIVATE KEY").contains("BEGIN CERTIFICATE");
        assertThat(o.toString()).doesNotContain("s3cret");
    }

    @Test
    void theJoinedKeyStoreIsPrivateAndGoneWhenTheClientCloses(@TempDir Path dir) throws Exception {
        Path cert =
                Files.writeString(dir.resolve("c.pem"), "-----BEGIN CERTIFICATE-----\nC\n-----END CERTIFICATE-----\n");
        Path key =
                Files.writeString(dir.resolve("c.key"), "-----BEGIN PRIVATE KEY-----\nK\n-----END PRIVATE KEY-----\n");
        ZooKeeperOptions o = ZooKeeperOptions.parse(
                Map.of("hosts", "127.0.0.1:1", "use_ssl", true, "cert", cert.toString(), "key", key.toString()));
        ZooKeeperOptions.ClientSetup setup = o.clientSetup();
        Path joined = Path.of(setup.config().getProperty("zookeeper.ssl.keyStore.location"));
        assertThat(joined.getParent()).isEqualTo(setup.keyMaterialDir());
        assertThat(java.nio.file.Files.getPosixFilePermissions(
                        setup.keyMaterialDir(), java.nio.file.LinkOption.NOFOLLOW_LINKS))
                .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        assertThat(java.nio.file.Files.getPosixFilePermissions(joined, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        setup.deleteKeyMaterial();
        assertThat(setup.keyMaterialDir()).doesNotExist();

        // the store deletes its own when it is closed
        ZooKeeperStore store = new ZooKeeperStore(
                new io.pgha.dcs.DcsSettings(null, "batman", "pg0", java.time.Duration.ofSeconds(30), null, Map.of()),
                o);
        java.lang.reflect.Field f = ZooKeeperStore.class.getDeclaredField("clientSetup");
        f.setAccessible(true);
        Path storeDir = ((ZooKeeperOptions.ClientSetup) f.get(store)).keyMaterialDir();
        assertThat(storeDir.resolve("keystore.pem")).exists();
        store.close();
        assertThat(storeDir).doesNotExist();
    }

    @Test
    void withoutASeparateKeyNothingIsWritten() throws Exception {
        assertThat(ZooKeeperOptions.parse(Map.of("hosts", "zk1")).clientSetup().keyMaterialDir())
                .isNull();
    }

    @Test
    void tlsFilesWithoutUseSslOrUnreadableAreRejected(@TempDir Path dir) throws Exception {
        Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
        assertThatThrownBy(() -> ZooKeeperOptions.parse(Map.of("hosts", "zk1", "cacert", ca.toString())))
                .hasMessageContaining("zookeeper.cacert")
                .hasMessageContaining("use_ssl");
        assertThatThrownBy(() -> ZooKeeperOptions.parse(
                        Map.of("hosts", "zk1", "use_ssl", true, "cacert", "/nonexistent/ca.pem")))
                .hasMessageContaining("zookeeper.cacert: cannot read /nonexistent/ca.pem");
        assertThatThrownBy(() -> ZooKeeperOptions.parse(Map.of("hosts", "zk1", "use_ssl", "maybe")))
                .hasMessageContaining("zookeeper.use_ssl")
                .hasMessageContaining("'maybe'");
    }

    @Test
    void theProviderIsFoundByTypeAndChecksOptionsBeforeConnecting() {
        DcsProvider p = DcsProvider.find("zookeeper");
        assertThat(p).isInstanceOf(ZooKeeperDcsProvider.class);
        assertThatThrownBy(() -> p.create(new DcsSettings(null, "c", "a", null, null, Map.of("hosts", "zk1:x"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("zookeeper.hosts");
    }
}
