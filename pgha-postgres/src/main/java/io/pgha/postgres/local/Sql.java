package io.pgha.postgres.local;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * JDBC connections to PostgreSQL (pgjdbc), as the superuser over TCP, or to the member's own
 * server through its Unix socket ({@code use_unix_socket}). The password is passed in
 * the connection properties only, never in a URL or a log line.
 */
final class Sql {

    private static final org.postgresql.Driver DRIVER = new org.postgresql.Driver();

    /** How long pgha's own connections may take to connect and log in, and its queries to answer. */
    static final int TIMEOUT_SECONDS = 10;

    private Sql() {}

    /**
     * The superuser's connection to this member's own server: over TCP to listen's first host, or,
     * with {@code use_unix_socket}, through the running server's Unix socket.
     *
     * @param dataDir the data directory, whose postmaster.pid names the socket's directory
     */
    static Connection local(LocalPostgresConfig config, Path dataDir) throws SQLException {
        Path socket = config.useUnixSocket() ? localSocket(dataDir, config.port()) : null;
        if (socket == null) {
            return superuser(config, new HostPort(config.listen().localConnectHost(), config.port()));
        }
        Properties p = unixSocket(
                properties(config.superuser(), config.superuserPassword(), config.superuserSsl(), TIMEOUT_SECONDS),
                socket);
        return open("localhost", config.port(), p);
    }

    /**
     * A replication-protocol connection to this member's own server as the replication user: over
     * TCP, or with {@code use_unix_socket_repl} through its Unix socket.
     */
    static Connection localReplication(LocalPostgresConfig config, Path dataDir) throws SQLException {
        Path socket = config.useUnixSocketRepl() ? localSocket(dataDir, config.port()) : null;
        if (socket == null) {
            return connectReplication(
                    config.listen().localConnectHost(),
                    config.port(),
                    config.replicationUser(),
                    config.replicationPassword(),
                    config.replicationSsl(),
                    TIMEOUT_SECONDS);
        }
        Properties p = unixSocket(
                replication(properties(
                        config.replicationUser(),
                        config.replicationPassword(),
                        config.replicationSsl(),
                        TIMEOUT_SECONDS)),
                socket);
        return open("localhost", config.port(), p);
    }

    /**
     * The Unix socket file of the server running in {@code dataDir}: in the directory its
     * postmaster.pid names (the first of the {@code unix_socket_directories} it runs with, which
     * may differ from the configured value until a restart), null when it names none (no Unix
     * socket, an abstract one, or no server): then pgha connects over TCP, as Patroni falls back to
     * TCP when {@code unix_socket_directories} holds no absolute path.
     */
    static Path localSocket(Path dataDir, int port) {
        PidFile pid = PidFile.read(dataDir);
        if (pid == null || !pid.socketDir().startsWith("/")) {
            return null;
        }
        return UnixSocketFactory.socketFile(Path.of(pid.socketDir()), port);
    }

    /**
     * {@code p} changed to connect through {@code socket}; TLS and GSSAPI encryption off, as libpq
     * ignores {@code sslmode} on a Unix socket (PostgreSQL refuses TLS there).
     */
    private static Properties unixSocket(Properties p, Path socket) {
        p.setProperty("socketFactory", UnixSocketFactory.class.getName());
        p.setProperty("socketFactoryArg", socket.toString());
        p.setProperty("sslmode", "disable");
        p.setProperty("gssEncMode", "disable");
        return p;
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
        return open(host, port, replication(properties(user, password, ssl, timeoutSeconds)));
    }

    private static Properties replication(Properties p) {
        p.setProperty("replication", "true");
        p.setProperty("assumeMinServerVersion", "9.4");
        p.setProperty("preferQueryMode", "simple");
        return p;
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
