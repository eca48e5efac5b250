package io.pgha.api;

import io.pgha.dcs.Tags;
import io.pgha.ha.NodeControl;
import io.pgha.ha.NodeState;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Patroni's metrics, once: each series' name, Prometheus type, help text and how its value is read
 * from a node. {@code GET /metrics} renders this table ({@link MetricsText}), and
 * {@code io.pgha.ha.PghaMetrics} registers the same series as Micrometer gauges, so a dashboard
 * built for Patroni reads either.
 */
public final class PatroniMetrics {
    private PatroniMetrics() {}

    /** One series. */
    public static final class Metric {
        private final String name;
        private final String type;
        private final String help;
        private final String values;
        private final Predicate<NodeView> shown;
        private final Function<NodeView, String> value;

        private Metric(
                String name,
                String type,
                String help,
                String values,
                Predicate<NodeView> shown,
                Function<NodeView, String> value) {
            this.name = name;
            this.type = type;
            this.help = help;
            this.values = values;
            this.shown = shown;
            this.value = value;
        }

        /** Patroni's name, e.g. {@code patroni_primary}. */
        public String name() {
            return name;
        }

        /** {@code gauge} or {@code counter}, as Patroni declares it. */
        public String type() {
            return type;
        }

        /** Patroni's help text. */
        public String help() {
            return help;
        }

        /** The meaning of the values of an enumeration ({@code patroni_postgres_state}), else null. */
        String values() {
            return values;
        }

        boolean shownFor(NodeView v) {
            return shown.test(v);
        }

        /** The value as {@code /metrics} prints it. */
        String text(NodeView v) {
            return value.apply(v);
        }

        /**
         * The value for the node now (the state its last HA cycle saw); NaN before its first cycle,
         * and for a series {@code /metrics} leaves out for this node (streaming on PostgreSQL 9.5).
         */
        public double valueOf(NodeControl node) {
            return valueOf(node, Instant.now());
        }

        /** {@link #valueOf(NodeControl)} as of {@code now} (the node's clock). */
        public double valueOf(NodeControl node, Instant now) {
            NodeState s = node.currentState();
            if (s == null) {
                return Double.NaN;
            }
            NodeView v = new NodeView(s, now, RestApiServer.VERSION, Map.of(), node.watchdogFailed());
            return shown.test(v) ? Double.parseDouble(value.apply(v)) : Double.NaN;
        }
    }

    /** Every series of {@code GET /metrics} but the extension sections', in its order. */
    public static List<Metric> all() {
        return TABLE;
    }

    private static Metric gauge(String name, String help, Function<NodeView, String> value) {
        return new Metric(name, "gauge", help, null, v -> true, value);
    }

    private static Metric counter(String name, String help, Function<NodeView, String> value) {
        return new Metric(name, "counter", help, null, v -> true, value);
    }

    private static final String STATE_VALUES = "0=initdb, 1=initdb_failed, 2=custom_bootstrap, "
            + "3=custom_bootstrap_failed, 4=creating_replica, 5=running, 6=starting, 7=bootstrap_starting, 8=start_failed, "
            + "9=restarting, 10=restart_failed, 11=stopping, 12=stopped, 13=stop_failed, 14=crashed";

    private static final List<String> STATES = List.of(
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
            "crashed");

    private static boolean primary(NodeView v) {
        return "primary".equals(v.role());
    }

    private static int serverVersion(NodeView v) {
        return v.running() ? v.pg.serverVersion() : 0;
    }

    private static final List<Metric> TABLE = List.of(
            gauge("patroni_version", "Patroni semver without periods.", v -> paddedVersion(v.version)),
            gauge("patroni_postgres_running", "Value is 1 if Postgres is running, 0 otherwise.", v -> bit(v.running())),
            gauge(
                    "patroni_postmaster_start_time",
                    "Epoch seconds since Postgres started.",
                    v -> v.running() && v.pg.postmasterStartTime() != null
                            ? Json.epochSeconds(v.pg.postmasterStartTime())
                            : "0"),
            gauge("patroni_primary", "Value is 1 if this node is the leader, 0 otherwise.", v -> bit(primary(v))),
            gauge("patroni_master", "Value is 1 if this node is the leader, 0 otherwise.", v -> bit(primary(v))),
            counter(
                    "patroni_xlog_location",
                    "Current location of the Postgres transaction log, 0 if this node is not the leader.",
                    v -> String.valueOf(v.running() && primary(v) ? v.pg.writeLsn() : 0)),
            gauge(
                    "patroni_standby_leader",
                    "Value is 1 if this node is the standby_leader, 0 otherwise.",
                    v -> bit("standby_leader".equals(v.role()))),
            gauge("patroni_replica", "Value is 1 if this node is a replica, 0 otherwise.", v -> bit(v.isReplicaRole())),
            gauge(
                    "patroni_sync_standby",
                    "Value is 1 if this node is a sync standby, 0 otherwise.",
                    v -> bit(v.syncStandby())),
            gauge(
                    "patroni_quorum_standby",
                    "Value is 1 if this node is a quorum standby, 0 otherwise.",
                    v -> bit(v.quorumStandby())),
            counter(
                    "patroni_xlog_received_location",
                    "Current location of the received Postgres transaction log, 0 if this node is not a replica.",
                    v -> String.valueOf(v.received())),
            counter(
                    "patroni_xlog_replayed_location",
                    "Current location of the replayed Postgres transaction log, 0 if this node is not a replica.",
                    v -> String.valueOf(v.replayed())),
            gauge(
                    "patroni_xlog_replayed_timestamp",
                    "Current timestamp of the replayed Postgres transaction log, 0 if null.",
                    v -> v.running() && !primary(v) && v.pg.replayTimestamp() != null
                            ? Json.epochSeconds(v.pg.replayTimestamp())
                            : "0"),
            gauge(
                    "patroni_xlog_paused",
                    "Value is 1 if the Postgres xlog is paused, 0 otherwise.",
                    v -> bit(v.running() && !primary(v) && v.pg.replayPaused())),
            new Metric(
                    "patroni_postgres_streaming",
                    "gauge",
                    "Value is 1 if Postgres is streaming, 0 otherwise.",
                    null,
                    v -> serverVersion(v) >= 90600,
                    v -> bit("streaming".equals(v.replicationState()))),
            new Metric(
                    "patroni_postgres_in_archive_recovery",
                    "gauge",
                    "Value is 1 if Postgres is replicating from archive, 0 otherwise.",
                    null,
                    v -> serverVersion(v) >= 90600,
                    v -> bit("in archive recovery".equals(v.replicationState()))),
            gauge(
                    "patroni_postgres_server_version",
                    "Version of Postgres (if running), 0 otherwise.",
                    v -> String.valueOf(serverVersion(v))),
            gauge(
                    "patroni_cluster_unlocked",
                    "Value is 1 if the cluster is unlocked, 0 if locked.",
                    v -> bit(v.clusterUnlocked())),
            gauge(
                    "patroni_failsafe_mode_is_active",
                    "Value is 1 if failsafe mode is active, 0 if inactive.",
                    v -> bit(v.state.failsafeActive())),
            gauge(
                    "patroni_failsafe_mode_enabled",
                    "Value is 1 if failsafe_mode is enabled, 0 otherwise.",
                    v -> bit(v.config.isFailsafeMode())),
            gauge(
                    "patroni_failsafe_member",
                    "Value is 1 if this node is a member of failsafe, 0 otherwise.",
                    v -> bit(v.state.cluster() != null
                            && v.state.cluster().failsafe() != null
                            && v.state.cluster().failsafe().containsKey(v.state.name()))),
            gauge(
                    "patroni_postgres_timeline",
                    "Postgres timeline of this node (if running), 0 otherwise.",
                    v -> String.valueOf(v.running() ? v.pg.timeline() : 0)),
            gauge(
                    "patroni_dcs_last_seen",
                    "Epoch timestamp when DCS was last contacted successfully by Patroni.",
                    v -> String.valueOf(v.dcsLastSeen())),
            gauge(
                    "patroni_pending_restart",
                    "Value is 1 if the node needs a restart, 0 otherwise.",
                    v -> bit(v.pg != null && v.pg.pendingRestart())),
            gauge("patroni_is_paused", "Value is 1 if auto failover is disabled, 0 otherwise.", v -> bit(v.paused())),
            new Metric(
                    "patroni_postgres_state",
                    "gauge",
                    "Numeric representation of Postgres state.",
                    STATE_VALUES,
                    v -> true,
                    v -> String.valueOf(STATES.indexOf(v.pgState()))),
            gauge(
                    "patroni_failover_priority",
                    "Failover priority of this node.",
                    v -> String.valueOf(Tags.failoverPriority(v.state.tags()))));

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
}
