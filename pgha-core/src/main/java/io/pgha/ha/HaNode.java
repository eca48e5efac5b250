package io.pgha.ha;

import io.pgha.config.DynamicConfig;
import io.pgha.config.NodeConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.ClusterStatus;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsJson;
import io.pgha.dcs.HistoryEntry;
import io.pgha.dcs.Member;
import io.pgha.postgres.PostgresController;
import io.pgha.postgres.PostgresException;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.StopMode;
import java.io.Closeable;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pgha node: the agent loop that reads the cluster from the DCS, asks {@link HaEngine} what to
 * do, does it, publishes its member record, and sleeps until {@code loop_wait} passes or the DCS
 * reports a change.
 *
 * <h2>Lifecycle</h2>
 * {@link #start()} once (LATENT to STARTED), {@link #close()} any number of times (to CLOSED):
 * close stops PostgreSQL (checkpoint and fast shutdown), releases the lock if held so that a
 * replica takes over at once, ends the DCS session and joins every thread the node started.
 *
 * <h2>Threads</h2>
 * The HA loop runs on {@code pgha-<name>-ha}; long PostgreSQL actions (bootstrap, clone, start,
 * promote, demote, rewind) on {@code pgha-<name>-action}, so that the loop keeps renewing the lock
 * while they run; listeners on {@code pgha-<name>-events}; the lock guard on its own timer. One
 * failing cycle is logged and never ends the loop. {@link #state()} is safe from any thread.
 */
public final class HaNode implements NodeControl, Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(HaNode.class);
    static final String VERSION = "0.1.0";
    private static final Duration PEER_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration PG_TIMEOUT = Duration.ofSeconds(120);

    /** Lifecycle, guarded by compare-and-set. */
    public enum State {
        LATENT,
        STARTED,
        CLOSED
    }

    private final NodeConfig config;
    private final Dcs dcs;
    private final PostgresController postgres;
    private final HaEngine engine = new HaEngine();
    private final PeerProbe peerProbe;
    private final FailsafeProbe failsafeProbe;
    private final Clock clock;
    private final List<HaListener> listeners = new CopyOnWriteArrayList<>();
    private final Executor actionExecutor;
    private final ExecutorService ownedActionExecutor;
    private final Executor eventExecutor;
    private final ExecutorService ownedEventExecutor;
    private final LockGuard lockGuard;
    private final Fence fence;
    private final AtomicReference<State> lifecycle = new AtomicReference<>(State.LATENT);
    private Thread loopThread;

    // loop state: written by the loop and action threads
    private volatile NodeState state;
    private volatile DynamicConfig dynamicConfig;
    private volatile Instant lockValidUntil;
    private volatile String following;
    private volatile Instant dcsLastSeen;
    private volatile CompletableFuture<Void> currentAction;
    private volatile String currentActionName;
    private volatile String activityState;
    private volatile boolean reinitializeRequested;
    private volatile boolean restartDue;
    private final AtomicReference<RestartRequest> scheduledRestart = new AtomicReference<>();
    private Instant primaryDownSince;
    private Duration appliedTtl;
    private String lastListenerRole = "uninitialized";
    private String lastKnownLeader;
    private volatile boolean shutdownRequested;
    // failsafe mode: the last failsafe key read (loop thread); when the primary last called (API threads)
    private Map<String, String> lastFailsafeKey;
    // synchronous_standby_names as last seen on the local primary, and its WAL position then (loop thread only)
    private String syncNamesSeen;
    private long syncReadyLsn;
    private volatile Instant failsafeCalledAt;
    private volatile boolean failsafeActive;
    private volatile boolean watchdogFailed;

    private HaNode(Builder b) {
        this.config = Objects.requireNonNull(b.config, "config");
        this.dcs = Objects.requireNonNull(b.dcs, "dcs");
        this.postgres = Objects.requireNonNull(b.postgres, "postgres");
        // the other members are asked as the runner asks them: with the shared REST API settings'
        // credentials and TLS when given, else plain HTTP
        io.pgha.api.PatroniClient client =
                b.restApi == null ? io.pgha.api.PatroniClient.create() : io.pgha.api.PatroniClient.create(b.restApi);
        this.peerProbe = b.peerProbe != null ? b.peerProbe : client.peerProbe();
        this.failsafeProbe = b.failsafeProbe != null ? b.failsafeProbe : client.failsafeProbe();
        this.clock = b.clock == null ? Clock.systemUTC() : b.clock;
        this.listeners.addAll(b.listeners);
        this.dynamicConfig = config.initialDynamicConfig();
        if (b.actionExecutor != null) {
            this.actionExecutor = b.actionExecutor;
            this.ownedActionExecutor = null;
        } else {
            this.ownedActionExecutor = Executors.newSingleThreadExecutor(named("action"));
            this.actionExecutor = ownedActionExecutor;
        }
        if (b.eventExecutor != null) {
            this.eventExecutor = b.eventExecutor;
            this.ownedEventExecutor = null;
        } else {
            this.ownedEventExecutor = Executors.newSingleThreadExecutor(named("events"));
            this.eventExecutor = ownedEventExecutor;
        }
        this.lockGuard = b.lockGuard ? new LockGuard(config.name(), clock, this::fence) : null;
        this.fence = b.fence == null ? Fence.NONE : b.fence;
        this.state = new NodeState(
                config.name(),
                config.scope(),
                "uninitialized",
                false,
                postgres.status(),
                null,
                dynamicConfig,
                null,
                null,
                config.tags(),
                config.apiUrl(),
                config.connUrl(),
                "starting",
                null,
                false);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Starts the HA loop. */
    public void start() {
        if (!lifecycle.compareAndSet(State.LATENT, State.STARTED)) {
            throw new IllegalStateException("cannot start a node that is " + lifecycle.get());
        }
        loopThread = new Thread(this::loop, "pgha-" + config.name() + "-ha");
        loopThread.start();
    }

    public State lifecycle() {
        return lifecycle.get();
    }

    public String name() {
        return config.name();
    }

    public void addListener(HaListener listener) {
        listeners.add(Objects.requireNonNull(listener));
    }

    public void removeListener(HaListener listener) {
        listeners.remove(listener);
    }

    @Override
    public NodeState state() {
        return state;
    }

    @Override
    public Dcs dcs() {
        return dcs;
    }

    /** The fence's watchdog is required but not usable (as of the last cycle); see {@link Fence#isHealthy}. */
    @Override
    public boolean watchdogFailed() {
        return watchdogFailed;
    }

    @Override
    public void wakeUp() {
        dcs.wakeUp();
    }

    // ---- the loop --------------------------------------------------------------------------------

    private void loop() {
        LOG.info("pgha {} starting: member {} of cluster {}", VERSION, config.name(), config.scope());
        while (lifecycle.get() == State.STARTED && !shutdownRequested) {
            Decision d;
            try {
                d = runCycle();
            } catch (RuntimeException e) {
                LOG.error("HA cycle failed; trying again after loop_wait", e);
                d = null;
            }
            if (shutdownRequested || lifecycle.get() != State.STARTED) {
                break;
            }
            Duration wait = dynamicConfig.loopWait();
            if (d != null && d.wakeWithin() != null && d.wakeWithin().compareTo(wait) < 0) {
                wait = d.wakeWithin();
            }
            try {
                dcs.awaitChange(wait.isNegative() ? Duration.ZERO : wait);
            } catch (InterruptedException e) {
                break;
            }
        }
    }

    /** One HA cycle: read, decide, act, publish. Package-private for tests and the simulation. */
    Decision runCycle() {
        Instant now = clock.instant();
        applyScheduledRestart(now);
        HaInput input = gather(now, false);
        Decision decision = null;
        for (int pass = 0; pass < 3; pass++) {
            decision = engine.decide(input);
            log(decision);
            Outcome outcome = execute(decision, input);
            if (outcome == Outcome.DONE) {
                break;
            }
            input = gather(clock.instant(), outcome == Outcome.LOCK_LOST);
        }
        restartDue = false;
        publish(input, decision);
        return decision;
    }

    private HaInput gather(Instant now, boolean lockRenewFailed) {
        ClusterState cluster = null;
        String dcsError = null;
        try {
            cluster = dcs.read();
            dcsLastSeen = clock.instant();
            for (String problem : cluster.problems()) {
                LOG.warn("malformed value in the DCS, ignored: {}", problem);
            }
        } catch (DcsException e) {
            dcsError = e.getMessage();
        }
        if (cluster != null) {
            applyConfig(cluster);
        }
        PostgresStatus pg = postgres.status();
        boolean empty = postgres.isDataDirectoryEmpty();
        CompletableFuture<Void> action = currentAction;
        String inProgress = action != null && !action.isDone() ? currentActionName : null;
        if (cluster != null && !cluster.isLeader(config.name())) {
            lockValidUntil = null;
            disarmGuard();
        }
        if (cluster != null && cluster.isLeader(config.name()) && !pg.isRunning() && inProgress == null) {
            if (primaryDownSince == null) {
                primaryDownSince = now;
            }
        } else if (pg.isRunning()) {
            primaryDownSince = null;
        }
        if (cluster != null) {
            lastFailsafeKey = cluster.failsafe();
        }
        boolean failsafeConfirmed = cluster == null
                && pg.isPrimary()
                && inProgress == null
                && !lockRenewFailed
                && dynamicConfig.isFailsafeMode()
                && !dynamicConfig.isPaused()
                && failsafeRound(pg);
        failsafeActive = failsafeConfirmed;
        Instant calledAt = failsafeCalledAt;
        Instant failsafeLeaderUntil = calledAt != null && dynamicConfig.isFailsafeMode() && !pg.isPrimary()
                ? calledAt.plus(dynamicConfig.ttl())
                : null;
        if (pg.isPrimary() && pg.isRunning() && !Objects.equals(pg.synchronousStandbyNames(), syncNamesSeen)) {
            // every commit acknowledged under the former value is at or below this position
            syncNamesSeen = pg.synchronousStandbyNames();
            syncReadyLsn = pg.writeLsn();
        } else if (!pg.isPrimary()) {
            syncNamesSeen = null;
            syncReadyLsn = 0;
        }
        watchdogFailed = !fence.isHealthy(dynamicConfig);
        Map<String, PeerStatus> peers = Map.of();
        if (inProgress == null && HaEngine.needsPeers(cluster, config.name(), dynamicConfig, pg)) {
            List<Member> others = new ArrayList<>(cluster.members().stream()
                    .filter(m -> !m.name().equals(config.name()))
                    .toList());
            if (dynamicConfig.isFailsafeMode() && cluster.failsafe() != null) {
                // as Patroni: members of the failsafe key count too, a primary cut off from the DCS
                // (its member key gone) among them
                cluster.failsafe().forEach((name, url) -> {
                    if (!name.equals(config.name())
                            && others.stream().noneMatch(m -> m.name().equals(name))) {
                        others.add(new Member(name, -1, Map.of("api_url", url)));
                    }
                });
            }
            peers = peerProbe.probe(others, PEER_TIMEOUT);
        }
        return HaInput.builder(config.name())
                .tags(config.tags())
                .cluster(cluster)
                .dcsError(dcsError)
                .postgres(pg)
                .dataDirectoryEmpty(empty)
                .config(dynamicConfig)
                .now(now)
                .lockValidUntil(lockValidUntil)
                .actionInProgress(inProgress)
                .peers(peers)
                .following(following)
                .primaryDownSince(primaryDownSince)
                .lockRenewFailed(lockRenewFailed)
                .reinitializeRequested(reinitializeRequested)
                .restartRequested(restartDue)
                .failsafeConfirmed(failsafeConfirmed)
                .failsafeLeaderUntil(failsafeLeaderUntil)
                .syncReadyLsn(syncReadyLsn)
                .watchdogFailed(watchdogFailed)
                .build();
    }

    /**
     * Failsafe mode, a primary cut off from the DCS: POST /failsafe to every other member of the last
     * failsafe key read. When all agree, each promised not to race for the lock for ttl from its
     * answer, so the round is as good a proof as a renewal: the lock guard and the fence are re-armed
     * from the round's start.
     */
    private boolean failsafeRound(PostgresStatus pg) {
        Map<String, String> others = Failsafe.toReach(config.name(), lastFailsafeKey);
        if (others == null) {
            LOG.info("[{}] failsafe mode: the last failsafe key read does not name me", config.name());
            return false;
        }
        Instant started = clock.instant();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("name", config.name());
        if (config.apiUrl() != null) {
            body.put("api_url", config.apiUrl());
        }
        if (config.connUrl() != null) {
            body.put("conn_url", config.connUrl());
        }
        body.put("timeline", pg.timeline());
        Set<String> agreed = others.isEmpty() ? Set.of() : failsafeProbe.call(others, body, PEER_TIMEOUT);
        if (!agreed.containsAll(others.keySet())) {
            Set<String> missing = new java.util.TreeSet<>(others.keySet());
            missing.removeAll(agreed);
            LOG.warn(
                    "[{}] failsafe mode: {} did not agree; the primary goes on only while its lock is valid",
                    config.name(),
                    missing);
            return false;
        }
        lockProven(started);
        return true;
    }

    /** Failsafe mode: the primary's POST /failsafe reached this replica (an API thread). */
    @Override
    public void failsafeHeartbeat(Map<String, Object> leader) {
        if (!dynamicConfig.isFailsafeMode()) {
            return;
        }
        failsafeCalledAt = clock.instant();
        LOG.debug("[{}] failsafe call from {}", config.name(), leader.get("name"));
    }

    private void applyConfig(ClusterState cluster) {
        // build a new DynamicConfig only when the stored one changed (it warns about bad timings)
        if (cluster.config() != null && !cluster.config().data().equals(dynamicConfig.raw())) {
            dynamicConfig = DynamicConfig.from(cluster.config().data());
            LOG.info("[{}] dynamic configuration in force: {}", config.name(), dynamicConfig);
        }
        Duration ttl = dynamicConfig.ttl();
        if (!ttl.equals(appliedTtl)) {
            try {
                dcs.setTtl(ttl);
                appliedTtl = ttl;
            } catch (DcsException e) {
                LOG.warn("could not apply ttl {} to the DCS session: {}", ttl, e.getMessage());
            }
        }
    }

    private void log(Decision d) {
        LOG.info("[{}] {}", config.name(), d.reason());
    }

    // ---- executing a decision --------------------------------------------------------------------

    private enum Outcome {
        DONE,
        RERUN,
        LOCK_LOST
    }

    private Outcome execute(Decision decision, HaInput input) {
        List<Action> actions = decision.actions();
        for (int i = 0; i < actions.size(); i++) {
            Action a = actions.get(i);
            boolean last = i == actions.size() - 1;
            try {
                if (a.isLong()) {
                    startLong(a, input);
                    return Outcome.DONE;
                }
                Outcome o = executeShort(a, input, last);
                if (o != Outcome.DONE) {
                    return o;
                }
            } catch (DcsException e) {
                LOG.warn("[{}] DCS call failed during {}: {}", config.name(), a, e.getMessage());
                return Outcome.DONE;
            } catch (PostgresException e) {
                LOG.error("[{}] {} failed: {}", config.name(), a, e.getMessage());
                return Outcome.DONE;
            }
        }
        return Outcome.DONE;
    }

    private Outcome executeShort(Action a, HaInput input, boolean last) throws DcsException, PostgresException {
        if (a instanceof Action.AcquireLock) {
            Instant t = clock.instant();
            if (!dcs.acquireLeader()) {
                LOG.info("[{}] could not acquire the leader lock: another member holds it", config.name());
                return Outcome.RERUN;
            }
            lockProven(t);
            LOG.info("[{}] acquired the leader lock", config.name());
            // decide again at once: a replica that won the race promotes in this same cycle
            return last ? Outcome.RERUN : Outcome.DONE;
        } else if (a instanceof Action.RenewLock) {
            Instant t = clock.instant();
            if (!dcs.renewLeader()) {
                lockValidUntil = null;
                disarmGuard();
                return Outcome.LOCK_LOST;
            }
            lockProven(t);
        } else if (a instanceof Action.ReleaseLock) {
            dcs.releaseLeader();
            lockValidUntil = null;
            disarmGuard();
        } else if (a instanceof Action.ClaimInitialize) {
            if (!dcs.writeInitialize("", Dcs.ABSENT)) {
                LOG.info("[{}] another member is bootstrapping the cluster", config.name());
                return Outcome.RERUN;
            }
        } else if (a instanceof Action.WriteInitialize w) {
            dcs.writeInitialize(w.systemIdentifier(), w.expectedVersion());
        } else if (a instanceof Action.WriteBootstrapConfig) {
            dcs.writeConfig(config.bootstrapDcs(), Dcs.ABSENT);
        } else if (a instanceof Action.WriteStatus s) {
            dcs.writeStatus(new ClusterStatus(s.optime(), Map.of(), List.of()));
        } else if (a instanceof Action.WriteSync w) {
            if (!dcs.writeSync(w.state(), w.expectedVersion())) {
                LOG.info("[{}] the sync key changed meanwhile; deciding again", config.name());
                return Outcome.RERUN;
            }
        } else if (a instanceof Action.WriteFailsafe w) {
            dcs.writeFailsafe(w.members());
        } else if (a instanceof Action.SetSynchronousStandbyNames s) {
            postgres.setSynchronousStandbyNames(s.value());
        } else if (a instanceof Action.ClearFailover c) {
            dcs.writeFailover(null, c.failover().version());
        } else if (a instanceof Action.SyncSlots s) {
            postgres.syncReplicationSlots(s.wanted(), Set.of());
        } else if (a instanceof Action.Follow f) {
            // a leader still being promoted has no final timeline yet: check once it is a primary
            if (isPrimaryRole(f.leader()) && postgres.needsRewind(f.leader())) {
                // this replica received WAL the new leader never had (it was ahead when the leader
                // was promoted): it cannot stream from it. Stop it; deciding again starts it as a
                // replica of the leader through the divergence check (pg_rewind, or a fresh clone)
                LOG.warn(
                        "[{}] diverged from the new leader {}: stopping to rewind",
                        config.name(),
                        f.leader().name());
                postgres.stop(StopMode.FAST, false, PG_TIMEOUT);
                following = null;
                return Outcome.RERUN;
            }
            postgres.follow(f.leader(), PG_TIMEOUT);
            // a leader still in recovery (its promotion running) cannot be checked for divergence yet:
            // follow it, and check again next cycle until it publishes itself as a primary
            following = isPrimaryRole(f.leader()) ? f.leader().name() : null;
        } else if (a instanceof Action.Shutdown s) {
            LOG.error("[{}] {}: stopping the agent, PostgreSQL is left as it is", config.name(), s.why());
            shutdownRequested = true;
        } else {
            throw new IllegalStateException("unhandled action " + a);
        }
        return Outcome.DONE;
    }

    private void lockProven(Instant renewedAt) {
        Instant until = renewedAt.plus(dynamicConfig.ttl());
        lockValidUntil = until;
        Instant fenceAt = until.minus(HaEngine.safetyMargin(dynamicConfig));
        if (lockGuard != null && !dynamicConfig.isPaused()) {
            lockGuard.arm(fenceAt);
        }
        if (dynamicConfig.isPaused()) {
            fence.disarm();
        } else {
            fence.arm(Duration.between(clock.instant(), fenceAt));
        }
    }

    private void disarmGuard() {
        if (lockGuard != null) {
            lockGuard.disarm();
        }
        fence.disarm();
    }

    /**
     * Until when this node has proven it holds the leader lock (its last successful acquire or
     * renewal plus ttl), or null when it does not believe it holds it. For the simulation's checks.
     */
    Instant lockValidUntil() {
        return lockValidUntil;
    }

    /**
     * The lock guard's fence: PostgreSQL stops accepting writes before the lock can expire.
     * Package-private so that the simulation, which runs without the guard's timer thread, can
     * fire it at the simulated instant the guard would.
     */
    void fence() {
        Instant until = lockValidUntil;
        Instant fenceAt = until == null ? null : until.minus(HaEngine.safetyMargin(dynamicConfig));
        if (fenceAt != null && clock.instant().isBefore(fenceAt)) {
            // renewed meanwhile, or the timer ran a hair early: never return without a guard armed
            // (SafetyFailsafeEtcdIT found a guard that fired 1 ms early and so never fenced)
            if (lockGuard != null) {
                lockGuard.arm(fenceAt);
            }
            return;
        }
        if (postgres.status().isPrimary()) {
            try {
                postgres.stop(StopMode.IMMEDIATE, false, Duration.ofSeconds(10));
            } catch (PostgresException e) {
                LOG.error("[{}] fencing stop failed: {}", config.name(), e.getMessage());
            }
        }
    }

    private void startLong(Action a, HaInput input) {
        String name = longActionName(a);
        activityState = activityFor(a);
        currentActionName = name;
        CompletableFuture<Void> f = new CompletableFuture<>();
        currentAction = f;
        actionExecutor.execute(() -> {
            boolean failed = true;
            try {
                runLong(a, input);
                failed = false;
            } catch (PostgresException | DcsException e) {
                LOG.error("[{}] {} failed: {}", config.name(), name, e.getMessage());
            } catch (RuntimeException e) {
                LOG.error("[" + config.name() + "] " + name + " failed", e);
            } finally {
                activityState = null;
                f.complete(null);
                // a success is acted on at once; a failure waits for the next cycle, or the same
                // decision would retry the failing action back to back (seen: every 35 ms)
                if (!failed) {
                    dcs.wakeUp();
                }
            }
        });
    }

    private void runLong(Action a, HaInput input) throws PostgresException, DcsException {
        if (a instanceof Action.Bootstrap) {
            bootstrap();
        } else if (a instanceof Action.CloneFrom c) {
            postgres.cloneFrom(c.source());
            ClusterState cluster = dcs.read();
            Member leader = cluster.leaderMember().orElse(c.source());
            postgres.start(leader, PG_TIMEOUT);
            following = leader.name();
            fire(l -> l.postgresStarted("replica"));
        } else if (a instanceof Action.StartPrimary) {
            postgres.start(null, PG_TIMEOUT);
            following = null;
            fire(l -> l.postgresStarted("primary"));
        } else if (a instanceof Action.StartReplica s) {
            startReplica(s.leader(), s.checkDivergence());
        } else if (a instanceof Action.Promote) {
            promote(input);
        } else if (a instanceof Action.Demote d) {
            demote(d);
        } else if (a instanceof Action.Reinitialize r) {
            reinitializeRequested = false;
            postgres.stop(StopMode.FAST, false, PG_TIMEOUT);
            postgres.removeDataDirectory();
            postgres.cloneFrom(r.source());
            postgres.start(r.source(), PG_TIMEOUT);
            following = r.source().name();
        } else if (a instanceof Action.Restart) {
            postgres.restart(PG_TIMEOUT);
            String r = postgres.status().isPrimary() ? "primary" : "replica";
            fire(l -> l.postgresRestarted(r));
        } else {
            throw new IllegalStateException("unhandled long action " + a);
        }
    }

    private void bootstrap() throws PostgresException, DcsException {
        String sysid;
        try {
            sysid = postgres.bootstrap();
        } catch (PostgresException e) {
            LOG.error(
                    "[{}] bootstrap failed: {}; giving the bootstrap back to the cluster",
                    config.name(),
                    e.getMessage());
            try {
                postgres.stop(StopMode.IMMEDIATE, false, PG_TIMEOUT);
                postgres.removeDataDirectory();
            } finally {
                dcs.cancelInitialize();
            }
            throw e;
        }
        Instant t = clock.instant();
        if (dcs.acquireLeader()) {
            lockProven(t);
        }
        ClusterState cluster = dcs.read();
        dcs.writeInitialize(sysid, cluster.initialize() == null ? Dcs.ABSENT : cluster.initializeVersion());
        if (cluster.config() == null) {
            dcs.writeConfig(config.bootstrapDcs(), Dcs.ABSENT);
        }
        LOG.info("[{}] initialized a new cluster with system identifier {}", config.name(), sysid);
    }

    private void startReplica(Member leader, boolean checkDivergence) throws PostgresException {
        if (checkDivergence && !isPrimaryRole(leader)) {
            // the leader is still being promoted: its timeline is not final (a replica's pg_control
            // names the timeline of its last restartpoint), so a check now can find a divergence that
            // is not there and rewind a cleanly stopped former primary for nothing (seen after a
            // switchover in pgha bench). Start as its replica; Follow checks once it is a primary.
            LOG.info(
                    "[{}] the leader {} is not a primary yet: starting as its replica, the divergence check"
                            + " follows once it is",
                    config.name(),
                    leader.name());
        } else if (checkDivergence && postgres.needsRewind(leader)) {
            DynamicConfig cfg = config.withLocalOverrides(dynamicConfig);
            boolean rewound = false;
            if (cfg.usePgRewind()) {
                LOG.info("[{}] rewinding from leader {}", config.name(), leader.name());
                rewound = postgres.rewind(leader);
            }
            if (!rewound) {
                boolean mayRemove = cfg.usePgRewind()
                        ? cfg.removeDataDirectoryOnRewindFailure()
                        : cfg.removeDataDirectoryOnDivergedTimelines();
                if (!mayRemove) {
                    throw new PostgresException("the data directory has diverged from the leader " + leader.name()
                            + (cfg.usePgRewind() ? " and pg_rewind failed" : " and use_pg_rewind is off")
                            + "; set postgresql.remove_data_directory_on_rewind_failure (or"
                            + " remove_data_directory_on_diverged_timelines) to re-clone, or reinitialize by hand");
                }
                LOG.warn(
                        "[{}] removing the diverged data directory and cloning again from {}",
                        config.name(),
                        leader.name());
                postgres.removeDataDirectory();
                postgres.cloneFrom(leader);
            }
        }
        postgres.start(leader, PG_TIMEOUT);
        // as for Follow: a leader still in recovery is checked for divergence again once it is a primary
        following = isPrimaryRole(leader) ? leader.name() : null;
        fire(l -> l.postgresStarted("replica"));
    }

    /** Whether a member record says its PostgreSQL runs out of recovery (Patroni 2 wrote "master"). */
    private static boolean isPrimaryRole(Member m) {
        String role = m.role();
        return "primary".equals(role) || "master".equals(role) || "standby_leader".equals(role);
    }

    private void promote(HaInput input) throws PostgresException {
        PostgresStatus before = input.postgres();
        postgres.promote(PG_TIMEOUT);
        following = null;
        try {
            ClusterState cluster = dcs.read();
            List<HistoryEntry> history = new ArrayList<>(cluster.history());
            history.add(new HistoryEntry(
                    before.timeline(),
                    before.lastLsn(),
                    "no recovery target specified",
                    DcsJson.formatTimestamp(clock.instant()),
                    config.name()));
            dcs.writeHistory(history);
            PostgresStatus after = postgres.status();
            dcs.writeStatus(new ClusterStatus(after.writeLsn(), Map.of(), List.of()));
        } catch (DcsException e) {
            LOG.warn("[{}] promoted, but could not record history: {}", config.name(), e.getMessage());
        }
    }

    private void demote(Action.Demote d) throws PostgresException, DcsException {
        fire(l -> l.aboutToDemote(d.releaseLock() ? "switchover" : "lost the leader lock"));
        postgres.stop(d.mode(), d.checkpointFirst(), PG_TIMEOUT);
        following = null;
        fire(l -> l.postgresStopped("primary"));
        if (d.releaseLock()) {
            PostgresStatus stopped = postgres.status();
            if (stopped.lastLsn() > 0) {
                dcs.writeStatus(new ClusterStatus(stopped.lastLsn(), Map.of(), List.of()));
            }
            dcs.releaseLeader();
            lockValidUntil = null;
            disarmGuard();
        }
    }

    private static String longActionName(Action a) {
        return a.getClass()
                .getSimpleName()
                .replaceAll("([a-z])([A-Z])", "$1 $2")
                .toLowerCase(java.util.Locale.ROOT);
    }

    private static String activityFor(Action a) {
        if (a instanceof Action.Bootstrap) {
            return "initializing new cluster";
        } else if (a instanceof Action.CloneFrom || a instanceof Action.Reinitialize) {
            return "creating replica";
        } else if (a instanceof Action.Demote) {
            return "stopping";
        } else if (a instanceof Action.Restart) {
            return "restarting";
        } else if (a instanceof Action.StartPrimary || a instanceof Action.StartReplica) {
            return "starting";
        }
        return null;
    }

    // ---- publishing ------------------------------------------------------------------------------

    private void publish(HaInput input, Decision decision) {
        PostgresStatus pg = postgres.status();
        ClusterState cluster = input.cluster();
        boolean holdsLock = lockValidUntil != null;
        String role = roleOf(pg, input.dataDirectoryEmpty());
        Map<String, Object> member = memberData(pg, role);
        if (cluster != null && !shutdownRequested) {
            try {
                dcs.touchMember(member);
            } catch (DcsException e) {
                LOG.warn("[{}] could not update the member key: {}", config.name(), e.getMessage());
            }
        }
        NodeState previous = state;
        String listenerRole = pg.isRunning() ? role : (input.dataDirectoryEmpty() ? "uninitialized" : "stopped");
        NodeState next = new NodeState(
                config.name(),
                config.scope(),
                role,
                holdsLock,
                pg,
                cluster != null ? cluster : previous.cluster(),
                dynamicConfig,
                clock.instant(),
                dcsLastSeen,
                config.tags(),
                config.apiUrl(),
                config.connUrl(),
                decision == null ? null : decision.reason(),
                scheduledRestart.get(),
                failsafeActive);
        state = next;
        String oldLeader = previous.cluster() == null || !previous.cluster().hasLeader()
                ? null
                : previous.cluster().leader().name();
        String newLeader = next.cluster() == null || !next.cluster().hasLeader()
                ? null
                : next.cluster().leader().name();
        if (cluster != null && !Objects.equals(oldLeader, newLeader)) {
            fire(l -> l.leaderChanged(oldLeader, newLeader));
            if (newLeader != null) {
                String before = lastKnownLeader;
                if (before != null && !before.equals(newLeader)) {
                    fire(l -> l.failoverHappened(before, newLeader));
                }
                lastKnownLeader = newLeader;
            }
        }
        if (!Objects.equals(lastListenerRole, listenerRole)) {
            String from = lastListenerRole;
            lastListenerRole = listenerRole;
            fire(l -> l.roleChanged(from, listenerRole));
        }
    }

    private static String roleOf(PostgresStatus pg, boolean empty) {
        if (pg.isRunning()) {
            return pg.isPrimary() ? "primary" : "replica";
        }
        if (empty) {
            return "uninitialized";
        }
        return pg.role() == PostgresStatus.Role.PRIMARY ? "primary" : "replica";
    }

    private Map<String, Object> memberData(PostgresStatus pg, String role) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (config.connUrl() != null) {
            m.put("conn_url", config.connUrl());
        }
        if (config.apiUrl() != null) {
            m.put("api_url", config.apiUrl());
        }
        String activity = activityState;
        m.put("state", activity != null ? activity : pg.state());
        m.put("role", role);
        m.put("version", VERSION);
        if (pg.isRunning() || pg.lastLsn() > 0) {
            m.put("xlog_location", pg.lastLsn());
        }
        if (pg.role() == PostgresStatus.Role.REPLICA && pg.isRunning()) {
            m.put("replay_lsn", pg.replayLsn());
            m.put("receive_lsn", pg.receiveLsn());
            if (pg.replicationState() != null) {
                m.put("replication_state", pg.replicationState());
            }
        }
        if (pg.timeline() > 0) {
            m.put("timeline", pg.timeline());
        }
        if (pg.pendingRestart()) {
            m.put("pending_restart", true);
        }
        if (dynamicConfig.isPaused()) {
            m.put("pause", true);
        }
        RestartRequest scheduled = scheduledRestart.get();
        if (scheduled != null && scheduled.schedule() != null) {
            Map<String, Object> sr = new LinkedHashMap<>();
            sr.put("schedule", DcsJson.formatTimestamp(scheduled.schedule()));
            if (scheduled.role() != null) {
                sr.put("role", scheduled.role());
            }
            if (scheduled.postgresVersion() != null) {
                sr.put("postgres_version", scheduled.postgresVersion());
            }
            if (scheduled.restartPending()) {
                sr.put("restart_pending", true);
            }
            m.put("scheduled_restart", sr);
        }
        if (!config.tags().isEmpty()) {
            m.put("tags", config.tags());
        }
        return m;
    }

    private void fire(java.util.function.Consumer<HaListener> event) {
        for (HaListener l : listeners) {
            eventExecutor.execute(() -> {
                try {
                    event.accept(l);
                } catch (RuntimeException e) {
                    LOG.warn("[{}] listener {} failed", config.name(), l, e);
                }
            });
        }
    }

    // ---- operator requests -----------------------------------------------------------------------

    private void applyScheduledRestart(Instant now) {
        RestartRequest r = scheduledRestart.get();
        if (r != null
                && r.schedule() != null
                && !now.isBefore(r.schedule())
                && scheduledRestart.compareAndSet(r, null)) {
            restartDue = matches(r, postgres.status());
        }
    }

    private boolean matches(RestartRequest r, PostgresStatus pg) {
        if (r.role() != null) {
            String want = "master".equals(r.role()) ? "primary" : r.role();
            if (!want.equals(roleOf(pg, false))) {
                return false;
            }
        }
        return !r.restartPending() || pg.pendingRestart();
    }

    @Override
    public boolean restart(RestartRequest request) throws InterruptedException {
        if (request.schedule() != null) {
            if (dynamicConfig.isPaused()) {
                throw new IllegalStateException("Can't schedule restart in the paused state");
            }
            if (!scheduledRestart.compareAndSet(null, request)) {
                throw new IllegalStateException("Another restart is already scheduled");
            }
            return true;
        }
        if (!matches(request, postgres.status())) {
            return false;
        }
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        actionExecutor.execute(() -> {
            activityState = "restarting";
            try {
                postgres.restart(request.timeout() == null ? PG_TIMEOUT : request.timeout());
                String r = postgres.status().isPrimary() ? "primary" : "replica";
                fire(l -> l.postgresRestarted(r));
                done.complete(true);
            } catch (PostgresException | RuntimeException e) {
                LOG.error("[{}] restart failed: {}", config.name(), e.getMessage());
                done.complete(false);
            } finally {
                activityState = null;
                dcs.wakeUp();
            }
        });
        try {
            Duration t = request.timeout() == null
                    ? PG_TIMEOUT.plusSeconds(10)
                    : request.timeout().plusSeconds(10);
            return done.get(t.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return false;
        } catch (java.util.concurrent.ExecutionException e) {
            return false;
        }
    }

    @Override
    public boolean cancelScheduledRestart() {
        return scheduledRestart.getAndSet(null) != null;
    }

    @Override
    public void reinitialize(boolean force, boolean fromLeader) {
        if (lockValidUntil != null || state.holdsLock()) {
            throw new IllegalStateException("I am the leader, can not reinitialize");
        }
        reinitializeRequested = true;
        wakeUp();
    }

    @Override
    public void reload() {
        try {
            postgres.reload();
            String r = postgres.status().isPrimary() ? "primary" : "replica";
            fire(l -> l.postgresReloaded(r));
        } catch (PostgresException e) {
            LOG.warn("[{}] reload failed: {}", config.name(), e.getMessage());
        }
        wakeUp();
    }

    // ---- shutdown --------------------------------------------------------------------------------

    /**
     * Stops the node: the loop, then PostgreSQL (a leader checkpoints, stops, records its last
     * position and releases the lock so that a replica takes over without waiting for the ttl),
     * then the DCS session. Idempotent.
     */
    @Override
    public void close() {
        State before = lifecycle.getAndSet(State.CLOSED);
        if (before == State.CLOSED) {
            return;
        }
        if (loopThread != null) {
            dcs.wakeUp();
            loopThread.interrupt();
            try {
                loopThread.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        CompletableFuture<Void> action = currentAction;
        if (action != null) {
            try {
                action.get(PG_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            } catch (Exception e) {
                LOG.warn("[{}] an action was still running at shutdown: {}", config.name(), e.toString());
            }
        }
        boolean wasLeader = lockValidUntil != null;
        try {
            PostgresStatus running = postgres.status();
            if (running.isRunning()) {
                if (wasLeader) {
                    fire(l -> l.aboutToDemote("shutdown"));
                }
                postgres.stop(StopMode.FAST, wasLeader, PG_TIMEOUT);
                String r = running.isPrimary() ? "primary" : "replica";
                fire(l -> l.postgresStopped(r));
            }
        } catch (PostgresException e) {
            LOG.error("[{}] stopping PostgreSQL at shutdown failed: {}", config.name(), e.getMessage());
        }
        disarmGuard();
        if (wasLeader) {
            try {
                PostgresStatus stopped = postgres.status();
                if (stopped.lastLsn() > 0) {
                    dcs.writeStatus(new ClusterStatus(stopped.lastLsn(), Map.of(), List.of()));
                }
                dcs.releaseLeader();
                LOG.info("[{}] released the leader lock at shutdown", config.name());
            } catch (DcsException e) {
                LOG.warn("[{}] could not release the leader lock at shutdown: {}", config.name(), e.getMessage());
            }
            lockValidUntil = null;
        }
        dcs.close();
        fire(HaListener::nodeStopped);
        if (lockGuard != null) {
            lockGuard.close();
        }
        fence.close();
        shutdown(ownedActionExecutor);
        shutdown(ownedEventExecutor);
        LOG.info("[{}] stopped", config.name());
    }

    /** For tests: the probe a primary cut off from the DCS calls the members with. */
    FailsafeProbe failsafeProbe() {
        return failsafeProbe;
    }

    private static void shutdown(ExecutorService e) {
        if (e == null) {
            return;
        }
        e.shutdown();
        try {
            if (!e.awaitTermination(10, TimeUnit.SECONDS)) {
                e.shutdownNow();
            }
        } catch (InterruptedException ie) {
            e.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    private java.util.concurrent.ThreadFactory named(String role) {
        return r -> {
            Thread t = new Thread(r, "pgha-" + config.name() + "-" + role);
            t.setDaemon(true);
            return t;
        };
    }

    /** Builds a node. Not thread-safe. */
    public static final class Builder {
        private NodeConfig config;
        private Dcs dcs;
        private String dcsType;
        private Map<String, Object> dcsOptions = Map.of();
        private PostgresController postgres;
        private PeerProbe peerProbe;
        private FailsafeProbe failsafeProbe;
        private io.pgha.api.RestApiConfig restApi;
        private Clock clock;
        private final List<HaListener> listeners = new ArrayList<>();
        private Executor actionExecutor;
        private Executor eventExecutor;
        private boolean lockGuard = true;
        private Fence fence;

        private Builder() {}

        public Builder config(NodeConfig v) {
            config = v;
            return this;
        }

        public Builder dcs(Dcs v) {
            dcs = v;
            dcsType = null;
            return this;
        }

        /**
         * The DCS by provider type ({@code etcd3}, {@code zookeeper}, {@code consul}, {@code memory})
         * and its settings (Patroni's section for that backend, e.g. {@code hosts}); the node's
         * scope, name, namespace and the bootstrap ttl complete them. Connected in {@link #build()}.
         */
        public Builder dcs(String type, Map<String, Object> options) {
            dcsType = Objects.requireNonNull(type, "type");
            dcsOptions = options == null ? Map.of() : Map.copyOf(options);
            dcs = null;
            return this;
        }

        /**
         * The node's configuration and its DCS from a Patroni configuration file (scope, name,
         * namespace, restapi.connect_address, postgresql.connect_address, tags, bootstrap.dcs and
         * the etcd3 / zookeeper / consul section). The PostgresController is still given with
         * {@link #postgres}: pgha-postgres's {@code LocalPostgresConfig.fromPatroni} reads the same
         * file's postgresql section.
         */
        public Builder patroniYaml(io.pgha.config.PatroniYaml yaml) {
            config = yaml.nodeConfig();
            if (!yaml.restapi().isEmpty()) {
                restApi = io.pgha.api.RestApiConfig.fromPatroni(yaml.restapi());
            }
            return dcs(yaml.dcsType(), yaml.dcsOptions());
        }

        /**
         * The REST API settings the members share (Patroni's {@code restapi} section): the default peer
         * and failsafe probes then send its Basic credentials and use its TLS settings, as the members'
         * APIs expect ({@code POST /failsafe} needs the credentials when they are set). Set by
         * {@link #patroniYaml}; an explicit {@link #peerProbe} or {@link #failsafeProbe} wins.
         */
        public Builder restApi(io.pgha.api.RestApiConfig v) {
            restApi = v;
            return this;
        }

        public Builder postgres(PostgresController v) {
            postgres = v;
            return this;
        }

        /** How the node asks other members for their status; default HTTP GET of their api_url. */
        public Builder peerProbe(PeerProbe v) {
            peerProbe = v;
            return this;
        }

        /**
         * The out-of-process fence the node arms each time it proves the lock (default none; see
         * {@code io.pgha.postgres.fence.ShellFence} and docs/safety.md). The node closes it.
         */
        public Builder fence(Fence v) {
            fence = v;
            return this;
        }

        /**
         * How a primary cut off from the DCS calls POST /failsafe (default: HTTP, with the credentials of
         * {@link #restApi} when given, else without authentication).
         */
        public Builder failsafeProbe(FailsafeProbe v) {
            failsafeProbe = v;
            return this;
        }

        public Builder clock(Clock v) {
            clock = v;
            return this;
        }

        public Builder listener(HaListener v) {
            listeners.add(v);
            return this;
        }

        /** For the simulation: run long actions on this executor (a direct one makes them synchronous). */
        Builder actionExecutor(Executor v) {
            actionExecutor = v;
            return this;
        }

        Builder eventExecutor(Executor v) {
            eventExecutor = v;
            return this;
        }

        Builder lockGuard(boolean v) {
            lockGuard = v;
            return this;
        }

        /**
         * Builds the node (not started).
         *
         * @throws IllegalArgumentException for an unknown DCS type or bad DCS settings
         * @throws IllegalStateException when the DCS cannot be connected
         */
        public HaNode build() {
            if (dcs == null && dcsType != null) {
                Objects.requireNonNull(config, "config");
                DynamicConfig initial = config.initialDynamicConfig();
                try {
                    dcs = io.pgha.dcs.DcsProvider.find(dcsType)
                            .create(new io.pgha.dcs.DcsSettings(
                                    config.namespace(),
                                    config.scope(),
                                    config.name(),
                                    initial.ttl(),
                                    initial.retryTimeout(),
                                    dcsOptions));
                } catch (DcsException e) {
                    throw new IllegalStateException("cannot connect to the " + dcsType + " DCS: " + e.getMessage(), e);
                }
            }
            return new HaNode(this);
        }
    }
}
