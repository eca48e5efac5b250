package io.pgha.ha;

import io.pgha.dcs.Member;
import io.pgha.postgres.FenceResult;
import io.pgha.postgres.PostgresController;
import io.pgha.postgres.PostgresException;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.ReplicationRow;
import io.pgha.postgres.StopMode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An in-memory PostgreSQL for tests and the simulation: a WAL position that grows with writes,
 * replicas that stream from their upstream (instantly, or not at all when cut off), timelines
 * that fork on promotion, a rewind that works only where the timeline history allows it, and a
 * crash that loses nothing already written locally. Instances find each other by member name
 * through a shared {@link Network}. Thread-safe (coarse lock on the network).
 */
public final class SimulatedPostgres implements PostgresController {

    /** The instances of one simulated cluster, by member name, and which links are cut. */
    public static final class Network {
        final Map<String, SimulatedPostgres> nodes = new ConcurrentHashMap<>();
        final Set<String> cut = ConcurrentHashMap.newKeySet();
        private long nextSysid = 7000000000000000001L;
        private long nextTimelineUid = 1;
        /** When true, replicas receive WAL only on {@link #stream()}, not on every read. */
        private volatile boolean lagged;

        /**
         * Lagged streaming: from now on replicas receive WAL only when {@link #stream()} runs (the
         * simulation calls it on its own schedule), so that a primary's crash loses what its
         * replicas had not received yet. By default WAL arrives on every read, instantly.
         */
        public void setLagged(boolean lagged) {
            this.lagged = lagged;
        }

        /** Ships WAL to every streaming replica, in name order. */
        public synchronized void stream() {
            for (String n : new java.util.TreeSet<>(nodes.keySet())) {
                nodes.get(n).catchUp();
            }
        }

        synchronized long newTimelineUid() {
            return nextTimelineUid++;
        }

        public SimulatedPostgres node(String name) {
            return nodes.computeIfAbsent(name, n -> new SimulatedPostgres(this, n));
        }

        /** Cuts (or heals) replication between two members. */
        public void cut(String a, String b, boolean isCut) {
            String key = a.compareTo(b) < 0 ? a + "|" + b : b + "|" + a;
            if (isCut) {
                cut.add(key);
            } else {
                cut.remove(key);
            }
        }

        boolean linked(String a, String b) {
            return !cut.contains(a.compareTo(b) < 0 ? a + "|" + b : b + "|" + a);
        }

        synchronized String newSysid() {
            return Long.toString(nextSysid++);
        }
    }

    /** The end of one timeline in an instance's history: timeline {@code tli} ended at {@code lsn}. */
    public record Switch(long tli, long lsn) {}

    private final Network net;
    private final String name;
    // state, guarded by net
    private boolean hasData;
    private boolean running;
    private boolean primary;
    private String sysid;
    private long timeline;
    private long lsn;
    private List<Switch> history = new ArrayList<>();
    // the identity of each timeline in history order (the last is the current one): timeline ids
    // alone collide when two members promote from the same timeline (a split brain)
    private List<Long> lineage = new ArrayList<>();
    private String upstream;
    private Map<String, io.pgha.postgres.ReplicationSlot> slots = new java.util.TreeMap<>();
    private String syncNames;
    private boolean failNextStart;
    private boolean vetoPromotions;
    private int failStarts;
    private int startAttempts;
    private boolean catchingUp;
    /**
     * Fenced by a candidate ({@link #fenceFormerPrimary}): synchronous_standby_names names a standby
     * that never comes, in memory only, until the server stops or restarts.
     */
    private boolean fenced;

    private final List<String> actions = new ArrayList<>();

    private SimulatedPostgres(Network net, String name) {
        this.net = net;
        this.name = name;
    }

    public String name() {
        return name;
    }

    /** The action log (bootstrap, clone, start, promote, ...), for assertions. */
    public List<String> actions() {
        synchronized (net) {
            return List.copyOf(actions);
        }
    }

    /** A client write on this instance: false when it does not accept writes. */
    public boolean write(long bytes) {
        synchronized (net) {
            if (!running || !primary) {
                return false;
            }
            lsn += bytes;
            if (fenced) {
                return false; // written here, waits for a standby that never comes: never acknowledged
            }
            // synchronous replication: acknowledged only once enough named standbys flushed it
            List<SimulatedPostgres> sync = syncStandbys();
            if (sync == null) {
                return true;
            }
            if (sync.size() < syncCount()) {
                return false; // the commit waits (written here, not acknowledged)
            }
            if (isAny()) {
                // ANY n: some n of them acknowledge; which ones varies from commit to commit
                List<SimulatedPostgres> rotated = new ArrayList<>(sync);
                java.util.Collections.rotate(rotated, (int) ((lsn / Math.max(1, bytes)) % rotated.size()));
                rotated.subList(0, syncCount()).forEach(SimulatedPostgres::catchUp);
            } else {
                sync.forEach(SimulatedPostgres::catchUp);
            }
            return true;
        }
    }

    /**
     * The standbys PostgreSQL waits for under synchronous_standby_names (name, {@code n (a,b)} or
     * {@code *}, FIRST semantics), in priority order, among those streaming from this primary; null
     * when synchronous replication is off. Caller holds the lock.
     */
    private boolean isAny() {
        return syncNames != null
                && syncNames.trim().toUpperCase(java.util.Locale.ROOT).startsWith("ANY ");
    }

    private List<SimulatedPostgres> syncStandbys() {
        String v = syncNames == null ? "" : syncNames.trim();
        if (v.isEmpty()) {
            return null;
        }
        List<String> order = "*".equals(v)
                ? new ArrayList<>(new java.util.TreeSet<>(net.nodes.keySet()))
                : new ArrayList<>(SyncStandbys.names(v));
        List<SimulatedPostgres> out = new ArrayList<>();
        for (String n : order) {
            SimulatedPostgres s = net.nodes.get(n);
            if (s != null
                    && s != this
                    && s.running
                    && !s.primary
                    && name.equals(s.upstream)
                    && net.linked(name, n)
                    && Objects.equals(s.sysid, sysid)
                    && !s.diverged(this)
                    && (isAny() || out.size() < syncCount())) {
                out.add(s);
            }
        }
        return out;
    }

    private int syncCount() {
        String v = syncNames == null ? "" : syncNames.trim();
        int open = v.indexOf('(');
        if (open > 0) {
            try {
                return Integer.parseInt(
                        v.substring(0, open).replaceAll("(?i)first|any", "").trim());
            } catch (NumberFormatException e) {
                return 1;
            }
        }
        return 1;
    }

    /** The postmaster dies (kill -9): nothing written is lost locally. */
    public void crash() {
        synchronized (net) {
            running = false;
            fenced = false;
            actions.add("crash");
        }
    }

    /** The next {@code n} starts fail. */
    public void failStarts(int n) {
        synchronized (net) {
            failStarts = n;
        }
    }

    /** How many times {@link #start} was called, failed or not. */
    public int startAttempts() {
        synchronized (net) {
            return startAttempts;
        }
    }

    public void failNextStart() {
        synchronized (net) {
            failNextStart = true;
        }
    }

    public long lsn() {
        synchronized (net) {
            maybeCatchUp();
            return lsn;
        }
    }

    public long timelineId() {
        synchronized (net) {
            return timeline;
        }
    }

    public boolean isRunningPrimary() {
        synchronized (net) {
            return running && primary;
        }
    }

    /** A running primary that a candidate fenced: it acknowledges no write until it stops or restarts. */
    public boolean isFenced() {
        synchronized (net) {
            return running && primary && fenced;
        }
    }

    /** Streams from the upstream as far as the histories allow. Caller holds the lock. */
    private void catchUp() {
        if (!running || primary || upstream == null || catchingUp) {
            return; // (two replicas following each other, as can happen for a moment, receive nothing)
        }
        SimulatedPostgres up = net.nodes.get(upstream);
        if (up == null || !up.running || !net.linked(name, upstream) || !Objects.equals(up.sysid, sysid)) {
            return;
        }
        catchingUp = true;
        try {
            up.catchUp();
        } finally {
            catchingUp = false;
        }
        if (diverged(up)) {
            return;
        }
        if (up.lineage.size() > lineage.size() || up.lsn > lsn) {
            lsn = Math.max(lsn, up.lsn);
            if (up.lineage.size() > lineage.size()) {
                timeline = up.timeline;
                history = new ArrayList<>(up.history);
                lineage = new ArrayList<>(up.lineage);
            }
        }
    }

    /** Reads ship WAL at once unless the network streams on its own schedule. Caller holds the lock. */
    private void maybeCatchUp() {
        if (!net.lagged) {
            catchUp();
        }
    }

    /** True when this instance's WAL is not a prefix of {@code other}'s history. */
    private boolean diverged(SimulatedPostgres other) {
        int k = lineage.size() - 1;
        if (k < 0 || other.lineage.size() <= k) {
            return true;
        }
        for (int i = 0; i <= k; i++) {
            if (!lineage.get(i).equals(other.lineage.get(i))) {
                return true;
            }
        }
        if (other.history.size() > k) {
            return lsn > other.history.get(k).lsn(); // other left my timeline at that point
        }
        return false; // the same timeline: one is a prefix of the other
    }

    /** Whether {@code other}'s WAL contains this instance's (the same history up to this one's position). */
    public boolean isPrefixOf(SimulatedPostgres other) {
        synchronized (net) {
            return Objects.equals(sysid, other.sysid) && !diverged(other) && lsn <= other.endOf(lineage.size() - 1);
        }
    }

    /** Where this instance's history ends timeline number {@code index} (its own position for the current one). */
    private long endOf(int index) {
        return index < history.size() ? history.get(index).lsn() : lsn;
    }

    /**
     * Whether this instance's history contains the WAL position {@code lsn} written on the timeline
     * whose identity is {@code timelineUid} (see {@link #timelineUid()}).
     */
    public boolean contains(long timelineUid, long position) {
        synchronized (net) {
            int i = lineage.indexOf(timelineUid);
            return i >= 0 && position <= endOf(i);
        }
    }

    /** The identity of the current timeline, unique in the network (timeline ids are not). */
    public long timelineUid() {
        synchronized (net) {
            return lineage.isEmpty() ? 0 : lineage.get(lineage.size() - 1);
        }
    }

    public boolean hasData() {
        synchronized (net) {
            return hasData;
        }
    }

    public boolean isRunning() {
        synchronized (net) {
            return running;
        }
    }

    /** The member this instance streams from, when it is a replica. */
    public String upstream() {
        synchronized (net) {
            return primary ? null : upstream;
        }
    }

    /** The timeline history for traces: tli(uid) ended at lsn, ..., current. */
    public String describeHistory() {
        synchronized (net) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < lineage.size(); i++) {
                b.append(i < history.size() ? history.get(i).tli() : timeline)
                        .append('#')
                        .append(lineage.get(i));
                b.append(
                        i < history.size()
                                ? "@" + history.get(i).lsn() + " "
                                : "@" + lsn + (running ? "" : " stopped") + (primary ? " primary" : " replica"));
            }
            return b.toString();
        }
    }

    @Override
    public PostgresStatus status() {
        synchronized (net) {
            maybeCatchUp();
            if (!hasData) {
                return new PostgresStatus(
                        PostgresStatus.STOPPED,
                        null,
                        0,
                        0,
                        0,
                        0,
                        null,
                        false,
                        null,
                        null,
                        0,
                        null,
                        List.of(),
                        List.of(),
                        false,
                        null);
            }
            PostgresStatus.Role role = primary ? PostgresStatus.Role.PRIMARY : PostgresStatus.Role.REPLICA;
            if (!running) {
                return PostgresStatus.stopped(role, sysid, timeline, lsn);
            }
            List<ReplicationRow> rows = new ArrayList<>();
            List<SimulatedPostgres> sync = primary ? syncStandbys() : null;
            if (primary) {
                for (SimulatedPostgres n : net.nodes.values()) {
                    if (n != this && n.running && !n.primary && name.equals(n.upstream) && net.linked(name, n.name)) {
                        rows.add(new ReplicationRow(
                                "replicator",
                                n.name,
                                "127.0.0.1",
                                "streaming",
                                sync != null && sync.contains(n) ? (isAny() ? "quorum" : "sync") : "async",
                                0,
                                n.lsn,
                                n.lsn,
                                n.lsn));
                    }
                }
            }
            SimulatedPostgres up = primary || upstream == null ? null : net.nodes.get(upstream);
            // a diverged replica's walreceiver fails ("requested timeline is not in this server's history")
            boolean streaming = up != null
                    && up.running
                    && net.linked(name, upstream)
                    && Objects.equals(up.sysid, sysid)
                    && !diverged(up);
            return new PostgresStatus(
                    PostgresStatus.RUNNING,
                    role,
                    timeline,
                    primary ? lsn : 0,
                    primary ? 0 : lsn,
                    primary ? 0 : lsn,
                    null,
                    false,
                    primary ? null : (streaming ? "streaming" : "in archive recovery"),
                    sysid,
                    150000,
                    null,
                    rows,
                    List.copyOf(slots.values()),
                    false,
                    syncNames);
        }
    }

    @Override
    public boolean isDataDirectoryEmpty() {
        synchronized (net) {
            return !hasData;
        }
    }

    @Override
    public String bootstrap() throws PostgresException {
        synchronized (net) {
            if (hasData) {
                throw new PostgresException("data directory of " + name + " is not empty");
            }
            hasData = true;
            sysid = net.newSysid();
            timeline = 1;
            lsn = 0x3000000;
            history = new ArrayList<>();
            lineage = new ArrayList<>(List.of(net.newTimelineUid()));
            primary = true;
            running = true;
            actions.add("bootstrap");
            return sysid;
        }
    }

    @Override
    public void cloneFrom(Member source) throws PostgresException {
        synchronized (net) {
            SimulatedPostgres src = net.nodes.get(source.name());
            if (src == null || !src.running || !net.linked(name, source.name())) {
                throw new PostgresException("pg_basebackup from " + source.name() + " failed: not reachable");
            }
            if (hasData) {
                throw new PostgresException("data directory of " + name + " is not empty");
            }
            src.maybeCatchUp();
            hasData = true;
            sysid = src.sysid;
            timeline = src.timeline;
            lsn = src.lsn;
            history = new ArrayList<>(src.history);
            lineage = new ArrayList<>(src.lineage);
            primary = false;
            running = false;
            actions.add("clone from " + source.name());
        }
    }

    @Override
    public void start(Member leader, Duration timeout) throws PostgresException {
        synchronized (net) {
            beginStart();
            running = true;
            if (leader == null) {
                if (!primary) {
                    forkTimeline();
                }
                primary = true;
                upstream = null;
            } else {
                primary = false;
                upstream = leader.name();
            }
            actions.add(leader == null ? "start primary" : "start replica of " + leader.name());
        }
    }

    @Override
    public void startStandby(Duration timeout) throws PostgresException {
        synchronized (net) {
            beginStart();
            running = true;
            primary = false;
            upstream = null;
            actions.add("start standby");
        }
    }

    /**
     * The part of {@link #start} and {@link #startStandby} before the server runs: no data directory
     * fails (uncounted), then the attempt is counted and fails when a failure was injected
     * ({@link #failNextStart()}, {@link #failStarts(int)}). Caller holds the lock.
     */
    private void beginStart() throws PostgresException {
        if (!hasData) {
            throw new PostgresException("no data directory");
        }
        startAttempts++;
        if (failNextStart || failStarts > 0) {
            failNextStart = false;
            failStarts = Math.max(0, failStarts - 1);
            throw new PostgresException("simulated start failure");
        }
    }

    private void forkTimeline() {
        history.add(new Switch(timeline, lsn));
        timeline++;
        lineage.add(net.newTimelineUid());
    }

    @Override
    public void stop(StopMode mode, boolean checkpointFirst, Duration timeout) {
        synchronized (net) {
            if (running) {
                if (primary && mode != StopMode.IMMEDIATE) {
                    // a clean shutdown ships the last WAL to streaming replicas
                    for (SimulatedPostgres n : net.nodes.values()) {
                        n.catchUp();
                    }
                }
                running = false;
                fenced = false; // the fencing value lived in memory only
                actions.add("stop " + mode.name().toLowerCase(Locale.ROOT));
            }
        }
    }

    @Override
    public boolean prePromote() {
        synchronized (net) {
            if (vetoPromotions) {
                actions.add("pre_promote vetoed");
            }
            return !vetoPromotions;
        }
    }

    /** Makes the pre_promote hook veto (Patroni's pre_promote script exiting non-zero), or not. */
    public void vetoPromotions(boolean veto) {
        synchronized (net) {
            vetoPromotions = veto;
        }
    }

    @Override
    public void promote(Duration timeout) throws PostgresException {
        synchronized (net) {
            if (!running || primary) {
                throw new PostgresException("not a running replica");
            }
            maybeCatchUp(); // lagged: a promoted replica has only what it received
            forkTimeline();
            primary = true;
            upstream = null;
            actions.add("promote");
        }
    }

    @Override
    public void follow(Member leader, Duration timeout) throws PostgresException {
        synchronized (net) {
            if (running && primary) {
                throw new PostgresException("a running primary cannot follow");
            }
            upstream = leader == null ? null : leader.name();
            if (!running) {
                running = true;
            }
            actions.add(leader == null ? "follow nobody" : "follow " + leader.name());
        }
    }

    @Override
    public boolean needsRewind(Member leader) {
        synchronized (net) {
            SimulatedPostgres l = net.nodes.get(leader.name());
            if (l == null) {
                return false;
            }
            return diverged(l);
        }
    }

    @Override
    public boolean rewind(Member leader) throws PostgresException {
        synchronized (net) {
            SimulatedPostgres l = net.nodes.get(leader.name());
            if (l == null || !l.running || !net.linked(name, leader.name())) {
                return false;
            }
            if (running) {
                throw new PostgresException("pg_rewind needs a stopped target");
            }
            // rewinds to where the histories part; the rest streams after start
            int common = 0;
            while (common < lineage.size()
                    && common < l.lineage.size()
                    && lineage.get(common).equals(l.lineage.get(common))) {
                common++;
            }
            if (common == 0) {
                return false; // nothing in common: only a fresh clone helps
            }
            long fork = Math.min(endOf(common - 1), l.endOf(common - 1));
            lsn = Math.min(lsn, fork);
            lineage = new ArrayList<>(l.lineage.subList(0, common));
            history = new ArrayList<>(l.history.subList(0, Math.min(common - 1, l.history.size())));
            timeline = common - 1 < l.history.size() ? l.history.get(common - 1).tli() : l.timeline;
            primary = false;
            actions.add("rewind from " + leader.name());
            return true;
        }
    }

    @Override
    public void removeDataDirectory() {
        synchronized (net) {
            hasData = false;
            running = false;
            primary = false;
            sysid = null;
            lsn = 0;
            timeline = 0;
            history = new ArrayList<>();
            lineage = new ArrayList<>();
            actions.add("remove data directory");
        }
    }

    @Override
    public void restart(Duration timeout) {
        synchronized (net) {
            running = true;
            fenced = false;
            actions.add("restart");
        }
    }

    @Override
    public void reload() {}

    /**
     * The candidate-side fence as LocalPostgresController's: a former primary that runs and can be
     * reached (the replication link between the two is not cut) stops acknowledging writes until it
     * stops or restarts; a replica is left alone; a stopped or cut-off one is unreachable.
     */
    @Override
    public FenceResult fenceFormerPrimary(Member former, String fencedBy) {
        synchronized (net) {
            SimulatedPostgres target = net.nodes.get(former.name());
            if (target == null || target == this || !target.running || !net.linked(name, former.name())) {
                return new FenceResult(FenceResult.Outcome.UNREACHABLE, former.name() + " does not answer");
            }
            if (!target.primary) {
                return new FenceResult(FenceResult.Outcome.NOT_A_PRIMARY, former.name() + " is in recovery");
            }
            target.fenced = true;
            target.actions.add("fenced by " + fencedBy);
            actions.add("fence " + former.name());
            return new FenceResult(FenceResult.Outcome.FENCED, former.name() + " fenced");
        }
    }

    @Override
    public void setSynchronousStandbyNames(String value) {
        synchronized (net) {
            syncNames = value;
        }
    }

    @Override
    public void changeReplicationSlots(io.pgha.postgres.SlotChanges changes) {
        synchronized (net) {
            changes.drop().forEach(slots::remove);
            for (io.pgha.postgres.SlotChanges.NewSlot n : changes.create()) {
                slots.putIfAbsent(
                        n.name(),
                        new io.pgha.postgres.ReplicationSlot(
                                n.name(), n.type(), n.plugin(), n.database(), false, lsn, lsn, true));
            }
        }
    }

    @Override
    public void close() {}
}
