package io.pgha.postgres.local;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * JDBC connections to PostgreSQL (pgjdbc), as the superuser over TCP. The password is passed in
 * the connection properties only, never in a URL or a log line.
 */
final class Sql {

    private static final org.postgresql.Driver DRIVER = new org.postgresql.Driver();

    /** How long pgha's own connections may take to connect and log in, and its queries to answer. */
    static final int TIMEOUT_SECONDS = 10;

    private Sql() {}

    /** The superuser's connection to this member's own server (listen's first host, over TCP). */
    static Connection local(LocalPostgresConfig config) throws SQLException {
        return superuser(config, new HostPort(config.listen().localConnectHost(), config.port()));
    }

    /** The superuser's connection to database {@code database} of this member's own server (a logical slot's). */
    static Connection local(LocalPostgresConfig config, String database) throws SQLException {
        Properties p =
                properties(config.superuser(), config.superuserPassword(), config.superuserSsl(), TIMEOUT_SECONDS);
        p.setProperty("tcpKeepAlive", "true");
        return open(config.listen().localConnectHost(), config.port(), database, p);
    }

    /** The superuser's connection to the server at {@code at}: this member's, or another member's. */
    static Connection superuser(LocalPostgresConfig config, HostPort at) throws SQLException {
        return connect(
                at.host(),
                at.port(),
                config.superuser(),
                config.superuserPassword(),
                config.superuserSsl(),
                TIMEOUT_SECONDS);
    }

    /** Whether the server on {@code st}'s connection is in recovery (a standby). */
    static boolean inRecovery(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    static String url(String host, int port) {
        return url(host, port, "postgres");
    }

    static String url(String host, int port, String database) {
        return "jdbc:postgresql://" + HostPort.urlAuthority(host, port) + "/"
                + java.net.URLEncoder.encode(database, java.nio.charset.StandardCharsets.UTF_8)
                        .replace("+", "%20");
    }

    /** A connection with short connect and login timeouts; queries set their own timeouts. */
    static Connection connect(String host, int port, String user, String password, ClientSsl ssl, int timeoutSeconds)
            throws SQLException {
        Properties p = properties(user, password, ssl, timeoutSeconds);
        p.setProperty("tcpKeepAlive", "true");
        return open(host, port, p);
    }

    /**
     * A physical replication connection ({@code replication=true}): only replication commands such
     * as {@code IDENTIFY_SYSTEM}, in the simple query protocol.
     */
    static Connection connectReplication(
            String host, int port, String user, String password, ClientSsl ssl, int timeoutSeconds)
            throws SQLException {
        Properties p = properties(user, password, ssl, timeoutSeconds);
        p.setProperty("replication", "true");
        p.setProperty("assumeMinServerVersion", "9.4");
        p.setProperty("preferQueryMode", "simple");
        return open(host, port, p);
    }

    static Properties properties(String user, String password, ClientSsl ssl, int timeoutSeconds) {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("ApplicationName", "pgha");
        p.setProperty("connectTimeout", String.valueOf(timeoutSeconds));
        p.setProperty("loginTimeout", String.valueOf(timeoutSeconds));
        ssl.applyTo(p);
        return p;
    }

    private static Connection open(String host, int port, Properties p) throws SQLException {
        return open(host, port, "postgres", p);
    }

    private static Connection open(String host, int port, String database, Properties p) throws SQLException {
        // the driver directly, not DriverManager: an embedding application's class loaders may hide it from
        // DriverManager
        Connection c = DRIVER.connect(url(host, port, database), p);
        if (c == null) {
            throw new SQLException("pgjdbc did not accept " + url(host, port, database));
        }
        return c;
    }

    /** A quoted SQL identifier. */
    static String ident(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }
}
