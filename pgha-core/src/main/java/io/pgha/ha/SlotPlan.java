package io.pgha.ha;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.ClusterStatus;
import io.pgha.dcs.Member;
import io.pgha.dcs.Tags;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.ReplicationSlot;
import io.pgha.postgres.SlotChanges;
import io.pgha.postgres.SlotNames;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The replication slots of one member, decided from the cycle's inputs alone (the dynamic
 * configuration, the members, the {@code status} key, the local slots): which slots it wants, what
 * to drop, create and advance, which logical slots a replica copies from the primary, and which
 * positions the leader publishes. Patroni's rules (its {@code get_replication_slots} and
 * {@code SlotsHandler}), with one difference: a slot pgha does not manage is never dropped on a
 * primary (see {@link #plan}). Pure and stateless.
 *
 * <p>Wanted slots, when {@code postgresql.use_slots} is on:
 *
 * <ul>
 *   <li>member slots: on the leader, one per member that streams from it; on a replica, one per
 *       member that cascades from it (Patroni 3); with {@code member_slots_ttl} above 0 (the default,
 *       Patroni 4), every member that may lead keeps one for every other member, and the names of
 *       {@code status.retain_slots} too, so that after a failover the new primary holds WAL for the
 *       others. Members tagged {@code nostream} get none;
 *   <li>permanent slots ({@code slots}): physical ones on every member that may lead (not
 *       {@code nofailover}), logical ones on the leader and, for failover, on replicas that may lead
 *       and stream.
 * </ul>
 *
 * Slots a member wants but no member streams from here (a replica's copies, a cascading member's
 * slot on the leader) follow the leader's published positions with {@code pg_replication_slot_advance}.
 */
final class SlotPlan {

    private SlotPlan() {}

    /**
     * A slot this member wants.
     *
     * @param lsn where the leader (or the member that streams from it) says it is; 0 when unknown
     * @param expectedActive a member streams from it on this node, which moves it: never advanced here
     */
    record Wanted(String name, String type, String database, String plugin, long lsn, boolean expectedActive) {

        boolean isLogical() {
            return ReplicationSlot.LOGICAL.equals(type);
        }

        /** Whether {@code s} is this slot (a physical one by type alone; a logical one by database and plugin too). */
        boolean matches(ReplicationSlot s) {
            if (!type.equals(s.type())) {
                return false;
            }
            return !isLogical() || (database.equals(s.database()) && plugin.equals(s.plugin()));
        }

        SlotChanges.NewSlot toNew() {
            return new SlotChanges.NewSlot(name, type, database, plugin);
        }
    }

    /**
     * One cycle's slot decision.
     *
     * @param changes what the controller does to the local slots now
     * @param copy logical slots a replica copies from the primary (a restart), by name
     * @param publish the leader's slot positions for the {@code status} key (empty elsewhere)
     */
    record Plan(SlotChanges changes, Map<String, SlotChanges.NewSlot> copy, Map<String, Long> publish) {
        Plan {
            copy = Map.copyOf(copy);
            publish = Map.copyOf(publish);
        }
    }

    /** The slots {@code me} wants, by name (in a stable order). */
    static Map<String, Wanted> wanted(
            String me, Map<String, Object> myTags, boolean leader, ClusterState c, DynamicConfig cfg) {
        Map<String, Wanted> want = new LinkedHashMap<>();
        if (!cfg.useSlots()) {
            return want;
        }
        String mine = SlotNames.fromMemberName(me);
        boolean nofailover = Tags.noFailover(myTags);
        String leaderName = c.hasLeader() ? c.leader().name() : null;
        ClusterStatus status = c.status() == null ? ClusterStatus.EMPTY : c.status();
        Map<String, Long> published = status.slots();
        boolean everyMember = !cfg.memberSlotsTtl().isZero();
        for (Member m : c.members()) {
            if (m.name().equals(me) || Tags.isTrue(m.tags().get(Tags.NOSTREAM))) {
                continue;
            }
            String from = replicateFrom(m);
            boolean streamsHere = leader
                    ? from == null || from.equals(me) || c.member(from).isEmpty()
                    : me.equals(from) && !m.name().equals(leaderName);
            boolean include = everyMember ? !nofailover || me.equals(from) : streamsHere;
            if (!include) {
                continue;
            }
            String slot = SlotNames.fromMemberName(m.name());
            long lsn = published.getOrDefault(slot, 0L);
            if (from != null) {
                // the leader's copy of a cascading member's slot does not move by itself: follow the member
                lsn = Math.max(lsn, m.xlogLocation());
            }
            want.putIfAbsent(slot, new Wanted(slot, ReplicationSlot.PHYSICAL, null, null, lsn, streamsHere));
        }
        if (nofailover) {
            return want;
        }
        for (String slot : status.retainSlots()) {
            if (everyMember && SlotNames.isValid(slot) && !slot.equals(mine)) {
                want.putIfAbsent(
                        slot,
                        new Wanted(
                                slot, ReplicationSlot.PHYSICAL, null, null, published.getOrDefault(slot, 0L), false));
            }
        }
        boolean streams = !Tags.isTrue(myTags.get(Tags.NOSTREAM));
        for (Map.Entry<String, Object> e : new TreeMap<>(cfg.permanentSlots()).entrySet()) {
            String name = e.getKey();
            Wanted w = permanent(name, e.getValue(), published.getOrDefault(name, 0L), leader);
            if (w == null || !SlotNames.isValid(name) || want.containsKey(name)) {
                // an invalid definition, or a member's slot by that name already: the member's wins (Patroni)
                continue;
            }
            if (w.isLogical() ? leader || streams : !name.equals(mine)) {
                want.put(name, w);
            }
        }
        return want;
    }

    /** A permanent slot's definition as Patroni reads it; null when it is neither a physical nor a logical slot. */
    private static Wanted permanent(String name, Object value, long lsn, boolean leader) {
        if (value == null) {
            return new Wanted(name, ReplicationSlot.PHYSICAL, null, null, lsn, leader);
        }
        if (!(value instanceof Map<?, ?> m)) {
            return null;
        }
        String database = m.get("database") == null ? null : String.valueOf(m.get("database"));
        String plugin = m.get("plugin") == null ? null : String.valueOf(m.get("plugin"));
        boolean complete = database != null && !database.isEmpty() && plugin != null && !plugin.isEmpty();
        Object type = m.get("type");
        if (type == null) {
            type = complete ? ReplicationSlot.LOGICAL : ReplicationSlot.PHYSICAL;
        }
        if (ReplicationSlot.PHYSICAL.equals(type)) {
            return new Wanted(name, ReplicationSlot.PHYSICAL, null, null, lsn, leader);
        }
        if (ReplicationSlot.LOGICAL.equals(type) && complete) {
            return new Wanted(name, ReplicationSlot.LOGICAL, database, plugin, lsn, false);
        }
        return null;
    }

    /**
     * What to do with the local slots.
     *
     * <p>A slot that is not wanted is dropped only when pgha manages it (it created it, or took it
     * over as a member's or a permanent slot: a member gone, a permanent slot removed from the
     * configuration), never when it matches {@code ignore_slots}, and never in pause. A slot created
     * by hand survives on a primary; on a replica, a logical slot that is neither permanent nor
     * ignored is dropped as Patroni does (a former primary's leftover: PostgreSQL 15 cannot decode in
     * recovery, so nobody can use it there, while it pins WAL and, through hot_standby_feedback, the
     * primary's catalog). A wanted slot of another type, database or plugin is dropped and created
     * again (Patroni).
     *
     * @param leader this member holds the lock and runs as the primary
     */
    static Plan plan(
            String me,
            Map<String, Object> myTags,
            boolean leader,
            ClusterState c,
            DynamicConfig cfg,
            PostgresStatus pg) {
        Map<String, Wanted> want = wanted(me, myTags, leader, c, cfg);
        List<String> drop = new ArrayList<>();
        List<SlotChanges.NewSlot> create = new ArrayList<>();
        Map<String, Long> advance = new TreeMap<>();
        Set<String> claim = new LinkedHashSet<>();
        Map<String, SlotChanges.NewSlot> copy = new TreeMap<>();
        Map<String, Long> publish = new TreeMap<>();
        Set<String> present = new LinkedHashSet<>();
        boolean paused = cfg.isPaused();
        for (ReplicationSlot s : pg.slots()) {
            present.add(s.name());
            Wanted w = want.get(s.name());
            if (w == null) {
                boolean ours = s.managed() || (!leader && s.isLogical());
                if (ours && !paused && !s.active() && !ignored(cfg.ignoreSlots(), s)) {
                    drop.add(s.name());
                }
                continue;
            }
            if (!w.matches(s)) {
                if (!s.active()) {
                    drop.add(s.name()); // created again as configured in the next cycle
                }
                continue;
            }
            if (!s.managed()) {
                claim.add(s.name());
            }
            if (leader) {
                long at = s.isLogical() ? s.confirmedFlushLsn() : s.restartLsn();
                if (at > 0) {
                    publish.put(s.name(), at);
                }
            }
            long target = w.lsn();
            if (!w.isLogical()) {
                if (!w.expectedActive() && !s.active() && s.restartLsn() > 0 && target > s.restartLsn()) {
                    advance.put(s.name(), target);
                }
            } else if (!leader && target > 0) {
                // never past what this replica replayed (Patroni 4.0.5)
                long to = pg.replayLsn() > 0 ? Math.min(target, pg.replayLsn()) : target;
                if (s.confirmedFlushLsn() < to && !s.active()) {
                    advance.put(s.name(), to);
                }
            }
        }
        for (Wanted w : want.values()) {
            if (present.contains(w.name())) {
                continue;
            }
            if (!w.isLogical() || leader) {
                create.add(w.toNew());
            } else if (w.lsn() > 0) {
                // only a slot the leader publishes a position for: it exists there and has feedback
                copy.put(w.name(), w.toNew());
            }
        }
        if (leader && cfg.useSlots()) {
            // the leader's own position, for the replicas' copies of its slot (Patroni 4)
            publish.put(SlotNames.fromMemberName(me), pg.writeLsn());
        }
        return new Plan(new SlotChanges(drop, create, advance, claim), copy, publish);
    }

    /**
     * The member slot names the leader lists in {@code status.retain_slots}: those seen within
     * {@code member_slots_ttl} (Patroni 4), sorted; none when member_slots_ttl is 0.
     */
    static List<String> retained(Map<String, java.time.Instant> seen, java.time.Instant now, DynamicConfig cfg) {
        List<String> out = new ArrayList<>();
        if (cfg.memberSlotsTtl().isZero() || !cfg.useSlots()) {
            return out;
        }
        java.time.Instant since = now.minus(cfg.memberSlotsTtl());
        seen.forEach((name, at) -> {
            if (at.isAfter(since) && SlotNames.isValid(name)) {
                out.add(name);
            }
        });
        out.sort(null);
        return out;
    }

    /**
     * The positions a primary cut off from the DCS sends with its failsafe call (Patroni's
     * {@code slots} in {@code POST /failsafe}): its managed slots' and its own, as it publishes them.
     */
    static Map<String, Long> failsafePositions(String me, PostgresStatus pg) {
        Map<String, Long> out = new TreeMap<>();
        for (ReplicationSlot s : pg.slots()) {
            long at = s.isLogical() ? s.confirmedFlushLsn() : s.restartLsn();
            if (s.managed() && at > 0) {
                out.put(s.name(), at);
            }
        }
        out.put(SlotNames.fromMemberName(me), pg.writeLsn());
        return out;
    }

    /**
     * A replica while the DCS is down in failsafe mode: its managed slots follow the positions the
     * primary sent with its last failsafe call (Patroni keeps advancing them then, so that neither
     * pg_wal nor a logical consumer's copy falls behind). Nothing is created, dropped or copied.
     */
    static SlotChanges failsafeAdvance(PostgresStatus pg, Map<String, Long> sent) {
        Map<String, Long> advance = new TreeMap<>();
        for (ReplicationSlot s : pg.slots()) {
            Long target = sent.get(s.name());
            if (!s.managed() || s.active() || target == null) {
                continue;
            }
            if (s.isLogical()) {
                long to = pg.replayLsn() > 0 ? Math.min(target, pg.replayLsn()) : target;
                if (s.confirmedFlushLsn() < to) {
                    advance.put(s.name(), to);
                }
            } else if (s.restartLsn() > 0 && target > s.restartLsn()) {
                advance.put(s.name(), target);
            }
        }
        return new SlotChanges(List.of(), List.of(), advance, Set.of());
    }

    /** Patroni's {@code ignore_slots} matching: each attribute a matcher names must be the slot's. */
    static boolean ignored(List<Map<String, Object>> matchers, ReplicationSlot s) {
        for (Map<String, Object> m : matchers) {
            if (same(m.get("name"), s.name())
                    && same(m.get("type"), s.type())
                    && same(m.get("database"), s.database())
                    && same(m.get("plugin"), s.plugin())) {
                return true;
            }
        }
        return false;
    }

    private static boolean same(Object wanted, String actual) {
        return wanted == null || "".equals(wanted) || String.valueOf(wanted).equals(actual);
    }

    /**
     * Whether {@code hot_standby_feedback} must be on for this member: it may keep copies of
     * permanent logical slots, whose catalog rows the primary must not vacuum away (Patroni enforces
     * it likewise).
     */
    static boolean needsHotStandbyFeedback(DynamicConfig cfg, Map<String, Object> myTags) {
        if (!cfg.useSlots() || Tags.noFailover(myTags) || Tags.isTrue(myTags.get(Tags.NOSTREAM))) {
            return false;
        }
        for (Map.Entry<String, Object> e : cfg.permanentSlots().entrySet()) {
            Wanted w = permanent(e.getKey(), e.getValue(), 0, false);
            if (w != null && w.isLogical()) {
                return true;
            }
        }
        return false;
    }

    private static String replicateFrom(Member m) {
        Object v = m.tags().get("replicatefrom");
        return v == null || String.valueOf(v).isEmpty() ? null : String.valueOf(v);
    }
}
