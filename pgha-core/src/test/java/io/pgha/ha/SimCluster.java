package io.pgha.ha;

import io.pgha.config.NodeConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.InMemoryDcs;
import io.pgha.dcs.Member;
import io.pgha.postgres.PostgresStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

/**
 * Several real {@link HaNode}s over one {@link InMemoryDcs.Store} and {@link SimulatedPostgres}
 * instances, driven in simulated time: no threads race, no sleeps. Each node runs its cycle every
 * loop_wait (or sooner when its decision asks), and a change of the leader key wakes the others at
 * once, as a DCS watch does. Long actions run synchronously. Single-threaded; not thread-safe.
 */
public final class SimCluster {
    public final SimClock clock = new SimClock(Instant.parse("2026-01-01T00:00:00Z"));
    public final InMemoryDcs.Store store = new InMemoryDcs.Store(clock);
    public final SimulatedPostgres.Network net = new SimulatedPostgres.Network();
    public final String scope;
    private final Map<String, Object> dynamic;
    private final Map<String, HaNode> nodes = new LinkedHashMap<>();
    private final Map<String, Map<String, Object>> tags = new LinkedHashMap<>();
    private final Map<String, Instant> nextRun = new LinkedHashMap<>();
    private final Set<String> unreachableApi = ConcurrentHashMap.newKeySet();
    private final Set<String> restCut = new java.util.TreeSet<>();
    // hosts that are down (a node lost with its host): their ports time out instead of refusing
    private final Set<String> hostDown = new java.util.TreeSet<>();
    // when each running agent's LeaderWatch looks at its leader's ports next (every 500 ms)
    private final Map<String, Instant> nextWatch = new LinkedHashMap<>();
    private final Map<String, HaNode> paused = new LinkedHashMap<>();
    /** Each node's saved failsafe promise (its state directory), kept across restarts of its agent. */
    private final Map<String, FailsafePromise> promises = new LinkedHashMap<>();

    private final Set<String> guardAfterCycle = new java.util.TreeSet<>();
    // the out-of-process fences (issue 9), by member, when enabled: they outlive paused and killed agents
    private final Map<String, SimFence> fences = new java.util.TreeMap<>();
    private boolean fencing;
    private final List<String> trace = new ArrayList<>();
    private boolean traceEnabled = true;
    private long watchedRevision = -1;
    private String watchedLeader;
    private java.util.Random actionDelays;
    private int maxActionDelayMillis;
    private long actionSeq;
    private final List<PendingAction> pendingActions = new ArrayList<>();

    /** A long action (promote, demote, start, rewind, ...) that completes at a later instant. */
    private record PendingAction(Instant at, long seq, String node, Runnable task) {}

    private final Dcs observer;

    public SimCluster(String scope, Map<String, Object> dynamicConfig) {
        this.scope = scope;
        this.dynamic = new LinkedHashMap<>(dynamicConfig);
        this.observer = store.connect("/service/", scope, "observer", Duration.ofDays(365));
    }

    /** ttl 10, loop_wait 2, retry_timeout 3: short test timings. */
    public static SimCluster withDefaults(String scope) {
        return new SimCluster(scope, Map.of("ttl", 10, "loop_wait", 2, "retry_timeout", 3));
    }

    public Duration ttl() {
        return Duration.ofSeconds(((Number) dynamic.get("ttl")).longValue());
    }

    public Duration loopWait() {
        return Duration.ofSeconds(((Number) dynamic.get("loop_wait")).longValue());
    }

    /** Starts (or restarts) the agent of {@code name}; its PostgreSQL keeps whatever data it had. */
    public HaNode start(String name, Map<String, Object> memberTags) {
        tags.put(name, memberTags);
        NodeConfig cfg = NodeConfig.builder(scope, name)
                .tags(memberTags)
                .apiUrl("http://" + name + ":8008/patroni")
                .connUrl("postgres://" + name + ":5432/postgres")
                .bootstrapDcs(dynamic)
                .build();
        Dcs dcs = store.connect("/service/", scope, name, ttl());
        HaNode node = HaNode.builder()
                .config(cfg)
                .dcs(dcs)
                .postgres(net.node(name))
                .clock(clock)
                .peerProbe((members, timeout) -> probe(name, members))
                .endpointProbe((host, port, timeout) -> reach(name, host, port))
                .failsafeProbe((members, body, timeout) -> failsafeCall(name, members.keySet(), body))
                .actionExecutor(actionDelays == null ? Runnable::run : task -> deferAction(name, task))
                .eventExecutor(Runnable::run)
                .lockGuard(false)
                .fence(fencing ? newFence(name) : Fence.NONE)
                // the failsafe promise is on the node's disk: it outlives the agent (kill, restart)
                .failsafePromise(promises.computeIfAbsent(name, n -> FailsafePromise.inMemory()))
                .build();
        nodes.put(name, node);
        nextRun.put(name, clock.instant());
        nextWatch.put(name, clock.instant().plus(LeaderWatch.INTERVAL));
        hostDown.remove(name); // a node started again runs on a host that is up
        return node;
    }

    /** A (re)started agent starts a new fence process; the previous one ended with its agent. */
    private SimFence newFence(String name) {
        SimFence f = new SimFence(clock);
        fences.put(name, f);
        return f;
    }

    /** Gives every agent started from now on an out-of-process fence ({@link SimFence}). */
    public void setFencing(boolean enabled) {
        fencing = enabled;
    }

    public HaNode start(String name) {
        return start(name, Map.of());
    }

    /** The agent dies (kill -9): no more cycles, its DCS session lapses after ttl. PostgreSQL runs on. */
    public void killAgent(String name) {
        // an action the dead agent had not carried out yet dies with it
        pendingActions.removeIf(p -> p.node().equals(name));
        guardAfterCycle.remove(name);
        nodes.remove(name);
        paused.remove(name);
        nextRun.remove(name);
        nextWatch.remove(name);
        trace("kill agent " + name);
        if (fences.containsKey(name)) {
            fences.get(name).agentDied();
        }
    }

    /**
     * The agent freezes (a GC pause, SIGSTOP): no cycles, no lock guard, no REST answers; its
     * PostgreSQL runs on and its DCS session ages. {@link #resume} thaws it with its in-memory
     * state as it was, and its next cycle runs at once.
     */
    public void pause(String name) {
        HaNode n = nodes.remove(name);
        if (n != null) {
            paused.put(name, n);
            nextRun.remove(name);
            nextWatch.remove(name);
            trace("pause agent " + name);
        }
    }

    public void resume(String name) {
        resume(name, true);
    }

    /**
     * Thaws a paused agent. A thawed JVM runs its overdue lock guard and its HA loop at once, in an
     * order nobody controls: {@code guardFirst} picks it (false: the loop's first cycle, with its
     * stale in-memory state, runs before the guard may fire).
     */
    public void resume(String name, boolean guardFirst) {
        HaNode n = paused.remove(name);
        if (n != null) {
            nodes.put(name, n);
            nextRun.put(name, clock.instant());
            nextWatch.put(name, clock.instant());
            if (!guardFirst) {
                guardAfterCycle.add(name);
            }
            trace("resume agent " + name + " (lock proven until " + n.lockValidUntil() + ", "
                    + (guardFirst ? "its lock guard" : "its HA loop") + " runs first)");
        }
    }

    public boolean isPaused(String name) {
        return paused.containsKey(name);
    }

    /** A live agent (not killed, stopped or paused) runs for {@code name}. */
    public boolean isRunning(String name) {
        return nodes.containsKey(name);
    }

    /** The agent of {@code name}, running or paused; null when killed or stopped. */
    public HaNode agent(String name) {
        HaNode n = nodes.get(name);
        return n != null ? n : paused.get(name);
    }

    /** Cuts (or heals) both replication and REST between two members. */
    public void cutLink(String a, String b, boolean isCut) {
        net.cut(a, b, isCut);
        String key = a.compareTo(b) < 0 ? a + "|" + b : b + "|" + a;
        if (isCut) {
            restCut.add(key);
        } else {
            restCut.remove(key);
        }
        trace((isCut ? "cut" : "heal") + " link " + a + " <-> " + b);
    }

    /**
     * Makes long actions take time: each completes between 1 ms and {@code maxMillis} after it
     * starts, as drawn from {@code random}, while the node's loop keeps cycling (and renewing its
     * lock) meanwhile, as HaNode's action thread allows. Applies to agents started from now on;
     * by default long actions run synchronously inside the cycle.
     */
    public void setActionDelays(java.util.Random random, int maxMillis) {
        this.actionDelays = random;
        this.maxActionDelayMillis = maxMillis;
    }

    private void deferAction(String node, Runnable task) {
        Instant at = clock.instant().plusMillis(1 + actionDelays.nextInt(maxActionDelayMillis));
        pendingActions.add(new PendingAction(at, actionSeq++, node, task));
    }

    /** The next long action due to complete, of an agent that runs (a paused one's wait). */
    private PendingAction nextAction() {
        PendingAction best = null;
        for (PendingAction p : pendingActions) {
            if (nodes.containsKey(p.node())
                    && (best == null
                            || p.at().isBefore(best.at())
                            || (p.at().equals(best.at()) && p.seq() < best.seq()))) {
                best = p;
            }
        }
        return best;
    }

    /** Records an event of the test (a fault, a heal, a check) in the trace. */
    public void note(String event) {
        trace(event);
    }

    /** Turns the trace off (a large simulation that will replay a failing seed with it on). */
    public void setTraceEnabled(boolean enabled) {
        traceEnabled = enabled;
    }

    /**
     * The agent and its postmaster die together on a host that stays up (kill -9, the OOM killer):
     * their ports refuse connections.
     */
    public void killNode(String name) {
        killAgent(name);
        net.node(name).crash();
    }

    /**
     * The node is lost with its host (power, kernel panic): agent and postmaster gone, and nothing
     * answers on its ports (connections time out) until it is started again.
     */
    public void loseHost(String name) {
        killNode(name);
        hostDown.add(name);
        trace("host of " + name + " down: its ports do not answer");
    }

    /** A clean shutdown of the agent (SIGTERM): PostgreSQL stops and a leader releases its lock. */
    public void stopNode(String name) {
        HaNode n = nodes.remove(name);
        if (n == null) {
            n = paused.remove(name);
        }
        nextRun.remove(name);
        nextWatch.remove(name);
        // a clean shutdown waits for the action in progress
        for (PendingAction p : new ArrayList<>(pendingActions)) {
            if (p.node().equals(name)) {
                pendingActions.remove(p);
                p.task().run();
            }
        }
        if (n != null) {
            n.close();
        }
        trace("stop node " + name);
    }

    public void setApiReachable(String name, boolean reachable) {
        if (reachable) {
            unreachableApi.remove(name);
        } else {
            unreachableApi.add(name);
        }
    }

    public HaNode node(String name) {
        return nodes.get(name);
    }

    public SimulatedPostgres pg(String name) {
        return net.node(name);
    }

    /** The cluster as the DCS holds it now. */
    public ClusterState cluster() {
        try {
            return observer.read();
        } catch (DcsException e) {
            throw new IllegalStateException(e);
        }
    }

    public Dcs observer() {
        return observer;
    }

    /** The member holding the leader key, or null when there is none or the DCS cannot be read. */
    public String leader() {
        return leaderOrNull();
    }

    /**
     * When the next thing happens: a node's cycle, or the instant a primary's lock guard would fence
     * (its proven lock expiry minus the safety margin); null when no agent runs.
     */
    public Instant nextDue() {
        watch(null);
        Instant at = null;
        for (Instant t : nextRun.values()) {
            if (at == null || t.isBefore(at)) {
                at = t;
            }
        }
        for (Map.Entry<String, HaNode> e : nodes.entrySet()) {
            Instant g = guardDeadline(e.getValue());
            if (g != null && (at == null || g.isBefore(at))) {
                at = g;
            }
        }
        for (Map.Entry<String, SimFence> e : fences.entrySet()) {
            Instant f = e.getValue().deadline();
            if (f != null && net.node(e.getKey()).isRunningPrimary() && (at == null || f.isBefore(at))) {
                at = f;
            }
        }
        PendingAction a = nextAction();
        if (a != null && (at == null || a.at().isBefore(at))) {
            at = a.at();
        }
        for (Instant w : nextWatch.values()) {
            if (at == null || w.isBefore(at)) {
                at = w;
            }
        }
        return at;
    }

    /**
     * The lock guard of HaNode, in simulated time: armed while the node has proven the lock and the
     * cluster is not paused, it fires at the proven expiry minus the safety margin unless a renewal
     * came first. Null when not armed, or when it has nothing left to fence.
     */
    private Instant guardDeadline(HaNode n) {
        if (guardAfterCycle.contains(n.name())) {
            return null;
        }
        Instant until = n.lockValidUntil();
        if (until == null || n.state().isPaused() || !net.node(n.name()).isRunningPrimary()) {
            return null;
        }
        return until.minus(HaEngine.safetyMargin(n.state().config()));
    }

    /** Runs the next due cycle (or lock guard): moves the clock to it, runs it, schedules the next. */
    public void step() {
        Instant at = nextDue();
        if (at == null) {
            clock.advance(Duration.ofSeconds(1));
            return;
        }
        clock.set(at);
        runDue();
    }

    /** Runs what is due at the clock's instant: fired lock guards first, then one due cycle. */
    public void runDue() {
        Instant now = clock.instant();
        for (Map.Entry<String, SimFence> e : fences.entrySet()) {
            Instant f = e.getValue().deadline();
            if (f != null && !f.isAfter(now) && net.node(e.getKey()).isRunningPrimary()) {
                trace(e.getKey() + ": the fence fires (deadline " + f + "): immediate stop of PostgreSQL");
                net.node(e.getKey()).stop(io.pgha.postgres.StopMode.IMMEDIATE, false, Duration.ZERO);
                e.getValue().disarm();
            }
        }
        for (Map.Entry<String, HaNode> e : nodes.entrySet()) {
            Instant g = guardDeadline(e.getValue());
            if (g != null && !g.isAfter(now)) {
                trace(e.getKey() + ": lock guard fires (lock proven until "
                        + e.getValue().lockValidUntil() + "): stopping PostgreSQL");
                e.getValue().fence();
            }
        }
        for (Map.Entry<String, Instant> e : nextWatch.entrySet()) {
            if (e.getValue().isAfter(now)) {
                continue;
            }
            e.setValue(now.plus(LeaderWatch.INTERVAL));
            HaNode n = nodes.get(e.getKey());
            if (n != null && n.checkLeader()) {
                // the watch's thread wakes the loop
                Instant soon = now.plusMillis(10);
                if (nextRun.containsKey(e.getKey()) && nextRun.get(e.getKey()).isAfter(soon)) {
                    nextRun.put(e.getKey(), soon);
                    trace(e.getKey() + ": the leader's REST API and PostgreSQL ports refuse connections");
                }
            }
        }
        PendingAction action = nextAction();
        if (action != null && !action.at().isAfter(now)) {
            pendingActions.remove(action);
            action.task().run();
            trace(action.node() + ": long action done");
            // HaNode wakes its loop when an action ends
            Instant soon = now.plusMillis(10);
            if (nextRun.containsKey(action.node()) && nextRun.get(action.node()).isAfter(soon)) {
                nextRun.put(action.node(), soon);
            }
            return;
        }
        String due = null;
        Instant at = null;
        for (Map.Entry<String, Instant> e : nextRun.entrySet()) {
            if (!e.getValue().isAfter(now) && (at == null || e.getValue().isBefore(at))) {
                at = e.getValue();
                due = e.getKey();
            }
        }
        if (due == null) {
            return;
        }
        Decision d = nodes.get(due).runCycle();
        guardAfterCycle.remove(due);
        if (traceEnabled) {
            trace(due + ": "
                    + (d == null ? "(no decision)" : d.reason() + (d.actions().isEmpty() ? "" : " " + d.actions())));
        }
        Duration wait = loopWait();
        if (d != null && d.wakeWithin() != null && d.wakeWithin().compareTo(wait) < 0) {
            wait = d.wakeWithin().isNegative() || d.wakeWithin().isZero() ? Duration.ofMillis(100) : d.wakeWithin();
        }
        if (nextRun.containsKey(due)) {
            nextRun.put(due, clock.instant().plus(wait).plusMillis(1));
        }
        watch(due);
    }

    /**
     * The DCS watch: a change of the leader key, however it came (a cycle, a lapsed session, a
     * clean shutdown, a test's write), wakes every running agent but {@code except} 10 ms later.
     * A store that cannot be read reports no change, as a watch on an unreachable store does not.
     */
    private void watch(String except) {
        long revision = store.revision();
        if (revision == watchedRevision) {
            return;
        }
        String leader;
        try {
            ClusterState c = observer.read();
            leader = c.hasLeader() ? c.leader().name() : null;
        } catch (DcsException e) {
            return;
        }
        watchedRevision = revision;
        if (java.util.Objects.equals(leader, watchedLeader)) {
            return;
        }
        watchedLeader = leader;
        Instant soon = clock.instant().plusMillis(10);
        nextRun.replaceAll((n, at) -> !n.equals(except) && at.isAfter(soon) ? soon : at);
    }

    private String leaderOrNull() {
        try {
            ClusterState c = observer.read();
            return c.hasLeader() ? c.leader().name() : null;
        } catch (DcsException e) {
            return null;
        }
    }

    /** Steps until the condition holds; false when {@code limit} of simulated time passes first. */
    public boolean runUntil(BooleanSupplier condition, Duration limit) {
        Instant end = clock.instant().plus(limit);
        while (clock.instant().isBefore(end)) {
            if (condition.getAsBoolean()) {
                return true;
            }
            step();
        }
        return condition.getAsBoolean();
    }

    /** Runs for a span of simulated time. */
    public void runFor(Duration span) {
        Instant end = clock.instant().plus(span);
        while (clock.instant().isBefore(end)) {
            step();
        }
    }

    /** Names of running primaries. */
    public List<String> primaries() {
        List<String> p = new ArrayList<>();
        for (String n : net.nodes.keySet()) {
            if (net.node(n).isRunningPrimary()) {
                p.add(n);
            }
        }
        return p;
    }

    public boolean isStreamingReplica(String name) {
        PostgresStatus s = net.node(name).status();
        return s.isReplica() && s.isStreaming();
    }

    public List<String> trace() {
        return trace;
    }

    private void trace(String line) {
        if (traceEnabled) {
            trace.add(clock.instant() + " " + line);
        }
    }

    /** What GET /patroni would answer {@code from}: only a live agent whose API is reachable. */
    /**
     * POST /failsafe from {@code from} to each member, as ApiHandler answers it: a member whose agent
     * runs and is reachable accepts unless failsafe mode is off or it runs as a primary.
     */
    private java.util.Set<String> failsafeCall(String from, java.util.Set<String> members, Map<String, Object> body) {
        java.util.Set<String> agreed = new java.util.LinkedHashSet<>();
        for (String m : members) {
            String pair = from.compareTo(m) < 0 ? from + "|" + m : m + "|" + from;
            HaNode n = nodes.get(m);
            if (n == null
                    || unreachableApi.contains(m)
                    || restCut.contains(pair)
                    || !n.state().config().isFailsafeMode()
                    || net.node(m).status().isPrimary()) {
                continue;
            }
            n.failsafeHeartbeat(body);
            agreed.add(m);
        }
        if (!members.isEmpty()) {
            trace(from + " failsafe call: " + agreed + " of " + members + " agreed");
        }
        return agreed;
    }

    /**
     * A TCP connection from {@code from} to a member's port, as the network would answer it: a host
     * that is down or a cut link does not answer; a live host refuses a port nobody listens on. The
     * REST API port (8008) listens while the agent runs or is frozen (a stopped process's socket
     * still accepts), PostgreSQL's (5432) while the postmaster runs.
     */
    private EndpointProbe.Reach reach(String from, String host, int port) {
        String pair = from.compareTo(host) < 0 ? from + "|" + host : host + "|" + from;
        SimulatedPostgres pg = net.node(host);
        if (pg == null || hostDown.contains(host) || restCut.contains(pair) || !net.linked(from, host)) {
            return EndpointProbe.Reach.UNREACHABLE;
        }
        if (port == 8008) {
            if (unreachableApi.contains(host)) {
                return EndpointProbe.Reach.UNREACHABLE;
            }
            return nodes.containsKey(host) || paused.containsKey(host)
                    ? EndpointProbe.Reach.ANSWERS
                    : EndpointProbe.Reach.REFUSED;
        }
        return pg.isRunning() ? EndpointProbe.Reach.ANSWERS : EndpointProbe.Reach.REFUSED;
    }

    private Map<String, PeerStatus> probe(String from, List<Member> members) {
        Map<String, PeerStatus> result = new LinkedHashMap<>();
        for (Member m : members) {
            String pair = from.compareTo(m.name()) < 0 ? from + "|" + m.name() : m.name() + "|" + from;
            if (!nodes.containsKey(m.name()) || unreachableApi.contains(m.name()) || restCut.contains(pair)) {
                continue;
            }
            PostgresStatus s = net.node(m.name()).status();
            Map<String, Object> t = tags.getOrDefault(m.name(), Map.of());
            String role = s.isRunning() ? (s.isPrimary() ? "primary" : "replica") : "replica";
            result.put(
                    m.name(),
                    new PeerStatus(
                            m.name(),
                            role,
                            s.state(),
                            s.lastLsn(),
                            s.timeline(),
                            io.pgha.dcs.Tags.noFailover(t),
                            io.pgha.dcs.Tags.failoverPriority(t)));
        }
        return result;
    }
}
