package io.pgha.examples;

import java.io.Closeable;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One client per PostgreSQL server, each writing to its own server directly (no multi-host URL, no
 * proxy) one row every interval, and recording every insert its server acknowledged: what shows
 * whether two servers ever took writes at once (a split brain an application with a stale address
 * would see), and whether a write any server acknowledged is missing on the final primary. Ids are
 * unique across the clients. A replica refuses the insert (read-only) and the client keeps its
 * session, which can write once that server is promoted; any other error drops the connection and a
 * new one is made on the next tick. Public for the safety ITs, which measure with it what
 * {@code pgha bench} prints. Safe to read from any thread; {@link #close()} stops the clients.
 */
public final class PortWriters implements Closeable {

    /** One acknowledged insert: its id, when the commit returned (System.nanoTime), the server's port. */
    public record Ack(long id, long nanos, int port) {}

    private static final String READ_ONLY = "25006";

    private final String host;
    private final Properties props;
    private final String table;
    private final long intervalNanos;
    private final AtomicLong ids = new AtomicLong();
    private final List<Ack> acks = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean running = true;

    /**
     * Creates the table on the primary and starts one client per port.
     *
     * @param primaryPort the server that is primary now, where the table is created
     */
    public PortWriters(
            String host,
            List<Integer> ports,
            int primaryPort,
            String user,
            String password,
            String table,
            long intervalMillis)
            throws SQLException {
        this.host = host;
        this.table = table;
        this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMillis);
        this.props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", password);
        props.setProperty("connectTimeout", "2");
        props.setProperty("loginTimeout", "3");
        // a fenced primary may hold a commit: the client gives up on it (not acknowledged)
        props.setProperty("socketTimeout", "5");
        props.setProperty("tcpKeepAlive", "true");
        // a loaded machine can miss the 2 s connect timeout once: try for up to 30 s
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try (Connection c = DriverManager.getConnection(url(primaryPort), props);
                    Statement s = c.createStatement()) {
                s.execute("CREATE TABLE IF NOT EXISTS " + table
                        + " (id bigint PRIMARY KEY, at timestamptz DEFAULT now())");
                try (ResultSet rs = s.executeQuery("SELECT coalesce(max(id), 0) FROM " + table)) {
                    rs.next();
                    ids.set(rs.getLong(1) + 1);
                }
                break;
            } catch (SQLException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                LocalCluster.sleep(500);
            }
        }
        for (int port : ports) {
            Thread t = new Thread(() -> write(port), "port-writer-" + port);
            t.setDaemon(true);
            threads.add(t);
        }
        threads.forEach(Thread::start);
    }

    private String url(int port) {
        return "jdbc:postgresql://" + host + ":" + port + "/postgres";
    }

    private void write(int port) {
        Connection c = null;
        long next = System.nanoTime();
        while (running) {
            try {
                if (c == null) {
                    c = DriverManager.getConnection(url(port), props);
                }
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + table + " (id) VALUES (?)")) {
                    long id = ids.getAndIncrement();
                    ps.setLong(1, id);
                    ps.executeUpdate();
                    long now = System.nanoTime();
                    synchronized (acks) {
                        acks.add(new Ack(id, now, port));
                    }
                }
            } catch (SQLException e) {
                if (!READ_ONLY.equals(e.getSQLState())) {
                    WriteProbe.closeQuietly(c);
                    c = null;
                }
            }
            try {
                next = WriteProbe.pace(next, intervalNanos);
            } catch (InterruptedException e) {
                break;
            }
        }
        WriteProbe.closeQuietly(c);
    }

    /** A copy of the acknowledgements so far, in the order they came. */
    public List<Ack> acks() {
        synchronized (acks) {
            return new ArrayList<>(acks);
        }
    }

    /** The first ack after {@code nanos} from a server other than {@code exceptPort}, or null. */
    public Ack firstAckAfter(long nanos, int exceptPort) {
        for (Ack a : acks()) {
            if (a.nanos() > nanos && a.port() != exceptPort) {
                return a;
            }
        }
        return null;
    }

    /** The last ack from the server on {@code port}, or null. */
    public Ack lastAck(int port) {
        Ack last = null;
        for (Ack a : acks()) {
            if (a.port() == port) {
                last = a;
            }
        }
        return last;
    }

    /**
     * The time, in milliseconds, in which two servers both acknowledged writes, over the acks since
     * {@code fromNanos}: for each server the span from its first to its last ack, and the largest
     * overlap of two servers' spans. 0 when one server's last ack came before the next one's first.
     */
    public double dualAcknowledgementMillis(long fromNanos) {
        Map<Integer, long[]> spans = new HashMap<>();
        for (Ack a : acks()) {
            if (a.nanos() >= fromNanos) {
                spans.merge(a.port(), new long[] {a.nanos(), a.nanos()}, (s, n) ->
                        new long[] {Math.min(s[0], n[0]), Math.max(s[1], n[1])});
            }
        }
        long worst = 0;
        List<long[]> all = new ArrayList<>(spans.values());
        for (int i = 0; i < all.size(); i++) {
            for (int j = i + 1; j < all.size(); j++) {
                long overlap = Math.min(all.get(i)[1], all.get(j)[1]) - Math.max(all.get(i)[0], all.get(j)[0]);
                worst = Math.max(worst, overlap);
            }
        }
        return worst / 1e6;
    }

    /** The acknowledged ids that the table on the server at {@code port} (the final primary) lacks. */
    public Set<Long> lostAcknowledged(int port) throws SQLException {
        Set<Long> present = new TreeSet<>();
        try (Connection c = DriverManager.getConnection(url(port), props);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT id FROM " + table)) {
            while (rs.next()) {
                present.add(rs.getLong(1));
            }
        }
        Set<Long> lost = new TreeSet<>();
        for (Ack a : acks()) {
            if (!present.contains(a.id())) {
                lost.add(a.id());
            }
        }
        return lost;
    }

    /** Stops the clients (each finishes the insert it is in). */
    @Override
    public void close() {
        running = false;
        for (Thread t : threads) {
            t.interrupt();
        }
        for (Thread t : threads) {
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
