package io.pgha.ha;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.SyncState;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.ReplicationRow;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code synchronous_mode: quorum} as Patroni 4 runs it, as pure functions for the engine: on the leader,
 * the actions that move {@code synchronous_standby_names = 'ANY numsync (sync)'} and the {@code sync} key
 * ({@code quorum} of {@code voters}) towards the active standbys ({@link QuorumResolver} orders them);
 * before a promotion, the value that keeps the former leader's quorum safe; in the race, whether enough
 * voters vouch for a candidate. Stateless and thread-safe.
 *
 * <p>A commit is acknowledged once {@code numsync} of {@code sync} flushed it, so any {@code quorum + 1}
 * of the key's voters and leader hold every acknowledged commit: a candidate may take the lock once that
 * many of them (itself included) report no WAL ahead of it.
 */
final class QuorumCommit {
    private static final Logger LOG = LoggerFactory.getLogger(QuorumCommit.class);

    private QuorumCommit() {}

    /** Whether quorum commit is requested and the {@code sync} key has an owner (Patroni's "active"). */
    static boolean isActive(DynamicConfig config, ClusterState c) {
        return isRequested(config) && c.sync() != null && c.sync().leader() != null;
    }

    static boolean isRequested(DynamicConfig config) {
        return "quorum".equals(config.synchronousMode());
    }

    /**
     * The leader's actions for this cycle, in order. At most one write of the key: its version after
     * a first write is unknown here, so later steps wait for the next cycle (each step is safe alone).
     *
     * @param readyLsn the primary's WAL position when its {@code synchronous_standby_names} last changed:
     *     a standby listed there counts as caught up once it flushed that far
     */
    static List<Action> plan(String me, ClusterState c, PostgresStatus pg, DynamicConfig config, long readyLsn) {
        SyncState key = c.sync();
        long version = key == null ? Dcs.ABSENT : key.version();
        List<Action> actions = new ArrayList<>();
        if (key == null || key.leader() == null) {
            // make the key ours with nobody in it; standbys join from the next cycle
            actions.add(new Action.WriteSync(new SyncState(me, List.of(), 0, version), version));
            return actions;
        }
        Ssn current = Ssn.parse(pg.synchronousStandbyNames());
        List<String> active = active(me, c, pg, config);
        int quorum = quorumOf(key);
        int minSync = config.isSynchronousModeStrict() ? 1 : 0;
        // only once the key is this node's: right after a failover it still names the former leader
        // and maybe this node among its voters (Patroni checks the same)
        boolean ours = key.leader().equalsIgnoreCase(me);
        if (ours && active.size() < minSync) {
            // strict and nobody to wait for: keep waiting for the voters (or any standby)
            String wanted = format(
                    key.syncStandbys(), Math.max(minSync, key.syncStandbys().size() - quorum));
            if (!current.value().equals(wanted)) {
                actions.add(new Action.SetSynchronousStandbyNames(wanted));
            }
            return actions;
        }
        if (ours
                && minSync == 0
                && active.isEmpty()
                && key.syncStandbys().isEmpty()
                && !current.value().isEmpty()) {
            actions.add(new Action.SetSynchronousStandbyNames(""));
            return actions;
        }
        int confirmed = 0;
        for (ReplicationRow r : pg.replication()) {
            if (r.applicationName() != null
                    && containsIgnoreCase(active, r.applicationName())
                    && current.contains(r.applicationName())
                    && "quorum".equalsIgnoreCase(r.syncState())
                    && r.flushLsn() >= readyLsn) {
                confirmed++;
            }
        }
        List<QuorumResolver.Step> steps;
        try {
            steps = QuorumResolver.resolve(
                    key.leader(),
                    quorum,
                    key.syncStandbys(),
                    current.num(),
                    asMembers(current.names(), c),
                    confirmed,
                    active,
                    config.synchronousNodeCount(),
                    me);
        } catch (QuorumResolver.QuorumException e) {
            LOG.warn("[{}] quorum commit: {}; synchronous replication left as it is this cycle", me, e.getMessage());
            return actions;
        }
        boolean wrote = false;
        boolean syncChanged = false;
        for (QuorumResolver.Step s : steps) {
            if (s.kind() == QuorumResolver.Kind.RESTART) {
                break;
            }
            if (s.kind() == QuorumResolver.Kind.SYNC) {
                actions.add(new Action.SetSynchronousStandbyNames(format(s.names(), s.num())));
                syncChanged = true;
            } else {
                // A key step after a change of synchronous_standby_names waits for the next cycle: the
                // resolver counted the standbys that confirmed the former value, and commits acknowledged
                // under it may be held by a standby the change removed (or by fewer than the new count).
                // Next cycle readyLsn marks the change and only standbys flushed past it count, so the
                // key keeps a quorum that covers those commits until they are (SimSafetyTest seed 5100180:
                // the quorum lowered in the same cycle let a voter without the last commit promote).
                if (wrote || syncChanged) {
                    break;
                }
                actions.add(
                        new Action.WriteSync(new SyncState(s.leader(), sorted(s.names()), s.num(), version), version));
                wrote = true;
            }
        }
        if (actions.isEmpty()
                && !current.any()
                && !current.names().isEmpty()
                && !current.names().contains(SyncStandbys.ANY_STANDBY)) {
            // settled, but written by priority mode: the same standbys, counted as ANY
            actions.add(new Action.SetSynchronousStandbyNames(format(asMembers(current.names(), c), current.num())));
        }
        return actions;
    }

    /**
     * Before this node promotes: {@code synchronous_standby_names} such that the key written by the
     * former leader stays true (Patroni's {@code _process_quorum_prepromote}); the key itself is moved
     * to this node by the first {@link #plan} after the promotion.
     */
    static String beforePromote(String me, ClusterState c, DynamicConfig config) {
        SyncState key = c.sync();
        List<String> members = new ArrayList<>();
        int quorum = 0;
        if (isActive(config, c)) {
            members.addAll(voting(key));
            quorum = quorumOf(key);
        }
        int numsync = members.size() - quorum - 1;
        if (containsIgnoreCase(members, me)) {
            members.removeIf(m -> m.equalsIgnoreCase(me));
        } else {
            numsync++; // promoted from outside the voters (it still had enough votes)
        }
        numsync = Math.max(numsync, config.isSynchronousModeStrict() ? 1 : 0);
        return format(members, numsync);
    }

    /**
     * Null when {@code candidate} may take the lock as far as quorum commit goes, else why not: it
     * needs {@code quorum} votes from the key's leader and voters that run PostgreSQL and are not ahead
     * of it (a voter counts itself); the key's leader needs none while nobody is ahead of it and its
     * data directory is still a primary's. A voter on a later timeline is ahead.
     *
     * @param others the statuses of the other members, as this node sees them
     */
    static String whyNoQuorum(PeerStatus candidate, boolean wasPrimary, ClusterState c, Collection<PeerStatus> others) {
        SyncState key = c.sync();
        int quorum = quorumOf(key);
        List<String> voting = voting(key);
        String me = candidate.name();
        int votes = containsIgnoreCase(voting, me) ? 0 : -1;
        boolean anyAhead = false;
        for (PeerStatus p : others) {
            if (p.name().equalsIgnoreCase(me)
                    || !containsIgnoreCase(voting, p.name())
                    || !"running".equals(p.state())
                    || p.walPosition() <= 0) {
                continue;
            }
            // a voter on a later timeline has commits of a later leader, whatever the positions say
            // (the simulation found a former primary's extra WAL outnumbering them: seed 109)
            long mine = candidate.timeline();
            boolean laterTimeline = p.timeline() > 0 && mine > 0 && p.timeline() > mine;
            boolean sameTimeline = p.timeline() <= 0 || mine <= 0 || p.timeline() == mine;
            if (laterTimeline || (sameTimeline && p.walPosition() > candidate.walPosition())) {
                anyAhead = true;
            } else {
                votes++;
            }
        }
        // the key's leader wrote every acknowledged commit itself, unless another member was promoted
        // since and had not moved the key yet: then it has been following as a replica (seed 814), or,
        // cut off or down meanwhile, it still has a primary's data directory while the history records
        // a later timeline (seed 114582670: the new leader took writes its voters acknowledged and left
        // before moving the key; the voter holding them was out of sight, its member key lapsed)
        if (votes >= quorum
                || (!anyAhead
                        && wasPrimary
                        && me.equalsIgnoreCase(key.leader())
                        && !laterTimelineBegan(c, candidate.timeline()))) {
            return null;
        }
        return votes < 0
                ? me + " is not a voter of the quorum and no voter vouches for it"
                : "quorum commit: " + me + " has " + votes + " of the " + quorum + " votes needed from " + voting
                        + " (members not ahead of it)";
    }

    /**
     * Whether the cluster's {@code history} records a timeline that began after {@code timeline} (a
     * member was promoted since): each entry names the timeline that ended.
     */
    private static boolean laterTimelineBegan(ClusterState c, long timeline) {
        return c.history().stream().anyMatch(h -> h.timeline() >= timeline);
    }

    /** The key's leader and voters: the members whose reports count in the race (Patroni's {@code members}). */
    private static List<String> voting(SyncState key) {
        List<String> out = new ArrayList<>();
        out.add(key.leader());
        out.addAll(key.syncStandbys());
        return out;
    }

    private static int quorumOf(SyncState key) {
        return key.quorum() == null ? 0 : key.quorum();
    }

    /**
     * The standbys that may be synchronous now, best first (as for priority mode, without the count
     * limit); one tagged {@code nofailover} only while fewer than {@code synchronous_node_count} others
     * are available, since it cannot be promoted and would only make the quorum harder to reach.
     */
    static List<String> active(String me, ClusterState c, PostgresStatus pg, DynamicConfig config) {
        List<String> all = SyncStandbys.eligible(me, c, pg, config);
        List<String> out = new ArrayList<>();
        for (String name : all) {
            if (c.member(name).map(m -> !m.noFailover()).orElse(false)) {
                out.add(name);
            }
        }
        for (String name : all) {
            if (out.size() >= config.synchronousNodeCount()) {
                break;
            }
            if (!out.contains(name)) {
                out.add(name);
            }
        }
        return out;
    }

    /** {@code ANY n (a,b)} with the names sorted; {@code *} for none when {@code n} >= 1; empty otherwise. */
    static String format(Collection<String> names, int num) {
        if (names.isEmpty()) {
            return num >= 1 ? SyncStandbys.ANY_STANDBY : "";
        }
        List<String> quoted = sorted(names).stream().map(SyncStandbys::quote).toList();
        return "ANY " + Math.max(1, num) + " (" + String.join(",", quoted) + ")";
    }

    /** Names as the members spell them (PostgreSQL matches standby names case-insensitively). */
    private static List<String> asMembers(Collection<String> names, ClusterState c) {
        List<String> out = new ArrayList<>();
        for (String n : names) {
            out.add(c.members().stream()
                    .map(m -> m.name())
                    .filter(m -> m.equalsIgnoreCase(n))
                    .findFirst()
                    .orElse(n));
        }
        return out;
    }

    private static List<String> sorted(Collection<String> names) {
        return new ArrayList<>(QuorumResolver.ci(names));
    }

    private static boolean containsIgnoreCase(Collection<String> names, String name) {
        for (String n : names) {
            if (n != null && n.equalsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }

    /** A parsed {@code synchronous_standby_names}: {@code ANY}/{@code FIRST}, the count and the names. */
    record Ssn(String value, boolean any, int num, Set<String> names) {

        static Ssn parse(String raw) {
            String v = raw == null ? "" : raw.trim();
            if (v.isEmpty()) {
                return new Ssn("", false, 0, Set.of());
            }
            Set<String> names = QuorumResolver.ci(SyncStandbys.namesAsWritten(v));
            String head =
                    v.contains("(") ? v.substring(0, v.indexOf('(')).trim().toUpperCase(Locale.ROOT) : "";
            boolean any = head.startsWith("ANY");
            int num = 1;
            String count = head.replace("ANY", "").replace("FIRST", "").trim();
            if (!count.isEmpty()) {
                try {
                    num = Integer.parseInt(count);
                } catch (NumberFormatException e) {
                    num = 1;
                }
            }
            return new Ssn(v, any, num, names);
        }

        boolean contains(String name) {
            return names.contains(name);
        }
    }
}
