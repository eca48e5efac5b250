package io.pgha.examples;

import java.io.Closeable;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * A client that inserts one row every {@code interval} and records every insert the server
 * acknowledged, with the time of the acknowledgement: what measures a failover's write gap and
 * checks that no acknowledged write was lost. Each row is its own autocommit transaction; after
 * an error the connection is dropped and a new one is made on the next tick. The recorded acks
 * are safe to read from any thread; {@link #close()} stops the writing thread.
 */
final class WriteProbe implements Closeable {

    /** One acknowledged insert: its id, when the commit returned (System.nanoTime), the server's port. */
    record Ack(long id, long nanos, int port) {}

    private final String url;
    private final Properties props;
    private final String table;
    private final long intervalNanos;
    private final List<Ack> acks = new ArrayList<>();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile String lastError;
    private long nextId = 1;

    /**
     * Creates the table (through the same URL) and starts writing.
     *
     * @param url a JDBC URL that reaches the primary (multi-host with targetServerType=primary, or a proxy)
     */
    WriteProbe(String url, String user, String password, String table, long intervalMillis) throws SQLException {
        this.url = url;
        this.table = table;
        this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMillis);
        this.props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", password);
        props.setProperty("connectTimeout", "2");
        props.setProperty("loginTimeout", "3");
        props.setProperty("socketTimeout", "5");
        props.setProperty("tcpKeepAlive", "true");
        props.setProperty("hostRecheckSeconds", "1");
        try (Connection c = DriverManager.getConnection(url, props);
                Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS " + table + " (id bigint PRIMARY KEY, at timestamptz DEFAULT now())");
            try (ResultSet rs = s.executeQuery("SELECT coalesce(max(id), 0) FROM " + table)) {
                rs.next();
                nextId = rs.getLong(1) + 1;
            }
        }
        this.thread = new Thread(this::loop, "write-probe-" + table);
        thread.setDaemon(true);
        thread.start();
    }

    private void loop() {
        Connection c = null;
        long next = System.nanoTime();
        while (running) {
            long id = nextId;
            try {
                if (c == null) {
                    c = DriverManager.getConnection(url, props);
                }
                int port;
                try (PreparedStatement ps =
                        c.prepareStatement("INSERT INTO " + table + " (id) VALUES (?) RETURNING inet_server_port()")) {
                    ps.setLong(1, id);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        port = rs.getInt(1);
                    }
                }
                long now = System.nanoTime();
                synchronized (acks) {
                    acks.add(new Ack(id, now, port));
                }
                nextId++;
            } catch (SQLException e) {
                lastError = e.getMessage();
                if (isDuplicate(e)) {
                    nextId++; // committed, but the ack was lost with the connection: not acknowledged
                }
                closeQuietly(c);
                c = null;
            }
            try {
                next = pace(next, intervalNanos);
            } catch (InterruptedException e) {
                break;
            }
        }
        closeQuietly(c);
    }

    private static boolean isDuplicate(SQLException e) {
        return "23505".equals(e.getSQLState());
    }

    /**
     * Sleeps until {@code next + interval} and returns that time; a writer that fell behind (the
     * time has passed) starts counting again from now instead of writing in a burst.
     */
    static long pace(long next, long intervalNanos) throws InterruptedException {
        long due = next + intervalNanos;
        long sleep = due - System.nanoTime();
        if (sleep > 0) {
            TimeUnit.NANOSECONDS.sleep(sleep);
            return due;
        }
        return System.nanoTime();
    }

    static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // the connection is broken already
            }
        }
    }

    /** A copy of the acknowledgements so far. */
    List<Ack> acks() {
        synchronized (acks) {
            return new ArrayList<>(acks);
        }
    }

    String lastError() {
        return lastError;
    }

    /** The last ack at or before {@code nanos}, or null. */
    Ack lastBefore(long nanos) {
        Ack found = null;
        for (Ack a : acks()) {
            if (a.nanos() <= nanos) {
                found = a;
            }
        }
        return found;
    }

    /** The first ack after {@code nanos}, or null. */
    Ack firstAfter(long nanos) {
        for (Ack a : acks()) {
            if (a.nanos() > nanos) {
                return a;
            }
        }
        return null;
    }

    /** Waits up to {@code timeoutMillis} for an ack after {@code nanos}; null if none came. */
    Ack awaitAckAfter(long nanos, long timeoutMillis) {
        return awaitAckAfter(nanos, -1, timeoutMillis);
    }

    /**
     * Waits for the first ack after {@code nanos} from the server on {@code port} (any server when
     * negative); null if none came in {@code timeoutMillis}.
     */
    Ack awaitAckAfter(long nanos, int port, long timeoutMillis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (System.nanoTime() < deadline) {
            for (Ack a : acks()) {
                if (a.nanos() > nanos && (port < 0 || a.port() == port)) {
                    return a;
                }
            }
            LocalCluster.sleep(10);
        }
        return null;
    }

    /**
     * The write gap of a change of primary, in milliseconds: from the last write the old primary
     * acknowledged to the first one the new primary acknowledged after {@code eventNanos}; -1
     * when the new primary acknowledged none.
     */
    double gapMillis(int oldPort, int newPort, long eventNanos) {
        List<Ack> all = acks();
        Ack firstNew = null;
        for (Ack a : all) {
            if (a.nanos() > eventNanos && a.port() == newPort) {
                firstNew = a;
                break;
            }
        }
        if (firstNew == null) {
            return -1;
        }
        long lastOld = eventNanos;
        for (Ack a : all) {
            if (a.port() == oldPort && a.nanos() < firstNew.nanos()) {
                lastOld = Math.max(lastOld, a.nanos());
            }
        }
        return (firstNew.nanos() - lastOld) / 1e6;
    }

    /** The acknowledged ids (up to {@code upToNanos}) that the table, read through {@code url}, lacks. */
    Set<Long> lostAcknowledged(long upToNanos) throws SQLException {
        return lostAcknowledged(upToNanos, this);
    }

    /**
     * As {@link #lostAcknowledged(long)}, reading this probe's table through {@code reader}'s URL: a
     * proxy may still send a new connection to the former primary, now a replica that has not replayed
     * the newest rows yet, for a second or two after a switchover (its health checks lag).
     */
    Set<Long> lostAcknowledged(long upToNanos, WriteProbe reader) throws SQLException {
        Set<Long> present = new TreeSet<>();
        try (Connection c = DriverManager.getConnection(reader.url, reader.props);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT id FROM " + table)) {
            while (rs.next()) {
                present.add(rs.getLong(1));
            }
        }
        Set<Long> lost = new TreeSet<>();
        for (Ack a : acks()) {
            if (a.nanos() <= upToNanos && !present.contains(a.id())) {
                lost.add(a.id());
            }
        }
        return lost;
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
