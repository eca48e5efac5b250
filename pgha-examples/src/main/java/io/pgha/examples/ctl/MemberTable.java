package io.pgha.examples.ctl;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Failover;
import io.pgha.dcs.Member;
import java.io.PrintStream;
import java.net.URI;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * patronictl's {@code output_members}: the member table of one cluster (Cluster, Member, Host,
 * Role, State, TL, Lag in MB, and Pending restart / Scheduled restart / Tags when any member has
 * them or {@code --extended} is given), then the maintenance-mode and scheduled-switchover lines.
 * Lag is measured against the leader's last {@code status} optime, as Patroni's
 * {@code cluster_as_json} does. Stateless.
 */
final class MemberTable {
    private static final Map<String, Character> ALIGN = Map.of("TL", 'r', "Lag in MB", 'r');

    private MemberTable() {}

    /** One member as {@code GET /cluster} describes it. */
    record Row(
            String name,
            String role,
            String state,
            String host,
            Integer port,
            Object timeline,
            Object lag,
            boolean pendingRestart,
            String scheduledRestart,
            Map<String, Object> tags) {}

    static List<Row> rows(ClusterState cluster) {
        DynamicConfig config = DynamicConfig.from(
                cluster.config() == null ? Map.of() : cluster.config().data());
        String leader = cluster.hasLeader() ? cluster.leader().name() : null;
        long clusterLsn = cluster.status() == null ? 0 : cluster.status().optime();
        Object standby = config.raw().get("standby_cluster");
        boolean standbyCluster = standby instanceof Map<?, ?> m && !m.isEmpty();
        List<Row> rows = new ArrayList<>();
        for (Member m : cluster.members()) {
            String role;
            if (m.name().equals(leader)) {
                role = standbyCluster ? "standby_leader" : "leader";
            } else if (config.isSynchronousMode()
                    && cluster.sync() != null
                    && cluster.sync().isSynchronous(m.name())) {
                role = "quorum".equals(config.synchronousMode()) ? "quorum_standby" : "sync_standby";
            } else {
                role = "replica";
            }
            String replication = role.endsWith("leader") ? null : m.string("replication_state");
            String state = replication != null && !replication.isEmpty() ? replication : nz(m.state());
            String host = null;
            Integer port = null;
            URI conn = connUri(m.connUrl());
            if (conn != null && conn.getHost() != null) {
                host = conn.getHost();
                port = conn.getPort() > 0 ? conn.getPort() : null;
            }
            Object lag = null;
            if (!m.name().equals(leader)) {
                long lsn = m.xlogLocation();
                lag = lsn == 0 ? "unknown" : (Object) Math.max(0, clusterLsn - lsn);
            }
            Object tl = m.data().get("timeline");
            String scheduled = null;
            if (m.data().get("scheduled_restart") instanceof Map<?, ?> s && s.get("schedule") != null) {
                scheduled = s.get("schedule").toString();
                if (s.get("postgres_version") != null) {
                    scheduled += " if version < " + s.get("postgres_version");
                }
            }
            rows.add(new Row(
                    m.name(),
                    role,
                    state,
                    host,
                    port,
                    tl,
                    lag,
                    Boolean.TRUE.equals(m.data().get("pending_restart")),
                    scheduled,
                    m.tags()));
        }
        return rows;
    }

    /** Prints the table in {@code fmt} ({@code pretty}, {@code topology}, {@code tsv}, {@code json}, {@code yaml}). */
    static void print(PrintStream out, ClusterState cluster, String name, boolean extended, String fmt) {
        List<Row> members = rows(cluster);
        if (fmt.equals("topology")) {
            members = topologySort(members);
        }
        String initialize = cluster.initialize() == null
                ? "uninitialized"
                : cluster.initialize().isEmpty() ? "initializing" : cluster.initialize();
        List<String> columns =
                new ArrayList<>(List.of("Cluster", "Member", "Host", "Role", "State", "TL", "Lag in MB"));
        boolean pending = extended || members.stream().anyMatch(Row::pendingRestart);
        boolean scheduled = extended || members.stream().anyMatch(r -> r.scheduledRestart() != null);
        boolean tags = extended || members.stream().anyMatch(r -> !r.tags().isEmpty());
        if (pending) {
            columns.add("Pending restart");
        }
        if (scheduled) {
            columns.add("Scheduled restart");
        }
        if (tags) {
            columns.add("Tags");
        }
        // host:port when a member runs on a non-standard port or two share a host, as patronictl does
        List<Row> withHost = members.stream().filter(r -> r.host() != null).toList();
        Set<String> hosts = new HashSet<>();
        withHost.forEach(r -> hosts.add(r.host()));
        boolean appendPort =
                withHost.stream().anyMatch(r -> r.port() != null && r.port() != 5432) || hosts.size() < withHost.size();
        boolean machine = Set.of("json", "yaml", "yml", "tsv").contains(fmt);
        // json and yaml escape what they write; a table or tsv shows DCS strings with their control characters escaped
        boolean escape = !Set.of("json", "yaml", "yml").contains(fmt);
        List<List<Object>> rows = new ArrayList<>();
        for (Row r : members) {
            List<Object> row = new ArrayList<>();
            row.add(name);
            row.add(shown(r.name(), escape));
            String host = r.host() == null ? "" : r.host();
            if (appendPort && r.host() != null && r.port() != null) {
                host = host + ":" + r.port();
            }
            row.add(shown(host, escape));
            row.add(title(r.role()));
            row.add(shown(r.state(), escape));
            row.add(
                    r.timeline() == null
                            ? ""
                            : escape && !(r.timeline() instanceof Number)
                                    ? shown(String.valueOf(r.timeline()), true)
                                    : r.timeline());
            Object lag = r.lag();
            row.add(lag instanceof Long l ? (Object) Math.round(l / 1024.0 / 1024.0) : lag == null ? "" : lag);
            if (pending) {
                row.add(r.pendingRestart() ? "*" : "");
            }
            if (scheduled) {
                row.add(r.scheduledRestart() == null ? "" : shown(r.scheduledRestart(), escape));
            }
            if (tags) {
                if (r.tags().isEmpty()) {
                    row.add("");
                } else if (machine && !fmt.equals("tsv")) {
                    row.add(r.tags());
                } else if (fmt.equals("tsv")) {
                    row.add(Output.visible(Output.json(r.tags()), false));
                } else {
                    row.add(Output.visible(Output.yaml(r.tags()).strip(), true));
                }
            }
            rows.add(row);
        }
        String title = " Cluster: " + name + " (" + initialize + ") ";
        if (machine) {
            Output.print(out, columns, rows, ALIGN, fmt, title);
            return;
        }
        // pretty and topology leave the Cluster column out: the name is in the title
        List<String> shown = columns.subList(1, columns.size());
        List<List<Object>> shownRows =
                rows.stream().map(r -> r.subList(1, r.size())).toList();
        out.print(Output.pretty(shown, shownRows, ALIGN, title));
        for (String info : serviceInfo(cluster)) {
            out.println(" " + info);
        }
    }

    static List<String> serviceInfo(ClusterState cluster) {
        List<String> info = new ArrayList<>();
        if (cluster.isPaused()) {
            info.add("Maintenance mode: on");
        }
        Failover f = cluster.failover();
        if (f != null && f.scheduledAt() != null) {
            StringBuilder s = new StringBuilder("Switchover scheduled at: ")
                    .append(f.scheduledAt().atOffset(ZoneOffset.UTC));
            if (f.leader() != null) {
                s.append('\n')
                        .append(String.format(Locale.ROOT, "%24s: %s", "from", Output.visible(f.leader(), false)));
            }
            if (f.member() != null) {
                s.append('\n').append(String.format(Locale.ROOT, "%24s: %s", "to", Output.visible(f.member(), false)));
            }
            info.add(s.toString());
        }
        return info;
    }

    /** The leader first, then the replicas that stream from it, cascading ones indented below their source. */
    static List<Row> topologySort(List<Row> members) {
        Row leader = members.stream()
                .filter(r -> r.role().endsWith("leader"))
                .findFirst()
                .orElse(null);
        Set<String> replicas = new HashSet<>();
        members.stream().filter(r -> !r.role().endsWith("leader")).forEach(r -> replicas.add(r.name()));
        Map<String, List<Row>> children = new LinkedHashMap<>();
        for (Row r : members) {
            if (r.role().endsWith("leader")) {
                continue;
            }
            Object from = r.tags().get("replicatefrom");
            String parent = from != null && !from.equals(r.name()) && replicas.contains(from.toString())
                    ? from.toString()
                    : leader == null ? null : leader.name();
            children.computeIfAbsent(parent, k -> new ArrayList<>()).add(r);
        }
        List<Row> sorted = new ArrayList<>();
        if (leader != null) {
            walk(leader, 0, children, sorted, new HashSet<>());
        } else {
            for (Row r : children.getOrDefault(null, List.of())) {
                walk(r, 1, children, sorted, new HashSet<>());
            }
        }
        return sorted;
    }

    private static void walk(Row member, int level, Map<String, List<Row>> children, List<Row> out, Set<String> seen) {
        if (!seen.add(member.name())) {
            return; // a replicatefrom cycle: print each member once
        }
        String name = level == 0 ? member.name() : " ".repeat((level - 1) * 2) + "+ " + member.name();
        out.add(new Row(
                name,
                member.role(),
                member.state(),
                member.host(),
                member.port(),
                member.timeline(),
                member.lag(),
                member.pendingRestart(),
                member.scheduledRestart(),
                member.tags()));
        for (Row child : children.getOrDefault(member.name(), List.of())) {
            walk(child, level + 1, children, out, seen);
        }
    }

    /** leader -> Leader, sync_standby -> Sync Standby, as Python's str.title(). */
    static String title(String role) {
        StringBuilder sb = new StringBuilder();
        for (String word : role.split("_", -1)) {
            if (!sb.isEmpty()) {
                sb.append(' ');
            }
            sb.append(word.isEmpty() ? word : Character.toUpperCase(word.charAt(0)) + word.substring(1));
        }
        return sb.toString();
    }

    private static String shown(String s, boolean escape) {
        return escape ? Output.visible(s, false) : s;
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }

    private static URI connUri(String connUrl) {
        if (connUrl == null) {
            return null;
        }
        try {
            return URI.create(connUrl);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
