package io.pgha.ha;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.Failover;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * One deterministic simulation run: the real {@link HaNode}s of a {@link SimCluster} (3 to 5
 * members) under a fault schedule drawn from a seed, a client writing to whichever node accepts
 * writes, and the invariants checked after every event (a cycle, a lock guard, a write, a WAL
 * shipment, a fault). The same seed gives the same run, event for event: one {@link Random}, a
 * simulated clock, no threads, no iteration over identity-hashed collections.
 *
 * <p>A run has four phases: bootstrap (every member starts, one leads, the others stream), faults
 * (a few overlapping faults, switchover and failover requests, members joining and leaving), heal
 * (every fault undone at once; then liveness and rejoin are measured) and the final check of
 * every acknowledged write against the final leader's history. docs/simulation.md describes the
 * model and the invariants. Single-threaded; not thread-safe.
 */
final class Simulation {

    /**
     * The time a leader has, after every fault healed, beyond ttl + loop_wait + the longest long
     * action to accept writes: a margin, never needed so far (the summary prints the largest use).
     */
    static final Duration LIVENESS_SLACK = Duration.ofSeconds(2);
    /** How long the client waits between writes. */
    static final Duration WRITE_EVERY = Duration.ofMillis(500);

    /** What one seed found. */
    record Result(
            long seed,
            String kind,
            int members,
            int faults,
            List<String> violations,
            Duration dualPrimaryMax,
            Duration dualPrimaryTotal,
            int writes,
            int asyncLost,
            int splitBrainLost,
            Duration liveness,
            Duration livenessBase,
            Duration rejoin,
            List<String> trace) {
        boolean failed() {
            return !violations.isEmpty();
        }
    }

    /** An acknowledged write: where it landed, and whether its node then held a valid lock. */
    private record Write(Instant at, String node, long timelineUid, long lsn, boolean authorized) {}

    /** A timed event of the schedule. */
    private record Event(Duration at, int order, String what, Runnable action, boolean fault) {}

    private final long seed;
    private final Random random;
    private final SimCluster sim;
    private final List<String> names = new ArrayList<>();
    private final List<String> left = new ArrayList<>();
    private final List<Write> writes = new ArrayList<>();
    private final List<String> violations = new ArrayList<>();
    private final Map<String, Boolean> reported = new LinkedHashMap<>();
    private final List<Event> schedule = new ArrayList<>();
    private final List<Event> pending = new ArrayList<>(); // heals due, relative to scheduleStart
    private Instant scheduleStart;
    private final boolean clean;
    private final Duration streamEvery;
    private final int maxActionMillis;
    private final Duration demoteGrace;
    private int faults;
    private int asyncLost;
    private int splitBrainLost;
    private int eventOrder;
    private Duration dualMax = Duration.ZERO;
    private Duration dualTotal = Duration.ZERO;
    private Instant dualSince;
    private Instant fencedSince;
    private Instant nextWrite;
    private Instant nextStream;
    private boolean clientOn = true;
    private String phase = "bootstrap";

    private Simulation(long seed, boolean trace, Map<String, Object> extraConfig, boolean fencing) {
        this.seed = seed;
        this.random = new Random(seed);
        int profile = random.nextInt(3);
        Map<String, Object> dyn = new LinkedHashMap<>();
        // loop_wait + 2 * retry_timeout <= ttl in each profile
        dyn.put("ttl", new int[] {10, 20, 30}[profile]);
        dyn.put("loop_wait", new int[] {2, 3, 10}[profile]);
        dyn.put("retry_timeout", new int[] {3, 5, 10}[profile]);
        dyn.put("postgresql", Map.of("use_pg_rewind", true, "use_slots", true));
        dyn.putAll(extraConfig); // e.g. synchronous_mode (SimSafetyTest); draws nothing from random
        this.sim = new SimCluster("sim", dyn);
        sim.setFencing(fencing);
        // long actions take up to 0 (synchronous), 1, 3 or 8 s, the loop cycling meanwhile
        int maxAction = new int[] {0, 1000, 3000, 8000}[random.nextInt(4)];
        this.maxActionMillis = maxAction;
        this.demoteGrace = Duration.ofMillis(maxAction);
        if (maxAction > 0) {
            sim.setActionDelays(new Random(random.nextLong()), maxAction);
        }
        sim.setTraceEnabled(trace);
        sim.net.setLagged(true);
        this.streamEvery = Duration.ofMillis(new int[] {250, 500, 1000, 2000}[random.nextInt(4)]);
        this.clean = random.nextInt(5) == 0;
        int members = 3 + random.nextInt(3);
        for (int i = 0; i < members; i++) {
            names.add("pg" + i);
        }
    }

    static Result run(long seed, boolean trace) {
        return new Simulation(seed, trace, Map.of(), false).run();
    }

    /** A run with more dynamic configuration (synchronous_mode, ...); the same seed draws the same schedule. */
    static Result run(long seed, boolean trace, Map<String, Object> extraConfig) {
        return new Simulation(seed, trace, extraConfig, false).run();
    }

    /** As {@link #run(long, boolean, Map)}, each agent with an out-of-process fence when {@code fencing}. */
    static Result run(long seed, boolean trace, Map<String, Object> extraConfig, boolean fencing) {
        return new Simulation(seed, trace, extraConfig, fencing).run();
    }

    private Result run() {
        Instant start = sim.clock.instant();
        nextWrite = start;
        nextStream = start;
        sim.note("seed " + seed + ": " + names.size() + " members, ttl "
                + sim.ttl().toSeconds() + " s, loop_wait "
                + sim.loopWait().toSeconds() + " s, long actions take up to " + maxActionMillis
                + " ms, WAL shipped every " + streamEvery.toMillis() + " ms, "
                + (clean
                        ? "clean schedule (switchovers, failovers, members joining and leaving; no faults)"
                        : "fault schedule"));
        names.forEach(sim::start);
        Duration ttl = sim.ttl();
        Duration loop = sim.loopWait();
        // 1. bootstrap
        if (!runUntil(this::settled, Duration.ofMinutes(2))) {
            violation("liveness", "the cluster did not bootstrap to one leader and streaming replicas in 120 s");
            return result(null, null);
        }
        // 2. faults
        phase = "faults";
        Instant faultStart = sim.clock.instant();
        Duration span = ttl.multipliedBy(3 + random.nextInt(4));
        int count = 2 + random.nextInt(5);
        for (int i = 0; i < count; i++) {
            Duration at = Duration.ofMillis((long) (random.nextDouble() * span.toMillis()));
            plan(at, clean);
        }
        schedule.sort(
                (a, b) -> a.at().equals(b.at()) ? Integer.compare(a.order(), b.order()) : a.at().compareTo(b.at()));
        // the heal comes at the end of the span, whatever is still broken then
        runSchedule(faultStart, faultStart.plus(span));
        // 3. heal everything at once
        phase = "heal";
        healAll();
        Instant healed = sim.clock.instant();
        // the lock of a leader lost just before the heal lapses (ttl), a cycle notices (loop_wait), and
        // the winner's promotion or start takes as long as a long action may
        Duration action = Duration.ofMillis(maxActionMillis);
        Duration livenessBound = ttl.plus(loop).plus(action).plus(LIVENESS_SLACK);
        Duration liveness = null;
        if (runUntil(() -> writableLeader() != null, livenessBound)) {
            liveness = Duration.between(healed, sim.clock.instant());
        } else {
            violation(
                    "liveness",
                    "no leader accepted writes within ttl + loop_wait + the longest action + "
                            + LIVENESS_SLACK.toSeconds() + " s (" + livenessBound.toMillis() + " ms) of healing");
            runUntil(() -> writableLeader() != null, ttl.multipliedBy(3));
        }
        Duration rejoin = null;
        Instant live = sim.clock.instant();
        Duration rejoinBound = ttl.plus(loop.multipliedBy(4)).plus(action.multipliedBy(3));
        if (writableLeader() != null) {
            if (runUntil(this::allRejoined, rejoinBound)) {
                rejoin = Duration.between(live, sim.clock.instant());
            } else {
                violation(
                        "rejoin",
                        "not every member streams from the leader on its timeline within ttl + 4 * loop_wait"
                                + " + 3 * the longest action (" + rejoinBound.toMillis()
                                + " ms) of a leader accepting writes: "
                                + rejoinState());
            }
        }
        // 4. every acknowledged write against the final leader's history
        phase = "final";
        clientOn = false;
        runFor(loop.multipliedBy(2));
        checkWrites();
        return result(liveness, rejoin);
    }

    private Result result(Duration liveness, Duration rejoin) {
        closeDualWindow(sim.clock.instant());
        return new Result(
                seed,
                clean ? "clean" : "faults",
                names.size(),
                faults,
                List.copyOf(violations),
                dualMax,
                dualTotal,
                writes.size(),
                asyncLost,
                splitBrainLost,
                liveness,
                sim.ttl().plus(sim.loopWait()).plusMillis(maxActionMillis),
                rejoin,
                sim.trace());
    }

    // ---- the schedule -------------------------------------------------------------------------------

    private void plan(Duration at, boolean cleanOnly) {
        Duration ttl = sim.ttl();
        int kind = cleanOnly ? 8 + random.nextInt(4) : random.nextInt(12);
        Duration d = Duration.ofMillis(
                1000 + (long) (random.nextDouble() * ttl.multipliedBy(3).toMillis()));
        long pick = random.nextLong();
        long pick2 = random.nextLong();
        switch (kind) {
            case 0 ->
                fault(at, "kill agent", pick, n -> {
                    sim.killAgent(n);
                    later(d, "restart agent " + n, () -> restart(n));
                });
            case 1 ->
                // half on a host that stays up (its ports refuse: the confirmed-crash takeover), half
                // with the host (its ports time out: the ttl); decided by a draw made anyway
                fault(at, (pick2 & 1) == 0 ? "kill node" : "lose host", pick, n -> {
                    if ((pick2 & 1) == 0) {
                        sim.killNode(n);
                    } else {
                        sim.loseHost(n);
                    }
                    later(d, "restart node " + n, () -> restart(n));
                });
            case 2 ->
                fault(at, "kill postgres", pick, n -> {
                    sim.pg(n).crash();
                });
            case 3, 4 -> {
                // on resume, the frozen lock guard and the loop race: either may run first
                boolean guardFirst = random.nextBoolean();
                // a pause past the ttl (the dangerous one) or a short one
                Duration p = random.nextBoolean()
                        ? ttl.plusMillis(1000 + (long) (random.nextDouble() * ttl.toMillis() * 2))
                        : Duration.ofMillis(500 + (long) (random.nextDouble() * ttl.toMillis() / 2));
                fault(at, "pause agent for " + p.toMillis() + " ms", pick, n -> {
                    sim.pause(n);
                    later(p, "resume agent " + n, () -> sim.resume(n, guardFirst));
                });
            }
            case 5 ->
                fault(at, "cut off from the DCS", pick, n -> {
                    sim.store.partition(n, true);
                    later(d, "reconnect " + n + " to the DCS", () -> sim.store.partition(n, false));
                });
            case 6 ->
                fault(at, "cut links", pick, n -> {
                    String other = pickOther(n, pick2);
                    if (other != null) {
                        sim.cutLink(n, other, true);
                        later(d, "heal link", () -> sim.cutLink(n, other, false));
                    }
                });
            case 7 ->
                event(at, "DCS down for " + d.toMillis() + " ms", () -> {
                    sim.store.setAvailable(false);
                    later(d, "DCS up", () -> sim.store.setAvailable(true));
                });
            case 8 -> event(at, "switchover request", () -> requestFailover(true, pick2));
            case 9 -> event(at, "failover request", () -> requestFailover(false, pick2));
            case 10 -> event(at, "member joins", this::join);
            default -> fault(at, "member leaves", pick, this::leave);
        }
        faults++;
    }

    private interface NodeFault {
        void apply(String node);
    }

    /** A fault on one member: the leader half of the time, else any member still in the cluster. */
    private void fault(Duration at, String what, long pick, NodeFault f) {
        schedule.add(new Event(
                at,
                eventOrder++,
                what,
                () -> {
                    String target = target(pick);
                    if (target != null) {
                        sim.note("FAULT " + what + ": " + target);
                        f.apply(target);
                    }
                },
                true));
    }

    private void event(Duration at, String what, Runnable action) {
        schedule.add(new Event(
                at,
                eventOrder++,
                what,
                () -> {
                    sim.note("FAULT " + what);
                    action.run();
                },
                true));
    }

    /** A heal, due {@code d} after now. */
    private void later(Duration d, String what, Runnable action) {
        Duration at = Duration.between(scheduleStart, sim.clock.instant()).plus(d);
        pending.add(new Event(
                at,
                eventOrder++,
                what,
                () -> {
                    sim.note("HEAL " + what);
                    action.run();
                },
                false));
    }

    private String target(long pick) {
        List<String> in = present();
        if (in.isEmpty()) {
            return null;
        }
        // the primary (as an omniscient injector sees it), else the DCS leader
        List<String> primaries = sim.primaries();
        String leader = primaries.isEmpty() ? sim.leader() : primaries.get(0);
        if ((pick & 1) == 0 && leader != null && in.contains(leader)) {
            return leader;
        }
        return in.get((int) Math.floorMod(pick >> 1, (long) in.size()));
    }

    private String pickOther(String n, long pick) {
        List<String> in = new ArrayList<>(present());
        in.remove(n);
        return in.isEmpty() ? null : in.get((int) Math.floorMod(pick, (long) in.size()));
    }

    /** Members that have not left. */
    private List<String> present() {
        List<String> in = new ArrayList<>(names);
        in.removeAll(left);
        return in;
    }

    private void restart(String n) {
        if (!left.contains(n) && sim.agent(n) == null) {
            sim.start(n);
        }
    }

    private void join() {
        if (names.size() >= 5) {
            sim.note("(no room for another member)");
            return;
        }
        String n = "pg" + names.size();
        names.add(n);
        sim.start(n);
    }

    private void leave(String n) {
        if (present().size() <= 2) {
            sim.note("(too few members for one to leave)");
            return;
        }
        if (clean && sim.pg(n).isRunningPrimary()) {
            // the primary's clean shutdown loses the writes no replica received yet when none streams
            // (as with Patroni, under async replication): a fault, so not in a schedule without faults
            List<String> others = new ArrayList<>(present());
            others.removeIf(o -> sim.pg(o).isRunningPrimary());
            if (others.isEmpty()) {
                return;
            }
            n = others.get(0);
            sim.note("(a replica leaves instead: " + n + ")");
        }
        sim.stopNode(n);
        left.add(n);
    }

    /** What POST /switchover or /failover writes: {leader, member} or {member}. */
    private void requestFailover(boolean switchover, long pick) {
        String leader = sim.leader();
        List<String> candidates = new ArrayList<>(present());
        candidates.remove(leader);
        String member = candidates.isEmpty() || (switchover && (pick & 1) == 0)
                ? null
                : candidates.get((int) Math.floorMod(pick >> 1, (long) candidates.size()));
        if (switchover && leader == null) {
            sim.note("(no leader: the API rejects the switchover)");
            return;
        }
        if (!switchover && member == null) {
            sim.note("(no candidate: the API rejects the failover)");
            return;
        }
        try {
            // a third of the switchovers are scheduled (Patroni's scheduled_at), up to two ttl ahead
            Instant at = switchover && Math.floorMod(pick >> 8, 3L) == 0
                    ? sim.clock
                            .instant()
                            .plusMillis(Math.floorMod(
                                    pick >> 16, sim.ttl().multipliedBy(2).toMillis()))
                    : null;
            Failover f = Failover.of(switchover ? leader : null, member, at);
            sim.observer().writeFailover(f, Dcs.ANY);
            sim.note("wrote failover key " + f.toJson());
        } catch (DcsException e) {
            sim.note("(the API could not write the failover key: " + e.getMessage() + ")");
        }
    }

    private void healAll() {
        sim.note("HEAL everything");
        pending.clear();
        sim.store.setAvailable(true);
        for (String n : names) {
            sim.store.partition(n, false);
            for (String m : names) {
                if (n.compareTo(m) < 0) {
                    sim.net.cut(n, m, false);
                    sim.cutLink(n, m, false);
                }
            }
            if (sim.isPaused(n)) {
                sim.resume(n, (seed & 1) == 0);
            }
            restart(n);
        }
    }

    // ---- the event loop ----------------------------------------------------------------------------

    private void runSchedule(Instant from, Instant until) {
        scheduleStart = from;
        int next = 0;
        while (sim.clock.instant().isBefore(until)) {
            Instant fault =
                    next < schedule.size() ? from.plus(schedule.get(next).at()) : null;
            Event heal = earliestPending();
            Instant healAt = heal == null ? null : from.plus(heal.at());
            Instant t = earliest(earliest(fault, healAt), earliest(nextTick(), until));
            if (fault != null && !fault.isAfter(t)) {
                advance(fault);
                schedule.get(next++).action().run();
                check();
            } else if (healAt != null && !healAt.isAfter(t)) {
                advance(healAt);
                pending.remove(heal);
                heal.action().run();
                check();
            } else if (t.equals(until)) {
                advance(until);
            } else {
                tick();
            }
        }
    }

    private Event earliestPending() {
        Event best = null;
        for (Event e : pending) {
            int c = best == null ? -1 : e.at().compareTo(best.at());
            if (c < 0 || (c == 0 && e.order() < best.order())) {
                best = e;
            }
        }
        return best;
    }

    private Instant nextTick() {
        Instant t = earliest(sim.nextDue(), nextStream);
        return clientOn ? earliest(t, nextWrite) : t;
    }

    /** Runs the earliest of: a due cycle or lock guard, a WAL shipment, a client write. */
    private void tick() {
        Instant due = sim.nextDue();
        Instant t = nextTick();
        advance(t);
        if (due != null && !due.isAfter(t)) {
            sim.runDue();
        } else if (!nextStream.isAfter(t)) {
            sim.net.stream();
            nextStream = t.plus(streamEvery);
        } else {
            write();
            nextWrite = t.plus(WRITE_EVERY);
        }
        check();
    }

    private boolean runUntil(java.util.function.BooleanSupplier condition, Duration limit) {
        Instant end = sim.clock.instant().plus(limit);
        while (true) {
            if (condition.getAsBoolean()) {
                return true;
            }
            if (!nextTick().isBefore(end)) {
                advance(end);
                return condition.getAsBoolean();
            }
            tick();
        }
    }

    private void runFor(Duration span) {
        Instant end = sim.clock.instant().plus(span);
        while (nextTick().isBefore(end)) {
            tick();
        }
        advance(end);
    }

    /** Moves the clock, accounting the time that passed in the state of the last check. */
    private void advance(Instant t) {
        if (t.isAfter(sim.clock.instant())) {
            sim.clock.set(t);
        }
    }

    private static Instant earliest(Instant a, Instant b) {
        if (a == null) {
            return b;
        }
        return b == null || a.isBefore(b) ? a : b;
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    // ---- the client ---------------------------------------------------------------------------------

    /** Writes to every node that accepts writes, in name order, and records each acknowledgement. */
    private void write() {
        for (String n : names) {
            SimulatedPostgres pg = sim.pg(n);
            if (pg.write(100)) {
                writes.add(new Write(sim.clock.instant(), n, pg.timelineUid(), pg.lsn(), believesLock(n)));
            }
        }
    }

    // ---- the invariants -----------------------------------------------------------------------------

    /** Whether the agent of {@code n} (running or paused) holds a lock it proved within the ttl. */
    private boolean believesLock(String n) {
        HaNode a = sim.agent(n);
        if (a == null) {
            return false;
        }
        Instant until = a.lockValidUntil();
        return until != null && sim.clock.instant().isBefore(until);
    }

    /** Checked after every event. */
    private void check() {
        Instant now = sim.clock.instant();
        List<String> primaries = new ArrayList<>(sim.primaries());
        // a primary fenced by a candidate takes writes but acknowledges none (issue 16 point 2)
        primaries.removeIf(p -> sim.pg(p).isFenced());
        // invariant 1: two nodes that believe they hold the lock, both accepting writes
        List<String> believers = new ArrayList<>();
        for (String p : primaries) {
            if (believesLock(p)) {
                believers.add(p);
            }
        }
        if (believers.size() > 1) {
            violation("1", "two nodes believe they hold the leader lock and accept writes: " + believers);
        }
        // invariant 2: two PostgreSQL primaries accepting writes; measured, and a violation only when
        // every one of them has a running, unpaused agent (whose lock guard works)
        if (primaries.size() > 1) {
            boolean fenced = true;
            for (String p : primaries) {
                fenced &= sim.isRunning(p);
            }
            if (dualSince == null) {
                dualSince = now;
            }
            if (clean && now.isAfter(dualSince)) {
                violation("2", "two primaries accept writes in a schedule without faults: " + primaries);
            }
            if (!fenced) {
                fencedSince = null;
            } else if (fencedSince == null) {
                fencedSince = now;
            } else if (Duration.between(fencedSince, now).compareTo(demoteGrace) > 0) {
                // an agent back from a pause (or restarted) demotes in its first cycle: the stop may
                // take as long as a long action does, no longer
                violation(
                        "2",
                        "two primaries accept writes although the agent of each has run for "
                                + Duration.between(fencedSince, now).toMillis() + " ms: " + primaries + " since "
                                + fencedSince);
            }
        } else {
            closeDualWindow(now);
            fencedSince = null;
        }
    }

    private void closeDualWindow(Instant now) {
        if (dualSince != null) {
            Duration w = Duration.between(dualSince, now);
            dualTotal = dualTotal.plus(w);
            dualMax = max(dualMax, w);
            if (!w.isZero()) {
                sim.note(
                        "two primaries accepted writes for " + w.toMillis() + " ms (an agent paused or dead past ttl)");
            }
            dualSince = null;
        }
    }

    private void violation(String invariant, String what) {
        if (reported.putIfAbsent(invariant, true) == null) {
            String line = "invariant " + invariant + " fails at " + sim.clock.instant() + " (" + phase + "): " + what;
            violations.add(line);
            sim.note("VIOLATION " + line);
        }
    }

    /** The node whose agent holds the DCS leader key, believes it, and whose PostgreSQL accepts writes. */
    private String writableLeader() {
        String l;
        try {
            ClusterState c = sim.observer().read();
            l = c.hasLeader() ? c.leader().name() : null;
        } catch (DcsException e) {
            return null;
        }
        return l != null && sim.isRunning(l) && believesLock(l) && sim.pg(l).isRunningPrimary() ? l : null;
    }

    private boolean settled() {
        return writableLeader() != null && allRejoined();
    }

    /** Every present member with an agent streams from the leader, on the leader's timeline. */
    private boolean allRejoined() {
        String l = writableLeader();
        if (l == null) {
            return false;
        }
        SimulatedPostgres leader = sim.pg(l);
        for (String n : present()) {
            if (n.equals(l)) {
                continue;
            }
            SimulatedPostgres pg = sim.pg(n);
            if (!sim.isStreamingReplica(n)
                    || !l.equals(pg.upstream())
                    || pg.timelineId() != leader.timelineId()
                    || !pg.isPrefixOf(leader)) {
                return false;
            }
        }
        return true;
    }

    private String rejoinState() {
        StringBuilder b = new StringBuilder();
        for (String n : present()) {
            b.append(n)
                    .append(" [")
                    .append(sim.pg(n).describeHistory())
                    .append(", upstream ")
                    .append(sim.pg(n).upstream())
                    .append(sim.isRunning(n) ? "" : ", no agent")
                    .append("] ");
        }
        return b.toString().trim();
    }

    /**
     * Invariant 3: counts the acknowledged writes missing from the final leader's history, as async
     * losses (written under a valid lock) and split-brain losses (written on a primary whose agent no
     * longer held a valid lock); any lost write in a schedule without faults is a violation.
     */
    private void checkWrites() {
        String l = writableLeader();
        if (l == null) {
            return;
        }
        SimulatedPostgres leader = sim.pg(l);
        int async = 0;
        int split = 0;
        Write firstLost = null;
        for (Write w : writes) {
            if (leader.contains(w.timelineUid(), w.lsn())) {
                continue;
            }
            if (firstLost == null) {
                firstLost = w;
            }
            if (w.authorized()) {
                async++;
            } else {
                split++;
            }
        }
        if (firstLost != null) {
            sim.note("lost " + (async + split) + " acknowledged writes (" + async + " under a valid lock, " + split
                    + " without one); the first: " + firstLost + "; final leader " + l + " ["
                    + leader.describeHistory() + "]");
            if (clean) {
                violation(
                        "3",
                        "a schedule without faults lost " + (async + split) + " acknowledged writes, the first "
                                + firstLost);
            }
        }
        asyncLost = async;
        splitBrainLost = split;
    }
}
