package io.pgha.dcs.zookeeper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.zookeeper.ZooDefs.Perms;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.common.ClientX509Util;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;

/**
 * The {@code zookeeper:} section of a node's configuration, with Patroni's key names:
 *
 * <pre>
 * zookeeper:
 *   hosts: [zk1:2181, zk2:2181, zk3:2181]   # or "zk1:2181,zk2:2181"; the port defaults to 2181
 *   use_ssl: true                            # TLS (the client then uses Netty)
 *   cacert: /etc/pgha/zk-ca.pem              # PEM trust store
 *   cert: /etc/pgha/zk-client.pem            # PEM client certificate (with the key, or see key)
 *   key: /etc/pgha/zk-client.key             # PEM private key, when not in cert
 *   key_password: secret                     # password of an encrypted key
 *   verify: true                             # false turns hostname verification off
 *   set_acls:                                # x509 ACLs on every znode pgha creates
 *     CN=pgha-node: [ALL]
 *     CN=admin: [READ]
 * </pre>
 *
 * Parsing checks everything at once and names the offending key and value; nothing is connected
 * before the options are valid. Immutable.
 */
record ZooKeeperOptions(
        String connectString,
        boolean useSsl,
        boolean verify,
        Path cacert,
        Path cert,
        Path key,
        String keyPassword,
        List<ACL> acls) {

    static final int DEFAULT_PORT = 2181;
    private static final Set<String> KNOWN =
            new TreeSet<>(List.of("hosts", "use_ssl", "verify", "cacert", "cert", "key", "key_password", "set_acls"));

    ZooKeeperOptions {
        // not List.copyOf: ZooKeeper checks acl.contains(null), which an immutable List.of list refuses
        acls = Collections.unmodifiableList(new ArrayList<>(acls));
    }

    static ZooKeeperOptions parse(Map<String, Object> options) {
        for (String k : options.keySet()) {
            if (!KNOWN.contains(k)) {
                throw new IllegalArgumentException("zookeeper." + k + ": unknown option (known: " + KNOWN + ")");
            }
        }
        String connect = connectString(options.get("hosts"));
        boolean useSsl = bool(options, "use_ssl", false);
        boolean verify = bool(options, "verify", true);
        Path cacert = file(options, "cacert");
        Path cert = file(options, "cert");
        Path key = file(options, "key");
        Object pw = options.get("key_password");
        String keyPassword = pw == null ? null : pw.toString();
        if (!useSsl) {
            for (String k : List.of("cacert", "cert", "key", "key_password")) {
                if (options.get(k) != null) {
                    throw new IllegalArgumentException("zookeeper." + k + " is set but zookeeper.use_ssl is not true");
                }
            }
        }
        if (key != null && cert == null) {
            throw new IllegalArgumentException("zookeeper.key is set without zookeeper.cert");
        }
        return new ZooKeeperOptions(
                connect, useSsl, verify, cacert, cert, key, keyPassword, acls(options.get("set_acls")));
    }

    /**
     * The ZooKeeper client configuration these options ask for, and the private directory of the
     * key material it points to (null when there is none). With TLS, a separate key file is joined
     * with the certificate into one PEM file, because the ZooKeeper client reads the key and the
     * certificate chain from a single key store file, on every connection: the file lives in a
     * fresh directory only its owner can enter (0700; the file 0600, created exclusively), for as
     * long as the client does; {@link ClientSetup#deleteKeyMaterial} removes both when the client
     * is closed (and the JVM's exit, should it not be).
     */
    record ClientSetup(ZKClientConfig config, Path keyMaterialDir) {

        /** Deletes the joined key store and its directory; nothing when there are none. */
        void deleteKeyMaterial() throws IOException {
            if (keyMaterialDir == null) {
                return;
            }
            try (var files = Files.list(keyMaterialDir)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(keyMaterialDir);
        }
    }

    /** The client configuration alone (tests); a joined key store it makes is left to the JVM's exit. */
    ZKClientConfig clientConfig() {
        return clientSetup().config();
    }

    ClientSetup clientSetup() {
        ZKClientConfig config = new ZKClientConfig();
        if (!useSsl) {
            return new ClientSetup(config, null);
        }
        Path keyMaterialDir = null;
        config.setProperty(ZKClientConfig.SECURE_CLIENT, "true");
        config.setProperty(ZKClientConfig.ZOOKEEPER_CLIENT_CNXN_SOCKET, "org.apache.zookeeper.ClientCnxnSocketNetty");
        try (ClientX509Util x509 = new ClientX509Util()) {
            if (cacert != null) {
                config.setProperty(x509.getSslTruststoreLocationProperty(), cacert.toString());
                config.setProperty(x509.getSslTruststoreTypeProperty(), "PEM");
            }
            if (cert != null) {
                Path keyStore;
                if (key == null || key.equals(cert)) {
                    keyStore = cert;
                } else {
                    keyMaterialDir = privateDirectory();
                    keyStore = joinedKeyStore(keyMaterialDir, cert, key);
                }
                config.setProperty(x509.getSslKeystoreLocationProperty(), keyStore.toString());
                config.setProperty(x509.getSslKeystoreTypeProperty(), "PEM");
                if (keyPassword != null) {
                    config.setProperty(x509.getSslKeystorePasswdProperty(), keyPassword);
                }
            }
            if (!verify) {
                config.setProperty(x509.getSslHostnameVerificationEnabledProperty(), "false");
            }
        }
        return new ClientSetup(config, keyMaterialDir);
    }

    private static Path privateDirectory() {
        try {
            Path dir = Files.createTempDirectory(
                    "pgha-zk-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            // deleteOnExit runs in reverse order: the file registered after it goes first
            dir.toFile().deleteOnExit();
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a private directory for zookeeper's joined key store", e);
        }
    }

    private static Path joinedKeyStore(Path dir, Path cert, Path key) {
        Path joined = dir.resolve("keystore.pem");
        try {
            String pem = Files.readString(key).strip() + "\n"
                    + Files.readString(cert).strip() + "\n";
            Files.createFile(
                    joined, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            joined.toFile().deleteOnExit();
            Files.writeString(joined, pem, java.nio.file.StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
            return joined;
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot join zookeeper.key " + key + " and zookeeper.cert " + cert + " into one PEM key store", e);
        }
    }

    static String connectString(Object hosts) {
        List<String> list = new ArrayList<>();
        if (hosts instanceof Collection<?> c) {
            c.forEach(h -> list.add(String.valueOf(h)));
        } else if (hosts != null) {
            for (String h : hosts.toString().split(",")) {
                list.add(h);
            }
        }
        List<String> out = new ArrayList<>();
        for (String raw : list) {
            String h = raw.trim();
            if (h.isEmpty()) {
                continue;
            }
            if (h.contains("/")) {
                throw new IllegalArgumentException("zookeeper.hosts: '" + h
                        + "' is not host:port (a chroot is not supported;" + " use the namespace setting)");
            }
            int colon = h.lastIndexOf(':');
            if (colon < 0 || (h.startsWith("[") && h.endsWith("]"))) {
                out.add(h + ":" + DEFAULT_PORT);
                continue;
            }
            String host = h.substring(0, colon);
            String port = h.substring(colon + 1);
            int p;
            try {
                p = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                p = -1;
            }
            if (host.isEmpty() || p < 1 || p > 65535) {
                throw new IllegalArgumentException("zookeeper.hosts: '" + h + "' is not host:port");
            }
            out.add(host + ":" + p);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("zookeeper.hosts: at least one host:port is required, got " + hosts);
        }
        return String.join(",", out);
    }

    /** Patroni's set_acls: principal to permissions, each an x509 ACL. */
    static List<ACL> acls(Object setAcls) {
        if (setAcls == null) {
            return List.of();
        }
        if (!(setAcls instanceof Map<?, ?> map) || map.isEmpty()) {
            throw new IllegalArgumentException(
                    "zookeeper.set_acls: expected a map of principal to permissions, got " + setAcls);
        }
        List<ACL> acls = new ArrayList<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String principal = String.valueOf(e.getKey());
            List<String> perms = new ArrayList<>();
            if (e.getValue() instanceof Collection<?> c) {
                c.forEach(p -> perms.add(String.valueOf(p)));
            } else if (e.getValue() != null) {
                for (String p : e.getValue().toString().split(",")) {
                    perms.add(p);
                }
            }
            int bits = 0;
            for (String p : perms) {
                bits |= switch (p.trim().toUpperCase(Locale.ROOT)) {
                    case "READ" -> Perms.READ;
                    case "WRITE" -> Perms.WRITE;
                    case "CREATE" -> Perms.CREATE;
                    case "DELETE" -> Perms.DELETE;
                    case "ADMIN" -> Perms.ADMIN;
                    case "ALL" -> Perms.ALL;
                    default ->
                        throw new IllegalArgumentException("zookeeper.set_acls." + principal + ": unknown permission '"
                                + p.trim() + "' (known: READ, WRITE, CREATE, DELETE, ADMIN, ALL)");
                };
            }
            if (bits == 0) {
                throw new IllegalArgumentException("zookeeper.set_acls." + principal + ": no permissions given");
            }
            acls.add(new ACL(bits, new Id("x509", principal)));
        }
        return acls;
    }

    private static boolean bool(Map<String, Object> options, String key, boolean fallback) {
        Object v = options.get(key);
        if (v == null) {
            return fallback;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        String s = v.toString().trim().toLowerCase(Locale.ROOT);
        return switch (s) {
            case "true", "on", "yes", "1" -> true;
            case "false", "off", "no", "0" -> false;
            default ->
                throw new IllegalArgumentException("zookeeper." + key + ": expected true or false, got '" + v + "'");
        };
    }

    private static Path file(Map<String, Object> options, String key) {
        Object v = options.get(key);
        if (v == null) {
            return null;
        }
        Path p = Path.of(v.toString());
        if (!Files.isReadable(p)) {
            throw new IllegalArgumentException("zookeeper." + key + ": cannot read " + p);
        }
        return p;
    }

    @Override
    public String toString() {
        // never print the key password
        return "ZooKeeperOptions{hosts=" + connectString + ", use_ssl=" + useSsl + ", verify=" + verify + ", cacert="
                + cacert + ", cert=" + cert + ", key=" + key + ", acls=" + acls.size() + "}";
    }
}
