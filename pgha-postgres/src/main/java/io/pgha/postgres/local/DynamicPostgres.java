package io.pgha.postgres.local;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code postgresql} section of the cluster's dynamic configuration (the DCS {@code config}
 * key) as far as the managed files use it: {@code parameters} and {@code pg_hba}. Merged with the
 * member's own file by Patroni's rules in {@link #effectiveParameters} and {@link #effectivePgHba}.
 * Immutable.
 *
 * @param parameters the dynamic {@code postgresql.parameters}, as strings
 * @param pgHba the dynamic {@code postgresql.pg_hba}, empty when absent
 */
record DynamicPostgres(Map<String, String> parameters, List<String> pgHba) {

    /**
     * Parameters every member must agree on, or a replica cannot replay the primary's WAL (or the
     * cluster cannot replicate): the cluster's dynamic value wins over a member's own, as in
     * Patroni (its {@code CMDLINE_OPTIONS}).
     */
    static final Set<String> CLUSTER_WIDE = Set.of(
            "max_connections",
            "max_wal_senders",
            "max_prepared_transactions",
            "max_locks_per_transaction",
            "max_worker_processes",
            "max_replication_slots",
            "track_commit_timestamp",
            "wal_level",
            "wal_log_hints",
            "hot_standby",
            "wal_keep_segments",
            "wal_keep_size");

    DynamicPostgres {
        parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
        pgHba = List.copyOf(pgHba);
    }

    /**
     * Reads the section as stored in the DCS (JSON values: strings, numbers, booleans).
     *
     * @throws IllegalArgumentException naming {@code postgresql.parameters.<name>} or
     *     {@code postgresql.pg_hba} for a value that cannot be written
     */
    static DynamicPostgres from(Map<String, ?> postgresql) {
        Map<String, ?> section = postgresql == null ? Map.of() : postgresql;
        Object params = section.get("parameters");
        if (params != null && !(params instanceof Map)) {
            throw new IllegalArgumentException("postgresql.parameters must be an object");
        }
        @SuppressWarnings("unchecked")
        Map<String, ?> raw = params == null ? Map.of() : (Map<String, ?>) params;
        Map<String, String> values = ManagedConfig.userParameters(
                PatroniPostgresSection.parameters(withoutNulls(raw), "postgresql.parameters"));
        List<String> hba = PatroniPostgresSection.stringList(section.get("pg_hba"), "postgresql.pg_hba");
        for (String line : hba) {
            if (line.indexOf('\n') >= 0 || line.indexOf('\r') >= 0) {
                throw new IllegalArgumentException("postgresql.pg_hba has an invalid line: '" + line + "'");
            }
        }
        return new DynamicPostgres(values, hba);
    }

    private static Map<String, ?> withoutNulls(Map<String, ?> raw) {
        Map<String, Object> out = new LinkedHashMap<>();
        raw.forEach((k, v) -> {
            if (v != null) {
                out.put(k, v);
            }
        });
        return out;
    }

    /**
     * The parameters to write: the dynamic ones, then the member's own over them, except that for a
     * {@linkplain #CLUSTER_WIDE cluster-wide} parameter the dynamic value wins when there is one.
     */
    Map<String, String> effectiveParameters(LocalPostgresConfig local) {
        Map<String, String> out = new LinkedHashMap<>(parameters);
        local.localParameters().forEach((k, v) -> {
            if (!(CLUSTER_WIDE.contains(k) && parameters.containsKey(k))) {
                out.put(k, v);
            }
        });
        return out;
    }

    /** The member's own pg_hba when it has one, else the dynamic one (empty: pgha's defaults). */
    List<String> effectivePgHba(LocalPostgresConfig local) {
        return local.pgHba().isEmpty() ? pgHba : local.pgHba();
    }
}
