package io.pgha.ha;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.Member;
import io.pgha.dcs.SyncState;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.ReplicationRow;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.ToLongFunction;
import java.util.regex.Pattern;

/**
 * Patroni's synchronous replication on the leader, as a pure function: from the cluster, the local
 * primary's status and the dynamic configuration, the actions that move {@code synchronous_standby_names}
 * and the {@code sync} key one safe step towards the wanted standbys. Stateless and thread-safe.
 *
 * <p>The invariant: the {@code sync} key never names a standby PostgreSQL is not waiting for, since
 * only a member named there may be promoted. So a standby is <em>removed</em> from the key first and
 * from {@code synchronous_standby_names} second, and <em>added</em> to {@code synchronous_standby_names}
 * first and to the key only once {@code pg_stat_replication} shows it as {@code sync} under that very
 * setting (a later cycle: the status the engine sees was read before this cycle's writes).
 *
 * <p>Candidates (Patroni's {@code _get_candidates}): rows of {@code pg_stat_replication} that are
 * {@code streaming}, whose application_name is a member of the cluster, not tagged {@code nosync}, with
 * a {@code sync_priority} tag above 0 (default 1) and, when {@code maximum_lag_on_syncnode} is above
 * 0, no further behind than that: behind the most advanced standby when there are several, else
 * behind the primary, measured at the position a commit waits for ({@code synchronous_commit}
 * {@code remote_apply}: replayed, {@code remote_write}: written, else flushed), so that a standby
 * that stops replaying is swapped out. They are ordered by {@code sync_priority} (highest first),
 * then standbys already synchronous (no flapping), then by that position.
 *
 * <p>{@code synchronous_mode: quorum} is {@link QuorumCommit}'s.
 */
final class SyncStandbys {

    /** The value of {@code synchronous_standby_names} in strict mode when no standby is available. */
    public static final String ANY_STANDBY = "*";

    static final String SYNC_PRIORITY = "sync_priority";
    private static final Pattern PLAIN = Pattern.compile("[a-z_][a-z0-9_$]*");

    private SyncStandbys() {}

    /**
     * The actions for a running primary holding the lock, in the order to run them: at most one
     * {@link Action.WriteSync} (conditional on the key's version) and one
     * {@link Action.SetSynchronousStandbyNames}. Empty when everything is as wanted.
     */
    public static List<Action> plan(
            String me, ClusterState cluster, PostgresStatus pg, DynamicConfig config, long readyLsn) {
        SyncState key = cluster.sync();
        long version = key == null ? Dcs.ABSENT : key.version();
        List<Action> actions = new ArrayList<>();
        String current = normalize(pg.synchronousStandbyNames());
        if (!config.isSynchronousMode()) {
            // turned off: stop waiting, then forget the key if it is ours
            if (!current.isEmpty()) {
                actions.add(new Action.SetSynchronousStandbyNames(""));
            }
            if (key != null && (key.leader() == null || me.equals(key.leader()))) {
                actions.add(new Action.WriteSync(null, version));
            }
            return actions;
        }
        List<String> picks = pick(me, cluster, pg, config);
        String wanted = format(picks, config.isSynchronousModeStrict());
        // a key written in quorum mode with a quorum above 0 names voters that may lack commits
        boolean ours = key != null && me.equals(key.leader()) && (key.quorum() == null || key.quorum() == 0);
        List<String> listed = ours ? key.syncStandbys() : List.of();
        Set<String> confirmed = confirmed(pg, wanted, readyLsn);

        // what the key may name after this cycle: still wanted, and proven sync when newly added
        List<String> next = new ArrayList<>();
        for (String p : picks) {
            if (listed.contains(p) ? stillWaitedFor(p, pg) : confirmed.contains(p)) {
                next.add(p);
            }
        }
        boolean removing = !ours || !next.containsAll(listed);
        if (removing) {
            // shrink (or take over) the key before PostgreSQL stops waiting for anyone in it
            List<String> kept = new ArrayList<>(listed);
            kept.retainAll(next);
            actions.add(new Action.WriteSync(new SyncState(me, kept, null, version), version));
        }
        if (!current.equals(wanted)) {
            actions.add(new Action.SetSynchronousStandbyNames(wanted));
        } else if (!removing && !next.equals(listed)) {
            // grow the key with standbys PostgreSQL already waits for
            actions.add(new Action.WriteSync(new SyncState(me, next, null, version), version));
        }
        return actions;
    }

    /** Whether a standby the key names is still one PostgreSQL waits for (or may wait for). */
    private static boolean stillWaitedFor(String name, PostgresStatus pg) {
        String current = normalize(pg.synchronousStandbyNames());
        return ANY_STANDBY.equals(current) || names(current).contains(name.toLowerCase(Locale.ROOT));
    }

    /**
     * Standbys shown as sync in pg_stat_replication while {@code synchronous_standby_names} is {@code wanted},
     * flushed at least to where the primary was when that value was first seen: only then do they hold
     * every commit acknowledged before, by other standbys, under the former value.
     */
    private static Set<String> confirmed(PostgresStatus pg, String wanted, long readyLsn) {
        Set<String> out = new LinkedHashSet<>();
        if (!normalize(pg.synchronousStandbyNames()).equals(wanted)) {
            return out;
        }
        for (ReplicationRow r : pg.replication()) {
            if (("sync".equalsIgnoreCase(r.syncState()) || "quorum".equalsIgnoreCase(r.syncState()))
                    && r.flushLsn() >= readyLsn) {
                out.add(r.applicationName());
            }
        }
        return out;
    }

    /** The standbys the leader wants synchronous, best first, at most {@code synchronous_node_count}. */
    public static List<String> pick(String me, ClusterState cluster, PostgresStatus pg, DynamicConfig config) {
        List<String> all = eligible(me, cluster, pg, config);
        return all.subList(0, Math.min(all.size(), Math.max(1, config.synchronousNodeCount())));
    }

    /** Every standby that may be synchronous now, best first. */
    static List<String> eligible(String me, ClusterState cluster, PostgresStatus pg, DynamicConfig config) {
        long maxLag = config.maximumLagOnSyncnode();
        ToLongFunction<ReplicationRow> position = positionFor(synchronousCommit(config));
        // Patroni measures the lag from the most advanced standby when there are several (a standby
        // that stops replaying falls behind the others), else from the primary
        List<ReplicationRow> streaming = pg.replication().stream()
                .filter(r -> "streaming".equalsIgnoreCase(r.state()))
                .toList();
        long referenceLsn = streaming.size() > 1
                ? streaming.stream().mapToLong(position).max().orElse(pg.writeLsn())
                : pg.writeLsn();
        List<Candidate> candidates = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (ReplicationRow r : pg.replication()) {
            String name = r.applicationName();
            if (name == null || name.equals(me) || !"streaming".equalsIgnoreCase(r.state()) || !seen.add(name)) {
                continue;
            }
            Optional<Member> m = cluster.member(name);
            if (m.isEmpty() || m.get().noSync()) {
                continue;
            }
            int priority = syncPriority(m.get());
            if (priority <= 0) {
                continue;
            }
            if (maxLag > 0 && referenceLsn - position.applyAsLong(r) > maxLag) {
                continue;
            }
            boolean sync = "sync".equalsIgnoreCase(r.syncState()) || "quorum".equalsIgnoreCase(r.syncState());
            candidates.add(new Candidate(name, priority, sync, position.applyAsLong(r)));
        }
        candidates.sort(Comparator.comparingInt((Candidate c) -> -c.priority)
                .thenComparing(c -> !c.sync)
                .thenComparing(c -> -c.flushLsn)
                .thenComparing(c -> c.name));
        List<String> out = new ArrayList<>();
        for (Candidate c : candidates) {
            out.add(c.name);
        }
        return out;
    }

    /**
     * The position a commit waits for under {@code synchronous_commit}, as Patroni ranks standbys:
     * replayed for {@code remote_apply}, written for {@code remote_write}, else flushed.
     */
    static ToLongFunction<ReplicationRow> positionFor(String synchronousCommit) {
        return switch (synchronousCommit == null ? "" : synchronousCommit.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "remote_apply" -> ReplicationRow::replayLsn;
            case "remote_write" -> ReplicationRow::writeLsn;
            default -> ReplicationRow::flushLsn;
        };
    }

    /** {@code postgresql.parameters.synchronous_commit} of the dynamic configuration, null when unset. */
    static String synchronousCommit(DynamicConfig config) {
        if (config.raw().get("postgresql") instanceof java.util.Map<?, ?> pg
                && pg.get("parameters") instanceof java.util.Map<?, ?> params
                && params.get("synchronous_commit") != null) {
            return String.valueOf(params.get("synchronous_commit"));
        }
        return null;
    }

    /**
     * Patroni's {@code synchronous_standby_names}: {@code name}, or {@code n (a,b)} for several (the
     * names sorted), {@code *} in strict mode with none, and empty otherwise.
     */
    public static String format(List<String> picks, boolean strict) {
        if (picks.isEmpty()) {
            return strict ? ANY_STANDBY : "";
        }
        List<String> quoted = picks.stream().sorted().map(SyncStandbys::quote).toList();
        if (quoted.size() == 1) {
            return quoted.get(0);
        }
        return quoted.size() + " (" + String.join(",", quoted) + ")";
    }

    static String quote(String name) {
        if (PLAIN.matcher(name).matches()) {
            return name;
        }
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    /** The lower-cased names in a {@code synchronous_standby_names} value, without count, FIRST/ANY or quotes. */
    static Set<String> names(String value) {
        Set<String> out = new LinkedHashSet<>();
        for (String n : namesAsWritten(value)) {
            out.add(n.toLowerCase(Locale.ROOT));
        }
        return out;
    }

    /** The names in a {@code synchronous_standby_names} value as written, without count, FIRST/ANY or quotes. */
    static Set<String> namesAsWritten(String value) {
        String v = normalize(value);
        int open = v.indexOf('(');
        if (open >= 0 && v.endsWith(")")) {
            v = v.substring(open + 1, v.length() - 1);
        }
        Set<String> out = new LinkedHashSet<>();
        for (String part : v.split(",")) {
            String p = part.trim();
            if (p.length() >= 2 && p.startsWith("\"") && p.endsWith("\"")) {
                p = p.substring(1, p.length() - 1).replace("\"\"", "\"");
            }
            if (!p.isEmpty()) {
                out.add(p);
            }
        }
        return out;
    }

    private static String normalize(String v) {
        return v == null ? "" : v.trim();
    }

    private static int syncPriority(Member m) {
        Object v = m.tags().get(SYNC_PRIORITY);
        if (v instanceof Number n) {
            return n.intValue();
        }
        if (v instanceof String s) {
            try {
                return Integer.parseInt(s.trim());
            } catch (NumberFormatException e) {
                return 1;
            }
        }
        return 1;
    }

    private record Candidate(String name, int priority, boolean sync, long flushLsn) {}
}
