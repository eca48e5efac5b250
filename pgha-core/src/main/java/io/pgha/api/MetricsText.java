package io.pgha.api;

import io.pgha.dcs.Tags;

/**
 * {@code GET /metrics}: Prometheus text exposition with Patroni's metric names, help texts and
 * labels ({@code scope} and {@code name}, as Patroni 4). {@code patroni_master} is kept for
 * dashboards written for Patroni 3.
 */
final class MetricsText {
    private static final String[] STATES = {
        "initializing new cluster",
        "initdb failed",
        "running custom bootstrap script",
        "custom bootstrap failed",
        "creating replica",
        "running",
        "starting",
        "starting after custom bootstrap",
        "start failed",
        "restarting",
        "restart failed",
        "stopping",
        "stopped",
        "stop failed",
        "crashed"
    };

    private static final String STATE_VALUES = "0=initdb, 1=initdb_failed, 2=custom_bootstrap, "
            + "3=custom_bootstrap_failed, 4=creating_replica, 5=running, 6=starting, 7=bootstrap_starting, 8=start_failed, "
            + "9=restarting, 10=restart_failed, 11=stopping, 12=stopped, 13=stop_failed, 14=crashed";

    private final StringBuilder out = new StringBuilder();
    /** Extension entries become metric names only when they are valid Prometheus names. */
    private static final java.util.regex.Pattern SAFE_NAME = java.util.regex.Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

    private final String labels;

    private MetricsText(String labels) {
        this.labels = labels;
    }

    static String of(NodeView v) {
        MetricsText m =
                new MetricsText("{scope=\"" + escape(v.state.scope()) + "\",name=\"" + escape(v.state.name()) + "\"}");
        boolean replica = v.isReplicaRole();
        boolean primary = "primary".equals(v.role());
        m.gauge("patroni_version", "Patroni semver without periods.", paddedVersion(v.version));
        m.gauge("patroni_postgres_running", "Value is 1 if Postgres is running, 0 otherwise.", bit(v.running()));
        m.gauge(
                "patroni_postmaster_start_time",
                "Epoch seconds since Postgres started.",
                v.running() && v.pg.postmasterStartTime() != null
                        ? Json.epochSeconds(v.pg.postmasterStartTime())
                        : "0");
        m.gauge("patroni_primary", "Value is 1 if this node is the leader, 0 otherwise.", bit(primary));
        m.gauge("patroni_master", "Value is 1 if this node is the leader, 0 otherwise.", bit(primary));
        m.metric(
                "patroni_xlog_location",
                "counter",
                "Current location of the Postgres transaction log, 0 if this node is not the leader.",
                String.valueOf(v.running() && primary ? v.pg.writeLsn() : 0));
        m.gauge(
                "patroni_standby_leader",
                "Value is 1 if this node is the standby_leader, 0 otherwise.",
                bit("standby_leader".equals(v.role())));
        m.gauge("patroni_replica", "Value is 1 if this node is a replica, 0 otherwise.", bit(replica));
        m.gauge(
                "patroni_sync_standby",
                "Value is 1 if this node is a sync standby, 0 otherwise.",
                bit(v.syncStandby()));
        m.gauge(
                "patroni_quorum_standby",
                "Value is 1 if this node is a quorum standby, 0 otherwise.",
                bit(v.quorumStandby()));
        m.metric(
                "patroni_xlog_received_location",
                "counter",
                "Current location of the received Postgres transaction log, 0 if this node is not a replica.",
                String.valueOf(v.received()));
        m.metric(
                "patroni_xlog_replayed_location",
                "counter",
                "Current location of the replayed Postgres transaction log, 0 if this node is not a replica.",
                String.valueOf(v.replayed()));
        m.gauge(
                "patroni_xlog_replayed_timestamp",
                "Current timestamp of the replayed Postgres transaction log, 0 if null.",
                v.running() && !primary && v.pg.replayTimestamp() != null
                        ? Json.epochSeconds(v.pg.replayTimestamp())
                        : "0");
        m.gauge(
                "patroni_xlog_paused",
                "Value is 1 if the Postgres xlog is paused, 0 otherwise.",
                bit(v.running() && !primary && v.pg.replayPaused()));
        int serverVersion = v.running() ? v.pg.serverVersion() : 0;
        if (serverVersion >= 90600) {
            m.gauge(
                    "patroni_postgres_streaming",
                    "Value is 1 if Postgres is streaming, 0 otherwise.",
                    bit("streaming".equals(v.replicationState())));
            m.gauge(
                    "patroni_postgres_in_archive_recovery",
                    "Value is 1 if Postgres is replicating from archive, 0 otherwise.",
                    bit("in archive recovery".equals(v.replicationState())));
        }
        m.gauge(
                "patroni_postgres_server_version",
                "Version of Postgres (if running), 0 otherwise.",
                String.valueOf(serverVersion));
        m.gauge(
                "patroni_cluster_unlocked",
                "Value is 1 if the cluster is unlocked, 0 if locked.",
                bit(v.clusterUnlocked()));
        m.gauge(
                "patroni_failsafe_mode_is_active",
                "Value is 1 if failsafe mode is active, 0 if inactive.",
                bit(v.state.failsafeActive()));
        m.gauge(
                "patroni_failsafe_mode_enabled",
                "Value is 1 if failsafe_mode is enabled, 0 otherwise.",
                bit(v.config.isFailsafeMode()));
        boolean failsafeMember = v.state.cluster() != null
                && v.state.cluster().failsafe() != null
                && v.state.cluster().failsafe().containsKey(v.state.name());
        m.gauge(
                "patroni_failsafe_member",
                "Value is 1 if this node is a member of failsafe, 0 otherwise.",
                bit(failsafeMember));
        m.gauge(
                "patroni_postgres_timeline",
                "Postgres timeline of this node (if running), 0 otherwise.",
                String.valueOf(v.running() ? v.pg.timeline() : 0));
        m.gauge(
                "patroni_dcs_last_seen",
                "Epoch timestamp when DCS was last contacted successfully by Patroni.",
                String.valueOf(v.dcsLastSeen()));
        m.gauge(
                "patroni_pending_restart",
                "Value is 1 if the node needs a restart, 0 otherwise.",
                bit(v.pg != null && v.pg.pendingRestart()));
        m.gauge("patroni_is_paused", "Value is 1 if auto failover is disabled, 0 otherwise.", bit(v.paused()));
        m.out.append("# HELP patroni_postgres_state Numeric representation of Postgres state.\n# Values: ")
                .append(STATE_VALUES);
        m.out.append("\n# TYPE patroni_postgres_state gauge\npatroni_postgres_state")
                .append(m.labels)
                .append(' ')
                .append(stateIndex(v.pgState()))
                .append('\n');
        m.gauge(
                "patroni_failover_priority",
                "Failover priority of this node.",
                String.valueOf(Tags.failoverPriority(v.state.tags())));
        v.extensions.forEach((section, entries) -> entries.forEach((key, value) -> {
            if (value instanceof Number n
                    && SAFE_NAME.matcher(section + "_" + key).matches()) {
                m.gauge("pgha_" + section + "_" + key, "pgha " + section + " status: " + key + ".", n.toString());
            }
        }));
        return m.out.toString();
    }

    private void gauge(String name, String help, String value) {
        metric(name, "gauge", help, value);
    }

    private void metric(String name, String type, String help, String value) {
        out.append("# HELP ")
                .append(name)
                .append(' ')
                .append(help)
                .append('\n')
                .append("# TYPE ")
                .append(name)
                .append(' ')
                .append(type)
                .append('\n')
                .append(name)
                .append(labels)
                .append(' ')
                .append(value)
                .append('\n');
    }

    private static int stateIndex(String state) {
        for (int i = 0; i < STATES.length; i++) {
            if (STATES[i].equals(state)) {
                return i;
            }
        }
        return -1;
    }

    private static String bit(boolean b) {
        return b ? "1" : "0";
    }

    /** 4.1.4 becomes 040104, as Patroni prints it. */
    static String paddedVersion(String version) {
        StringBuilder sb = new StringBuilder();
        for (String part : version.split("[.-]", -1)) {
            if (!part.chars().allMatch(Character::isDigit) || part.isEmpty()) {
                break;
            }
            sb.append(part.length() < 2 ? "0" + part : part);
        }
        return sb.length() == 0 ? "0" : sb.toString();
    }

    private static String escape(String s) {
        return s == null ? "" : s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
