package io.pgha.examples.safety;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * What the safety ITs share beyond {@link io.pgha.testing.Fixtures}: SQL on a member, signals, and
 * stopping what the agents started. Each test uses the superuser {@code postgres} with
 * {@link #PASSWORD}. Stateless; every method may be called from any thread.
 */
final class SafetySupport {
    static final String PASSWORD = "su-secret";

    private SafetySupport() {}

    /** The superuser's connection to {@code host:port}, with a socket timeout in seconds. */
    static Connection connect(String host, int port, int socketTimeout) throws Exception {
        Properties props = new Properties();
        props.setProperty("user", "postgres");
        props.setProperty("password", PASSWORD);
        props.setProperty("connectTimeout", "3");
        props.setProperty("socketTimeout", Integer.toString(socketTimeout));
        return DriverManager.getConnection("jdbc:postgresql://" + host + ":" + port + "/postgres", props);
    }

    static String scalar(String host, int port, String sql) throws Exception {
        try (Connection c = connect(host, port, 10);
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    static void exec(String host, int port, String sql) throws Exception {
        try (Connection c = connect(host, port, 10);
                Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    static boolean inRecovery(String host, int port) throws Exception {
        return "t".equals(scalar(host, port, "SELECT pg_is_in_recovery()"));
    }

    static void signal(String sig, long pid) {
        try {
            new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).start().waitFor(10, TimeUnit.SECONDS);
        } catch (IOException e) {
            throw new IllegalStateException("kill -" + sig + " " + pid + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted sending " + sig + " to " + pid, e);
        }
    }

    /**
     * Stops agent JVMs: SIGTERM (their shutdown hook closes the node, which stops PostgreSQL), then
     * SIGKILL for one still running a minute later. Whatever they started that outlives them
     * (nothing should: a command dies with the thread that runs it, and the postmasters are
     * stopped by {@link #stopPostmasters}) is reported on stderr and killed.
     */
    static void stopAgents(List<Process> agents, List<Path> dataDirs) throws Exception {
        List<ProcessHandle> started = new ArrayList<>();
        for (Process p : agents) {
            p.descendants().forEach(started::add);
            p.destroy();
        }
        for (Process p : agents) {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
        stopPostmasters(dataDirs);
        for (ProcessHandle h : started) {
            if (h.isAlive()) {
                System.err.printf(
                        "left behind by an agent: %d %s%n",
                        h.pid(), h.info().commandLine().orElse("?"));
                h.destroyForcibly();
            }
        }
    }

    /** Stops (SIGQUIT, by the PID in postmaster.pid) a postmaster a killed agent left running. */
    static void stopPostmasters(List<Path> dataDirs) throws IOException {
        for (Path d : dataDirs) {
            List<String> pid;
            try {
                pid = Files.readAllLines(d.resolve("postmaster.pid"));
            } catch (NoSuchFileException e) {
                continue; // stopped, or never started
            }
            if (pid.isEmpty()) {
                continue; // a postmaster still writing it, or one that died writing it
            }
            ProcessHandle.of(Long.parseLong(pid.get(0).trim())).ifPresent(h -> {
                signal("QUIT", h.pid());
                h.onExit()
                        .orTimeout(20, TimeUnit.SECONDS)
                        .exceptionally(e -> null)
                        .join();
            });
        }
    }
}
