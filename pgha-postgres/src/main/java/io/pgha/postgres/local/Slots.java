package io.pgha.postgres.local;

import io.pgha.dcs.Member;
import io.pgha.postgres.PostgresException;
import io.pgha.postgres.ReplicationSlot;
import io.pgha.postgres.SlotChanges;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local replication slots: reads them, carries out the engine's {@link SlotChanges}, copies
 * logical slots from the primary, and remembers which slots pgha manages.
 *
 * <p>That memory is the file {@code pg_replslot/pgha.managed} (one slot name a line): it lives
 * and dies with the slots themselves. pg_basebackup, pg_rewind and pgBackRest leave pg_replslot's
 * contents behind, so a clone starts with no slot and no memory of any, and PostgreSQL reads only
 * the directories in pg_replslot, never a file there. A slot not named in it (made by hand, by
 * Barman, by an older agent) is never dropped for being unknown.
 *
 * <p>Threading: {@link #read} runs alongside actions (status); the rest under the controller's
 * action lock. The set is guarded by its own monitor.
 */
final class Slots {

    private static final Logger LOG = LoggerFactory.getLogger(Slots.class);

    static final String MANAGED_FILE = "pgha.managed";

    static final String READ_SQL = "SELECT slot_name, slot_type, plugin, database, active, "
            + "COALESCE((restart_lsn - '0/0')::bigint, 0), COALESCE((confirmed_flush_lsn - '0/0')::bigint, 0) "
            + "FROM pg_replication_slots WHERE NOT temporary ORDER BY slot_name";

    private final LocalPostgresConfig config;
    private final DataDirectory dir;
    private final Object lock = new Object();
    private Set<String> managed; // guarded by lock; null until loaded

    Slots(LocalPostgresConfig config, DataDirectory dir) {
        this.config = config;
        this.dir = dir;
    }

    private Path managedFile() {
        return dir.path().resolve("pg_replslot").resolve(MANAGED_FILE);
    }

    /** The slots on {@code st}'s server (this member's), each marked managed or not. */
    List<ReplicationSlot> read(Statement st) throws SQLException {
        Set<String> ours = managed();
        List<ReplicationSlot> out = new ArrayList<>();
        try (ResultSet rs = st.executeQuery(READ_SQL)) {
            while (rs.next()) {
                String name = rs.getString(1);
                out.add(new ReplicationSlot(
                        name,
                        rs.getString(2),
                        rs.getString(3),
                        rs.getString(4),
                        rs.getBoolean(5),
                        rs.getLong(6),
                        rs.getLong(7),
                        ours.contains(name)));
            }
        }
        return out;
    }

    /** Forgets the managed set (the data directory was emptied or cloned): it is read again from disk. */
    void reload() {
        synchronized (lock) {
            managed = null;
        }
    }

    private Set<String> managed() {
        synchronized (lock) {
            if (managed == null) {
                Set<String> names = new TreeSet<>();
                try {
                    String text = dir.files().read(managedFile());
                    if (text != null) {
                        for (String line : text.split("\n")) {
                            if (!line.isBlank()) {
                                names.add(line.trim());
                            }
                        }
                    }
                } catch (IOException e) {
                    LOG.warn(
                            "{}: cannot read {}: {}; no slot counts as pgha's",
                            config.name(),
                            managedFile(),
                            e.getMessage());
                }
                managed = names;
            }
            return Set.copyOf(managed);
        }
    }

    private void remember(Set<String> names) throws PostgresException {
        synchronized (lock) {
            if (names.equals(managed)) {
                return;
            }
            try {
                StringBuilder text = new StringBuilder();
                names.forEach(n -> text.append(n).append('\n'));
                dir.files().write(managedFile(), text.toString());
                managed = new TreeSet<>(names);
            } catch (IOException e) {
                throw new PostgresException("cannot write " + managedFile() + ": " + e.getMessage(), e);
            }
        }
    }

    /** Carries out {@code changes}: every step is tried; the first failure is thrown at the end. */
    void change(SlotChanges changes) throws PostgresException {
        List<String> failures = new ArrayList<>();
        Set<String> ours = new TreeSet<>(managed());
        try (Connection c = Sql.local(config, dir.path());
                Statement st = c.createStatement()) {
            st.setQueryTimeout(Sql.TIMEOUT_SECONDS);
            Map<String, ReplicationSlot> existing = new LinkedHashMap<>();
            for (ReplicationSlot s : read(st)) {
                existing.put(s.name(), s);
            }
            for (String name : changes.drop()) {
                ReplicationSlot s = existing.get(name);
                if (s == null) {
                    ours.remove(name);
                    continue;
                }
                if (s.active()) {
                    LOG.info(
                            "{}: replication slot {} is not wanted but active; dropping it later", config.name(), name);
                    continue;
                }
                try (PreparedStatement ps = c.prepareStatement("SELECT pg_drop_replication_slot(?)")) {
                    ps.setString(1, name);
                    ps.execute();
                    existing.remove(name);
                    ours.remove(name);
                    LOG.info("{}: dropped {} replication slot {}", config.name(), s.type(), name);
                } catch (SQLException e) {
                    failures.add("dropping " + name + ": " + e.getMessage());
                }
            }
            for (SlotChanges.NewSlot n : changes.create()) {
                if (existing.containsKey(n.name())) {
                    continue;
                }
                try {
                    create(c, n);
                    ours.add(n.name());
                    existing.put(n.name(), null);
                } catch (SQLException e) {
                    failures.add("creating " + n.name() + ": " + e.getMessage());
                }
            }
            for (Map.Entry<String, Long> a : changes.advance().entrySet()) {
                ReplicationSlot s = existing.get(a.getKey());
                if (s == null) {
                    continue;
                }
                try {
                    advance(c, s, a.getValue());
                } catch (SQLException e) {
                    failures.add("advancing " + a.getKey() + " to " + Lsn.format(a.getValue()) + ": " + e.getMessage());
                }
            }
            for (String name : changes.claim()) {
                if (existing.containsKey(name)) {
                    ours.add(name);
                }
            }
            // a managed slot someone else dropped is forgotten: a later one by that name is not ours
            ours.retainAll(existing.keySet());
        } catch (SQLException e) {
            failures.add(e.getMessage());
        }
        remember(ours);
        if (!failures.isEmpty()) {
            throw new PostgresException("replication slots: " + String.join("; ", failures));
        }
    }

    private void create(Connection c, SlotChanges.NewSlot n) throws SQLException {
        if (ReplicationSlot.LOGICAL.equals(n.type())) {
            try (Connection db = Sql.local(config, n.database());
                    PreparedStatement ps = db.prepareStatement("SELECT pg_create_logical_replication_slot(?, ?)")) {
                ps.setQueryTimeout(Sql.TIMEOUT_SECONDS * 3);
                ps.setString(1, n.name());
                ps.setString(2, n.plugin());
                ps.execute();
            }
            LOG.info(
                    "{}: created logical replication slot {} (database {}, plugin {})",
                    config.name(),
                    n.name(),
                    n.database(),
                    n.plugin());
            return;
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_create_physical_replication_slot(?, true)")) {
            ps.setString(1, n.name());
            ps.execute();
        }
        LOG.info("{}: created physical replication slot {}", config.name(), n.name());
    }

    private void advance(Connection c, ReplicationSlot s, long lsn) throws SQLException {
        String sql = "SELECT pg_replication_slot_advance(?, ?::pg_lsn)";
        if (s.isLogical()) {
            // a logical slot is advanced by decoding, in its own database
            try (Connection db = Sql.local(config, s.database());
                    PreparedStatement ps = db.prepareStatement(sql)) {
                ps.setQueryTimeout(Sql.TIMEOUT_SECONDS * 3);
                ps.setString(1, s.name());
                ps.setString(2, Lsn.format(lsn));
                ps.execute();
            }
        } else {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                ps.setString(1, s.name());
                ps.setString(2, Lsn.format(lsn));
                ps.execute();
            }
        }
        LOG.debug("{}: advanced replication slot {} to {}", config.name(), s.name(), Lsn.format(lsn));
    }

    /** A logical slot's state file as the primary has it. */
    record Copied(String name, byte[] state) {}

    /**
     * Reads the state files of the logical slots {@code wanted} from the primary {@code leader}, as
     * the superuser ({@code pg_read_binary_file}); a slot whose database or plugin there differs from
     * {@code wanted} is left out, with a warning.
     */
    List<Copied> readFromPrimary(Member leader, Map<String, SlotChanges.NewSlot> wanted) throws PostgresException {
        List<Copied> out = new ArrayList<>();
        try (Connection c = Sql.superuser(config, HostPort.of(leader));
                PreparedStatement ps = c.prepareStatement("SELECT slot_name, slot_type, datname, plugin, "
                        + "pg_read_binary_file('pg_replslot/' || slot_name || '/state') "
                        + "FROM pg_get_replication_slots() JOIN pg_database ON datoid = pg_database.oid "
                        + "WHERE NOT pg_is_in_recovery() AND slot_name = ANY(?)")) {
            ps.setQueryTimeout(Sql.TIMEOUT_SECONDS);
            Array names = c.createArrayOf("text", wanted.keySet().toArray());
            ps.setArray(1, names);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    SlotChanges.NewSlot w = wanted.get(rs.getString(1));
                    if (w != null
                            && ReplicationSlot.LOGICAL.equals(rs.getString(2))
                            && w.database().equals(rs.getString(3))
                            && w.plugin().equals(rs.getString(4))) {
                        out.add(new Copied(w.name(), rs.getBytes(5)));
                    } else if (w != null) {
                        LOG.warn(
                                "{}: not copying logical slot {}: on {} it is {} {} {}, the configuration says {} {}",
                                config.name(),
                                w.name(),
                                leader.name(),
                                rs.getString(2),
                                rs.getString(3),
                                rs.getString(4),
                                w.database(),
                                w.plugin());
                    }
                }
            }
        } catch (SQLException e) {
            throw new PostgresException(
                    "cannot read logical slots " + wanted.keySet() + " from " + leader.name() + ": " + e.getMessage(),
                    e);
        }
        return out;
    }

    /**
     * Writes copied slots into the stopped data directory (as Patroni: each slot's directory with
     * its state file) and remembers them as pgha's.
     */
    void install(List<Copied> slots) throws PostgresException {
        Set<String> ours = new TreeSet<>(managed());
        try {
            for (Copied s : slots) {
                Path slotDir = dir.path().resolve("pg_replslot").resolve(s.name());
                dir.files().mkdir(slotDir);
                dir.files().write(slotDir.resolve("state"), s.state());
                ours.add(s.name());
                LOG.info("{}: copied logical replication slot {} from the primary", config.name(), s.name());
            }
        } catch (IOException e) {
            throw new PostgresException("cannot write a copied replication slot: " + e.getMessage(), e);
        }
        remember(ours);
    }
}
