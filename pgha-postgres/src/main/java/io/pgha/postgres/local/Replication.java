package io.pgha.postgres.local;

import io.pgha.postgres.PostgresException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a primary offers its replicas: {@code synchronous_standby_names}, written to pgha's own
 * file and applied by a reload (never ALTER SYSTEM), and the physical replication slots, created
 * and dropped to match the members it is told about.
 *
 * <p>Threading: runs only under the controller's action lock. The value of
 * synchronous_standby_names lives in {@link ManagedFiles}, so that every later rewrite of the
 * file keeps it.
 */
final class Replication {

    private static final Logger LOG = LoggerFactory.getLogger(Replication.class);

    private final LocalPostgresConfig config;
    private final DataDirectory dir;
    private final ManagedFiles files;
    private final Postmaster postmaster;

    Replication(LocalPostgresConfig config, DataDirectory dir, ManagedFiles files, Postmaster postmaster) {
        this.config = config;
        this.dir = dir;
        this.files = files;
        this.postmaster = postmaster;
    }

    /** Refuses a value that would break the one line it is written on; checked before any lock is taken. */
    static String checkSynchronousStandbyNames(String value) throws PostgresException {
        String v = value == null ? "" : value;
        if (v.indexOf('\n') >= 0 || v.indexOf('\r') >= 0 || v.indexOf('\0') >= 0) {
            throw new PostgresException("synchronous_standby_names must be a single line");
        }
        return v;
    }

    /** Writes and reloads {@code value} (already checked); the old value stays when that fails. */
    void setSynchronousStandbyNames(String value) throws PostgresException {
        String before = files.synchronousStandbyNames();
        files.synchronousStandbyNames(value);
        try {
            if (!dir.isEmpty()) {
                files.rewrite();
                postmaster.reload();
            }
        } catch (PostgresException e) {
            files.synchronousStandbyNames(before);
            throw e;
        }
        LOG.info("{}: synchronous_standby_names = '{}'", config.name(), value);
    }

    /**
     * Slot names from member names (Patroni's sanitizing) or given as slot names already: those
     * in {@code wanted} are created, those in neither set are dropped unless still active.
     */
    static Set<String> slotNames(Set<String> names) {
        Set<String> out = new HashSet<>();
        for (String n : names) {
            out.add(SlotNames.isValid(n) ? n : SlotNames.fromMemberName(n));
        }
        return out;
    }

    /** Creates the slots in {@code want} that are missing and drops the inactive ones not in {@code spare}. */
    void syncSlots(Set<String> want, Set<String> spare) throws PostgresException {
        try (Connection c = Sql.local(config, dir.path())) {
            List<String[]> existing = new ArrayList<>();
            try (Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery(
                            "SELECT slot_name, active FROM pg_replication_slots WHERE slot_type = 'physical'")) {
                while (rs.next()) {
                    existing.add(new String[] {rs.getString(1), String.valueOf(rs.getBoolean(2))});
                }
            }
            Set<String> names = new HashSet<>();
            for (String[] e : existing) {
                names.add(e[0]);
                if (!spare.contains(e[0])) {
                    if (Boolean.parseBoolean(e[1])) {
                        // dropping an active slot fails; the next sync drops it once its replica is gone
                        LOG.info("{}: slot {} is not wanted but still active; dropping it later", config.name(), e[0]);
                        continue;
                    }
                    try (PreparedStatement ps = c.prepareStatement("SELECT pg_drop_replication_slot(?)")) {
                        ps.setString(1, e[0]);
                        ps.execute();
                    }
                    LOG.info("{}: dropped physical replication slot {}", config.name(), e[0]);
                }
            }
            for (String w : want) {
                if (!names.contains(w)) {
                    try (PreparedStatement ps =
                            c.prepareStatement("SELECT pg_create_physical_replication_slot(?, true)")) {
                        ps.setString(1, w);
                        ps.execute();
                    }
                    LOG.info("{}: created physical replication slot {}", config.name(), w);
                }
            }
        } catch (SQLException e) {
            throw new PostgresException("syncing replication slots failed: " + e.getMessage(), e);
        }
    }
}
