package io.pgha.postgres.local;

import io.pgha.postgres.PostgresException;
import io.pgha.postgres.StandbySource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The files pgha writes into the data directory (rendered by {@link ManagedConfig}): the include
 * line in postgresql.conf (once), {@code postgresql.pgha.conf}, {@code pgha.hba.conf},
 * {@code standby.signal} on a replica, and the {@code log/} directory. It remembers the two
 * values that change at run time, the upstream's conninfo and {@code synchronous_standby_names},
 * so that every rewrite (start, reload, restart) keeps them; at construction it reads them back
 * from what a previous run left.
 *
 * <p>Threading: the writes run only under the controller's action lock. The remembered values are
 * volatile so that a reader outside the lock sees the last one written, but they are only changed
 * under that lock.
 */
final class ManagedFiles {

    private static final Logger LOG = LoggerFactory.getLogger(ManagedFiles.class);

    /** Replaced on a reload of the member's file (only its parameters and pg_hba are used from a new one). */
    private volatile LocalPostgresConfig config;

    private final DataDirectory dir;
    private final ServerFacts facts;

    /** The upstream conninfo in the managed file; null on a primary, empty on a standby with no upstream. */
    private volatile String upstreamConninfo;

    /**
     * Whether the upstream is streamed from through this member's slot: only a primary keeps the
     * members' slots, so a cascade from another replica ({@code replicatefrom}) streams without one.
     */
    private volatile boolean upstreamSlot = true;

    private volatile String synchronousStandbyNames = "";

    /** What the standby cluster's section sets with the upstream; null outside a standby cluster. */
    private volatile StandbySource standby;

    /** The cluster's dynamic postgresql section, once the node has passed it on; null before. */
    private volatile DynamicPostgres dynamic;

    ManagedFiles(LocalPostgresConfig config, DataDirectory dir, ServerFacts facts) {
        this.config = config;
        this.dir = dir;
        this.facts = facts;
        readBack();
    }

    /** The member's settings after a reload of its file; the next write uses them. */
    void reconfigure(LocalPostgresConfig next) {
        this.config = next;
    }

    /** The upstream's conninfo the files name, null on a primary. */
    String upstream() {
        return upstreamConninfo;
    }

    String synchronousStandbyNames() {
        return synchronousStandbyNames;
    }

    /** Sets the value the next {@link #write} puts in the file; does not write it. */
    void synchronousStandbyNames(String value) {
        this.synchronousStandbyNames = value;
    }

    /** After the data directory was emptied: nothing is left to follow. */
    void forgetUpstream() {
        upstreamConninfo = null;
        standby = null;
    }

    /** Rewrites the files as they are, with the remembered upstream (a reload or restart keeps the role). */
    void rewrite() throws PostgresException {
        write(upstreamConninfo, upstreamSlot, standby);
    }

    /**
     * Writes pgha's managed files: the include line (once), postgresql.pgha.conf and
     * pgha.hba.conf; on a replica ({@code conninfo != null}) also standby.signal.
     */
    void write(String conninfo) throws PostgresException {
        write(conninfo, true, null);
    }

    /**
     * As {@link #write(String)}, for an upstream that carries a standby cluster's settings
     * ({@code standby}, null for none): the slot on the remote primary, {@code restore_command} and
     * the like.
     */
    void write(String conninfo, StandbySource standby) throws PostgresException {
        write(conninfo, true, standby);
    }

    /**
     * As {@link #write(String, StandbySource)}; {@code useSlot}: primary_slot_name names this
     * member's slot (with use_slots).
     */
    void write(String conninfo, boolean useSlot, StandbySource standby) throws PostgresException {
        Path data = dir.path();
        try {
            Path conf = data.resolve("postgresql.conf");
            // read (and written) as the PostgreSQL user when pgha is root: a symlink planted there
            // must not make root disclose or replace a file of its own
            String read = dir.files().read(conf);
            String current = read == null ? "" : read;
            if (!ManagedConfig.hasInclude(current)) {
                dir.writeOwned(conf, ManagedConfig.withInclude(current));
            }
            dir.writeOwned(data.resolve(ManagedConfig.HBA_FILE), hbaContent());
            dir.writeOwned(data.resolve(ManagedConfig.CONF_FILE), confContent(conninfo, useSlot, standby));
            upstreamConninfo = conninfo;
            upstreamSlot = useSlot;
            this.standby = conninfo == null ? null : standby;
            if (conninfo != null && !dir.hasStandbySignal()) {
                dir.writeOwned(dir.standbySignal(), "");
            }
            dir.ownedDirectory(data.resolve("log"));
        } catch (IOException e) {
            throw new PostgresException(
                    "cannot write pgha's configuration into postgresql.data_dir " + data + ": " + e.getMessage(), e);
        }
    }

    /**
     * The files for the first start after a custom bootstrap (Patroni's {@code bootstrap.method}):
     * as a primary's, plus the method's {@code recovery_conf} (with {@code recovery.signal} when
     * there is one, so that PostgreSQL recovers to its target first), and a pg_hba that lets only
     * the superuser in, without a password, over the loopback and the local socket: the restored
     * cluster may know another password, which the bootstrap then sets. {@link #write} puts the
     * member's own files back.
     */
    void writeForCustomBootstrap(Map<String, String> recoveryConf) throws PostgresException {
        write(null);
        Path data = dir.path();
        Map<String, String> parameters = effectiveParameters();
        StringBuilder conf = new StringBuilder(confContent(null, false, parameters, null));
        conf.append("\n# the custom bootstrap's recovery_conf, until its recovery ends\n");
        recoveryConf.forEach((k, v) ->
                conf.append(k).append(" = ").append(ManagedConfig.quote(v)).append('\n'));
        ControlData cd = dir.controlData();
        if (cd != null) {
            pgControlFloors(cd, ManagedConfig.fileParameters(parameters, facts, dir.runtimeDir()))
                    .forEach((k, v) -> conf.append(k)
                            .append(" = ")
                            .append(ManagedConfig.quote(v))
                            .append('\n'));
        }
        String su = config.superuser().replace("\"", "\"\"");
        String hba = "# pgha: custom bootstrap in progress, the superuser only\n"
                + "local all \"" + su + "\" trust\n"
                + "host all \"" + su + "\" 127.0.0.1/32 trust\n"
                + "host all \"" + su + "\" ::1/128 trust\n";
        try {
            dir.writeOwned(data.resolve(ManagedConfig.CONF_FILE), conf.toString());
            dir.writeOwned(data.resolve(ManagedConfig.HBA_FILE), hba);
            if (!recoveryConf.isEmpty()) {
                dir.writeOwned(data.resolve("recovery.signal"), "");
            }
        } catch (IOException e) {
            throw new PostgresException(
                    "cannot write pgha's configuration into postgresql.data_dir " + data + ": " + e.getMessage(), e);
        }
    }

    /** Each parameter a standby may not set below its source, and the pg_controldata field that records it. */
    private static final String[][] PG_CONTROL_FIELDS = {
        {"max_connections", "max_connections setting"},
        {"max_worker_processes", "max_worker_processes setting"},
        {"max_wal_senders", "max_wal_senders setting"},
        {"max_prepared_transactions", "max_prepared_xacts setting"},
        {"max_locks_per_transaction", "max_locks_per_xact setting"}
    };

    /**
     * The settings the first start after a custom bootstrap needs after the file's own: a standby
     * must not run with less than its source recorded in pg_control (PostgreSQL aborts the
     * recovery), so, as Patroni, each of those parameters is the larger of the restored copy's
     * value and the number the file sets it to ({@code fileParameters}, as {@link
     * ManagedConfig#fileParameters} gives them). A parameter pg_control holds no number for is left
     * out.
     */
    static Map<String, String> pgControlFloors(ControlData controlData, Map<String, String> fileParameters) {
        Map<String, String> floors = new LinkedHashMap<>();
        for (String[] f : PG_CONTROL_FIELDS) {
            String recorded = controlData.get(f[1]);
            if (recorded == null || !recorded.matches("\\d+")) {
                continue;
            }
            long floor = Long.parseLong(recorded);
            String set = fileParameters.get(f[0]);
            if (set != null && set.matches("\\d+")) {
                floor = Math.max(floor, Long.parseLong(set));
            }
            floors.put(f[0], Long.toString(floor));
        }
        return floors;
    }

    /**
     * Takes the cluster's dynamic postgresql section and rewrites the files if that changes them.
     *
     * @return whether either file changed (PostgreSQL must then reload to see it)
     */
    boolean applyDynamic(DynamicPostgres next) throws PostgresException {
        DynamicPostgres previous = dynamic;
        dynamic = next;
        Path data = dir.path();
        try {
            if (!Files.isRegularFile(data.resolve("PG_VERSION"))) {
                return false; // no cluster yet: the next start writes them
            }
            String conf = dir.files().read(data.resolve(ManagedConfig.CONF_FILE));
            String hba = dir.files().read(data.resolve(ManagedConfig.HBA_FILE));
            boolean same = confContent(upstreamConninfo, upstreamSlot, standby).equals(conf)
                    && hbaContent().equals(hba);
            if (same) {
                return false; // nothing to change
            }
        } catch (IOException e) {
            dynamic = previous;
            throw new PostgresException("cannot read pgha's files in " + data + ": " + e.getMessage(), e);
        }
        rewrite();
        return true;
    }

    /** The member's parameters, merged with the cluster's dynamic ones once the node passed them on. */
    private Map<String, String> effectiveParameters() {
        DynamicPostgres d = dynamic;
        return d == null ? config.parameters() : d.effectiveParameters(config);
    }

    private String confContent(String conninfo, boolean useSlot, StandbySource standby) {
        return confContent(conninfo, useSlot, effectiveParameters(), standby);
    }

    private String confContent(
            String conninfo, boolean useSlot, Map<String, String> parameters, StandbySource standby) {
        return ManagedConfig.render(
                config,
                parameters,
                facts,
                dir.runtimeDir(),
                dir.path().resolve(ManagedConfig.HBA_FILE),
                conninfo,
                config.useSlots() && useSlot ? config.slotName() : null,
                synchronousStandbyNames,
                standby);
    }

    private String hbaContent() {
        DynamicPostgres d = dynamic;
        return ManagedConfig.hba(config, d == null ? config.pgHba() : d.effectivePgHba(config));
    }

    /** Re-reads what a previous run left in postgresql.pgha.conf (upstream, synchronous_standby_names). */
    private void readBack() {
        Path conf = dir.path().resolve(ManagedConfig.CONF_FILE);
        if (!Files.isRegularFile(conf)) {
            return;
        }
        try {
            String text = dir.files().read(conf);
            String standbyKind = null;
            String slot = null;
            Map<String, String> standbySettings = new LinkedHashMap<>();
            for (String line : text == null ? new String[0] : text.split("\n")) {
                if (line.startsWith(ManagedConfig.STANDBY_MARKER)) {
                    standbyKind = line.substring(ManagedConfig.STANDBY_MARKER.length())
                            .trim();
                    continue;
                }
                int eq = line.indexOf(" = ");
                if (eq < 0 || line.startsWith("#")) {
                    continue;
                }
                String key = line.substring(0, eq).trim();
                String raw = line.substring(eq + 3).trim();
                if (raw.length() < 2 || !raw.startsWith("'") || !raw.endsWith("'")) {
                    continue;
                }
                // the reverse of ManagedConfig.quote
                String value =
                        raw.substring(1, raw.length() - 1).replace("''", "'").replace("\\\\", "\\");
                if (key.equals("primary_conninfo")) {
                    // empty on a standby with no upstream (created without a leader): still a replica
                    upstreamConninfo = value.isEmpty() && !dir.hasStandbySignal() ? null : value;
                } else if (key.equals("synchronous_standby_names")) {
                    synchronousStandbyNames = value;
                } else if (key.equals("primary_slot_name")) {
                    slot = value;
                } else if (standbyKind != null) {
                    standbySettings.put(key, value);
                }
            }
            if (standbyKind != null && upstreamConninfo != null) {
                boolean remote = standbyKind.equals("remote");
                standby = new StandbySource(
                        remote,
                        remote && slot != null && !slot.isEmpty() ? slot : null,
                        standbySettings.get("restore_command"),
                        standbySettings.get("archive_cleanup_command"),
                        standbySettings.get("recovery_min_apply_delay"),
                        java.util.List.of());
            }
            // a cascade written without a slot stays so across an agent restart
            upstreamSlot = upstreamConninfo == null || upstreamConninfo.isEmpty() || slot == null || !slot.isEmpty();
        } catch (IOException e) {
            LOG.warn("{}: cannot read {}: {}", config.name(), conf, e.getMessage());
        }
    }
}
