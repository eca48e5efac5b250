package io.pgha.postgres.local;

import io.pgha.dcs.Member;
import io.pgha.postgres.FenceResult;
import io.pgha.postgres.PostgresException;
import io.pgha.postgres.SlotNames;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The candidate-side fence (docs/safety.md): a member about to promote because the former primary's
 * lock lapsed makes that former primary's PostgreSQL, if it still answers out of recovery, stop
 * acknowledging commits. Over a superuser connection (the credentials and TLS settings pgha uses to
 * read a leader's history before pg_rewind):
 *
 * <ol>
 *   <li>{@code ALTER SYSTEM SET synchronous_standby_names} to a name no standby has, reload, and wait
 *       until a new session sees it: from then on every commit waits for a standby that never comes;
 *   <li>postgresql.auto.conf put back as it was (the value it held, else {@code ALTER SYSTEM RESET}),
 *       WITHOUT a reload: the running server keeps the fencing value in memory, but nothing on its
 *       disk does, so a later start or promotion of that member (by pgha, or by Patroni in a mixed
 *       cluster) does not inherit it;
 *   <li>its client backends terminated, so that no session lingers there and clients reconnect
 *       (through their load balancer) to the new primary;
 *   <li>a wait, bounded by {@link #CATCH_UP}, until this replica has received the former primary's WAL
 *       up to its flush position once fenced: every commit it acknowledged is at or below it, so with
 *       asynchronous replication the ones still in flight reach the new primary instead of being lost
 *       (this replica streams from it until it promotes).
 * </ol>
 *
 * Every step is bounded by short timeouts, and every failure is an outcome, never an exception: it
 * is defence in depth, the former primary's own fence and the ttl remain the guarantee. Stateless;
 * thread-safe.
 */
final class FormerPrimaryFence {
    private static final Logger LOG = LoggerFactory.getLogger(FormerPrimaryFence.class);

    /** How long connecting and logging in to the former primary may take. */
    static final int CONNECT_SECONDS = 2;
    /** How long each statement there may take. */
    static final int STATEMENT_MILLIS = 2000;
    /** How long the reloaded value may take to show in a new session. */
    static final Duration TAKE_EFFECT = Duration.ofSeconds(2);
    /** How long the candidate waits to receive the fenced primary's WAL before it promotes anyway. */
    static final Duration CATCH_UP = Duration.ofSeconds(3);
    /** The prefix of the fencing value: a standby name no member has. */
    static final String FENCED_PREFIX = "pgha_fenced_by_";

    private final LocalPostgresConfig config;
    private final ReceivedLsn received;

    /** This replica's WAL received and flushed so far ({@code pg_last_wal_receive_lsn()}). */
    @FunctionalInterface
    interface ReceivedLsn {
        long read() throws SQLException;
    }

    FormerPrimaryFence(LocalPostgresConfig config, ReceivedLsn received) {
        this.config = config;
        this.received = received;
    }

    /** The value that fences: {@code pgha_fenced_by_<candidate>}, a valid unquoted standby name. */
    static String fencingValue(String fencedBy) {
        String v = FENCED_PREFIX + SlotNames.fromMemberName(fencedBy);
        // a standby name is an identifier: longer ones would be truncated with a notice
        return v.length() > 63 ? v.substring(0, 63) : v;
    }

    /**
     * Fences {@code former} for {@code fencedBy}, only when the server there is a primary of the
     * cluster whose system identifier is {@code systemIdentifier} (null: not checked): the former
     * leader's remembered address may belong to another cluster's server by now.
     */
    FenceResult fence(Member former, String fencedBy, String systemIdentifier) {
        HostPort at;
        try {
            at = HostPort.of(former);
        } catch (PostgresException e) {
            return new FenceResult(FenceResult.Outcome.UNREACHABLE, e.getMessage());
        }
        String where = HostPort.urlAuthority(at.host(), at.port());
        String value = fencingValue(fencedBy);
        Connection c;
        try {
            c = connect(at);
        } catch (SQLException e) {
            return new FenceResult(FenceResult.Outcome.UNREACHABLE, where + ": " + e.getMessage());
        }
        try (c;
                Statement st = c.createStatement()) {
            st.setQueryTimeout(STATEMENT_MILLIS / 1000);
            st.execute("SET statement_timeout = " + STATEMENT_MILLIS);
            if (Sql.inRecovery(st)) {
                return new FenceResult(FenceResult.Outcome.NOT_A_PRIMARY, where + " is in recovery");
            }
            if (systemIdentifier != null) {
                String theirs;
                try (java.sql.ResultSet rs =
                        st.executeQuery("SELECT system_identifier::text FROM pg_control_system()")) {
                    theirs = rs.next() ? rs.getString(1) : null;
                }
                if (!systemIdentifier.equals(theirs)) {
                    return new FenceResult(
                            FenceResult.Outcome.NOT_A_PRIMARY,
                            where + " belongs to another cluster (system identifier " + theirs + ", ours "
                                    + systemIdentifier + "): left alone");
                }
            }
            String persisted = persistedValue(st);
            st.execute("ALTER SYSTEM SET synchronous_standby_names = " + literal(value));
            String inEffect;
            try {
                st.execute("SELECT pg_reload_conf()");
                inEffect = awaitInEffect(at, value);
            } finally {
                // before anything else can fail: postgresql.auto.conf as it was, not reloaded
                st.execute(
                        persisted == null
                                ? "ALTER SYSTEM RESET synchronous_standby_names"
                                : "ALTER SYSTEM SET synchronous_standby_names = " + literal(persisted));
            }
            if (inEffect != null) {
                return new FenceResult(
                        FenceResult.Outcome.FAILED,
                        where + ": synchronous_standby_names did not take effect within " + TAKE_EFFECT.toMillis()
                                + " ms (a new session shows '" + inEffect + "'); postgresql.auto.conf restored");
            }
            int terminated = terminateClients(st);
            LOG.debug("{}: fenced {} at {}", config.name(), former.name(), where);
            return new FenceResult(
                    FenceResult.Outcome.FENCED,
                    where + ": synchronous_standby_names = '" + value + "' in effect (postgresql.auto.conf "
                            + (persisted == null ? "reset" : "restored") + ", not reloaded), " + terminated
                            + " client backend(s) terminated; " + catchUp(st));
        } catch (SQLException e) {
            return new FenceResult(FenceResult.Outcome.FAILED, where + ": " + e.getMessage());
        }
    }

    private Connection connect(HostPort at) throws SQLException {
        Connection c = Sql.connect(
                at.host(),
                at.port(),
                config.superuser(),
                config.superuserPassword(),
                config.superuserSsl(),
                CONNECT_SECONDS);
        try {
            // a server that stops answering mid-statement (frozen) must not hold the promotion up
            c.setNetworkTimeout(Runnable::run, STATEMENT_MILLIS * 2);
        } catch (SQLException e) {
            c.close();
            throw e;
        }
        return c;
    }

    /**
     * The value postgresql.auto.conf holds for synchronous_standby_names now (null: none), to put
     * back afterwards; a fencing value left by an earlier attempt counts as none.
     */
    private static String persistedValue(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT setting FROM pg_file_settings"
                + " WHERE name = 'synchronous_standby_names' AND sourcefile LIKE '%/postgresql.auto.conf'"
                + " ORDER BY seqno DESC LIMIT 1")) {
            String v = rs.next() ? rs.getString(1) : null;
            return v == null || v.startsWith(FENCED_PREFIX) ? null : v;
        }
    }

    /**
     * Waits until a new session on the former primary shows {@code value}: a new backend reads the
     * configuration the postmaster reloaded. Returns null once it does, else the value last seen.
     */
    private String awaitInEffect(HostPort at, String value) throws SQLException {
        long deadline = System.nanoTime() + TAKE_EFFECT.toNanos();
        String seen;
        while (true) {
            try (Connection fresh = connect(at);
                    Statement st = fresh.createStatement();
                    ResultSet rs = st.executeQuery("SHOW synchronous_standby_names")) {
                rs.next();
                seen = rs.getString(1);
            }
            if (value.equals(seen) || System.nanoTime() > deadline) {
                return value.equals(seen) ? null : seen;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return seen;
            }
        }
    }

    /**
     * Waits until this replica has received the fenced primary's WAL up to its flush position, at
     * most {@link #CATCH_UP}; says how far it got. Never fails the fence: a replica that cannot catch
     * up (streaming from elsewhere, a slow link) promotes with what it has, as without this step.
     */
    private String catchUp(Statement st) {
        long target;
        try (ResultSet rs = st.executeQuery("SELECT (pg_current_wal_flush_lsn() - '0/0')::bigint")) {
            rs.next();
            target = rs.getLong(1);
        } catch (SQLException e) {
            return "its WAL position unknown (" + e.getMessage() + ")";
        }
        long deadline = System.nanoTime() + CATCH_UP.toNanos();
        long got = -1;
        while (true) {
            try {
                got = received.read();
            } catch (SQLException e) {
                LOG.debug("{}: reading the WAL received: {}", config.name(), e.getMessage());
            }
            if (got >= target) {
                return "received its WAL up to " + Lsn.format(target);
            }
            if (System.nanoTime() > deadline) {
                return "received its WAL up to " + (got < 0 ? "an unknown position" : Lsn.format(got)) + " of "
                        + Lsn.format(target) + " within " + CATCH_UP.toMillis()
                        + " ms: commits it acknowledged in between before the fence may be lost";
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted while receiving its WAL";
            }
        }
    }

    /** Terminates every client backend but this session's; returns how many. */
    private static int terminateClients(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))"
                + " FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static String literal(String s) {
        return "'" + s.replace("'", "''") + "'";
    }
}
