package io.pgha.spring.boot;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Member;
import java.io.PrintWriter;
import java.net.URI;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Where the pool's new connections go: the cluster's primary. pgjdbc's multi-host connection over
 * the leader first and then every other member, with {@code targetServerType=primary}, so that a
 * host that is no longer the primary is passed over even before the member list catches up. The
 * hosts are re-read from the cluster on every leader change ({@link #follow}). Not a pool: HikariCP
 * pools over it. Thread-safe.
 */
final class PrimaryFollowingDataSource implements DataSource {
    private final String database;
    private final String user;
    private final String password;
    private volatile PGSimpleDataSource delegate;
    private volatile List<String> hosts = List.of();

    PrimaryFollowingDataSource(String initialHostPort, String database, String user, String password) {
        this.database = database;
        this.user = user;
        this.password = password;
        use(List.of(initialHostPort));
    }

    /** Re-reads the hosts from the cluster's members (leader first); an empty cluster changes nothing. */
    void follow(ClusterState cluster) {
        List<String> next = new ArrayList<>();
        cluster.leaderMember().ifPresent(m -> add(next, m));
        for (Member m : cluster.members()) {
            add(next, m);
        }
        if (!next.isEmpty()) {
            use(next);
        }
    }

    /** host:port of the hosts new connections try, in order. */
    List<String> hosts() {
        return hosts;
    }

    private static void add(List<String> hosts, Member m) {
        if (m.connUrl() == null) {
            return;
        }
        URI u = URI.create(m.connUrl());
        String hp = u.getHost() + ":" + (u.getPort() > 0 ? u.getPort() : 5432);
        if (!hosts.contains(hp)) {
            hosts.add(hp);
        }
    }

    private synchronized void use(List<String> next) {
        if (next.equals(hosts)) {
            return;
        }
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setURL("jdbc:postgresql://" + String.join(",", next) + "/" + database);
        ds.setTargetServerType("primary");
        // a dead former primary is passed over quickly, and its status not cached beyond a loop
        ds.setConnectTimeout(5);
        ds.setHostRecheckSeconds(2);
        ds.setUser(user);
        ds.setPassword(password);
        this.delegate = ds;
        this.hosts = List.copyOf(next);
    }

    @Override
    public Connection getConnection() throws SQLException {
        return delegate.getConnection();
    }

    @Override
    public Connection getConnection(String username, String pw) throws SQLException {
        return delegate.getConnection(username, pw);
    }

    @Override
    public PrintWriter getLogWriter() {
        return null;
    }

    @Override
    public void setLogWriter(PrintWriter out) {}

    @Override
    public void setLoginTimeout(int seconds) {}

    @Override
    public int getLoginTimeout() {
        return 0;
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        throw new SQLFeatureNotSupportedException();
    }

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
        if (iface.isInstance(this)) {
            return iface.cast(this);
        }
        throw new SQLException("not a wrapper of " + iface.getName());
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) {
        return iface.isInstance(this);
    }
}
