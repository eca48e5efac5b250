package io.pgha.postgres.local;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * The TLS and GSSAPI-encryption settings of one of pgha's client connections to PostgreSQL, as
 * Patroni's {@code postgresql.authentication.{superuser,replication,rewind}} keys give them:
 * {@code sslmode}, {@code sslrootcert}, {@code sslcert}, {@code sslkey}, {@code sslpassword},
 * {@code sslcrl}, {@code sslcrldir}, {@code channel_binding}, {@code gssencmode}. Absent keys
 * leave libpq's and pgjdbc's defaults, except {@code sslmode}, which is {@code prefer} as in
 * Patroni.
 *
 * <p>libpq (primary_conninfo, pg_basebackup, pg_rewind) gets every key but {@code sslpassword}: a
 * secret does not go on a command line or into primary_conninfo, so a key for libpq is unencrypted.
 * pgjdbc (pgha's own superuser and replication-protocol connections) gets {@code sslmode},
 * {@code sslrootcert}, {@code sslcert}, {@code sslkey}, {@code sslpassword},
 * {@code channelBinding} and {@code gssEncMode}; it has no CRL settings. pgjdbc 42.7 reads the key
 * as PKCS-8 (DER, or PEM with {@code BEGIN PRIVATE KEY}), or PKCS-12 when the name ends in
 * {@code .p12} or {@code .pfx}; a traditional {@code BEGIN RSA PRIVATE KEY} file is libpq-only.
 */
public record ClientSsl(
        String sslmode,
        String sslrootcert,
        String sslcert,
        String sslkey,
        String sslpassword,
        String sslcrl,
        String sslcrldir,
        String channelBinding,
        String gssencmode) {

    static final Set<String> SSLMODES = Set.of("disable", "allow", "prefer", "require", "verify-ca", "verify-full");
    static final Set<String> CHANNEL_BINDING = Set.of("disable", "prefer", "require");
    static final Set<String> GSSENCMODE = Set.of("disable", "prefer", "require");

    /** Patroni's default: {@code sslmode=prefer} and nothing else. */
    public static final ClientSsl DEFAULT = new ClientSsl("prefer", null, null, null, null, null, null, null, null);

    public ClientSsl {
        sslmode = sslmode == null || sslmode.isBlank() ? "prefer" : sslmode;
        check(sslmode, SSLMODES, "sslmode");
        if (channelBinding != null) {
            check(channelBinding, CHANNEL_BINDING, "channel_binding");
        }
        if (gssencmode != null) {
            check(gssencmode, GSSENCMODE, "gssencmode");
        }
    }

    private static void check(String value, Set<String> allowed, String key) {
        if (!allowed.contains(value)) {
            throw new IllegalArgumentException(
                    key + " must be one of " + new java.util.TreeSet<>(allowed) + ", not '" + value + "'");
        }
    }

    /**
     * Reads Patroni's keys from one {@code postgresql.authentication.<user>} section; {@code path}
     * names it in errors.
     */
    public static ClientSsl fromPatroni(Map<String, ?> section, String path) {
        if (section == null) {
            return DEFAULT;
        }
        try {
            return new ClientSsl(
                    string(section, "sslmode", path),
                    string(section, "sslrootcert", path),
                    string(section, "sslcert", path),
                    string(section, "sslkey", path),
                    string(section, "sslpassword", path),
                    string(section, "sslcrl", path),
                    string(section, "sslcrldir", path),
                    string(section, "channel_binding", path),
                    string(section, "gssencmode", path));
        } catch (IllegalArgumentException e) {
            throw e.getMessage().startsWith(path) ? e : new IllegalArgumentException(path + "." + e.getMessage(), e);
        }
    }

    private static String string(Map<String, ?> section, String key, String path) {
        Object v = section.get(key);
        if (v == null) {
            return null;
        }
        if (v instanceof Map || v instanceof Iterable) {
            throw new IllegalArgumentException(path + "." + key + " must be a string");
        }
        return v.toString();
    }

    /** The libpq conninfo keys, in a fixed order, {@code sslpassword} left out. */
    Map<String, String> libpq() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("sslmode", sslmode);
        put(m, "sslrootcert", sslrootcert);
        put(m, "sslcert", sslcert);
        put(m, "sslkey", sslkey);
        put(m, "sslcrl", sslcrl);
        put(m, "sslcrldir", sslcrldir);
        put(m, "channel_binding", channelBinding);
        put(m, "gssencmode", gssencmode);
        return m;
    }

    /** Adds the libpq keys to {@code conninfo}. */
    ConnInfo applyTo(ConnInfo conninfo) {
        libpq().forEach(conninfo::set);
        return conninfo;
    }

    /** Sets pgjdbc's properties for these settings on {@code p}. */
    Properties applyTo(Properties p) {
        p.setProperty("sslmode", sslmode);
        setIf(p, "sslrootcert", sslrootcert);
        setIf(p, "sslcert", sslcert);
        setIf(p, "sslkey", sslkey);
        setIf(p, "sslpassword", sslpassword);
        setIf(p, "channelBinding", channelBinding);
        setIf(p, "gssEncMode", gssencmode);
        return p;
    }

    private static void put(Map<String, String> m, String key, String value) {
        if (value != null) {
            m.put(key, value);
        }
    }

    private static void setIf(Properties p, String key, String value) {
        if (value != null) {
            p.setProperty(key, value);
        }
    }

    @Override
    public String toString() {
        // sslpassword is a secret
        return "ClientSsl" + libpq();
    }
}
