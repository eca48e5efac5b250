package io.pgha.ha;

import io.pgha.PghaVersion;
import io.pgha.config.DynamicConfig;
import io.pgha.config.NodeConfig;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.Tags;
import io.pgha.postgres.PostgresController;
import io.pgha.postgres.PostgresStatus;
import io.pgha.rest.RestApiConfig;
import java.io.Closeable;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pgha node: the agent loop that reads the cluster from the DCS, asks {@link HaEngine} what to
 * do, does it, publishes its member record, and sleeps until {@code loop_wait} passes or the DCS
 * reports a change. This class is the public face; the work is done by small parts, each with one
 * job: {@link HaCycle} (one cycle), {@link CycleInputs} (gathering), {@link Inquiries} (answering
 * the engine's questions), {@link ActionRunner} and {@link PostgresActions} (carrying out actions),
 * {@link Lease} (the lock and its guards), {@link MemberRecord} (publishing), {@link NodeEvents}
 * (listeners) and {@link OperatorRequests} (restart, reinitialize, reload).
 *
 * <h2>Lifecycle</h2>
 * {@link #start()} once (LATENT to STARTED), {@link #close()} any number of times (to CLOSED):
 * close stops PostgreSQL (checkpoint and fast shutdown), releases the lock if held so that a
 * replica takes over at once, ends the DCS session and joins every thread the node started.
 *
 * <h2>Threads</h2>
 * The HA loop runs on {@code pgha-<name>-ha}; long PostgreSQL actions (bootstrap, clone, start,
 * promote, demote, rewind) on {@code pgha-<name>-action}, so that the loop keeps renewing the lock
 * while they run; listeners on {@code pgha-<name>-events}; the lock guard on its own timer; a
 * replica's watch on its leader's ports ({@link LeaderWatch}) on {@code pgha-<name>-leader-watch}. One
 * failing cycle is logged and never ends the loop. Every public method is safe from any thread.
 */
public final class HaNode implements NodeControl, Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(HaNode.class);

    /** Lifecycle, guarded by compare-and-set. */
    public enum State {
        LATENT,
        STARTED,
        CLOSED
    }

    private final NodeConfig config;
    /** This member's tags: the configuration's, until a reload of the node's file replaces them. */
    private final AtomicReference<Map<String, Object>> tags;
    /** How the other members are called (with the shared REST settings); {@link #updateRestApi}. */
    private final PeerAccess peers;
    /** This member's api_url: the configuration's, until {@link #updateApiUrl}. */
    private final AtomicReference<String> apiUrl;

    private final Dcs dcs;
    private final PostgresController postgres;
    private final Clock clock;
    private final ExecutorService ownedActionExecutor;
    private final ExecutorService ownedEventExecutor;
    private final NodeEvents events;
    private final Lease lease;
    private final CycleInputs inputs;
    private final LeaderWatch leaderWatch;
    private final Inquiries inquiries;
    private final ActionRunner runner;
    private final OperatorRequests requests;
    private final MemberRecord record;
    private final HaCycle cycle;
    private final AtomicReference<State> lifecycle = new AtomicReference<>(State.LATENT);
    private Thread loopThread;
    private final java.util.function.Consumer<Throwable> fatalError;

    private HaNode(Builder b) {
        this.fatalError = b.fatalError;
        this.config = Objects.requireNonNull(b.config, "config");
        this.tags = new AtomicReference<>(Tags.published(this.config.tags()));
        this.apiUrl = new AtomicReference<>(this.config.apiUrl());
        this.dcs = Objects.requireNonNull(b.dcs, "dcs");
        this.postgres = Objects.requireNonNull(b.postgres, "postgres");
        this.clock = b.clock == null ? Clock.systemUTC() : b.clock;
        this.ownedActionExecutor = b.actionExecutor == null ? Executors.newSingleThreadExecutor(named("action")) : null;
        this.ownedEventExecutor = b.eventExecutor == null ? Executors.newSingleThreadExecutor(named("events")) : null;
        Executor actionExecutor = b.actionExecutor != null ? b.actionExecutor : ownedActionExecutor;
        this.events = new NodeEvents(
                config.name(), b.eventExecutor != null ? b.eventExecutor : ownedEventExecutor, b.listeners);
        // the lease reads the dynamic configuration in force from the inputs, built just after it
        AtomicReference<CycleInputs> inputsRef = new AtomicReference<>();
        this.lease =
                new Lease(config.name(), clock, postgres, () -> inputsRef.get().dynamicConfig(), b.fence, b.lockGuard);
        this.leaderWatch = new LeaderWatch(
                config.name(), b.endpointProbe != null ? b.endpointProbe : EndpointProbe.tcp(), clock, dcs::wakeUp);
        FailsafePromise promise = b.failsafePromise != null
                ? b.failsafePromise
                : b.stateDirectory != null ? FailsafePromise.file(b.stateDirectory) : FailsafePromise.inMemory();
        this.inputs = new CycleInputs(config, tags::get, dcs, postgres, clock, lease, leaderWatch, promise);
        inputsRef.set(inputs);
        this.peers = b.peerAccess();
        this.inquiries = new Inquiries(
                config,
                apiUrl::get,
                postgres,
                b.peerProbe != null ? b.peerProbe : peers.peerProbe(),
                b.failsafeProbe != null ? b.failsafeProbe : peers.failsafeProbe(),
                clock,
                lease,
                leaderWatch);
        this.requests = new OperatorRequests(config.name(), postgres, dcs, events);
        this.runner = new ActionRunner(
                config, dcs, postgres, clock, lease, actionExecutor, events, requests::reinitializeStarted);
        DynamicConfig initial = inputs.dynamicConfig();
        this.record = new MemberRecord(
                config,
                tags::get,
                apiUrl::get,
                dcs,
                new NodeState(
                        config.name(),
                        config.scope(),
                        "uninitialized",
                        false,
                        postgres.status(),
                        null,
                        initial,
                        null,
                        null,
                        tags.get(),
                        config.apiUrl(),
                        config.connUrl(),
                        "starting",
                        null,
                        false));
        this.cycle =
                new HaCycle(config.name(), clock, postgres, inputs, inquiries, runner, requests, lease, record, events);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The dynamic configuration in force (the DCS's, each bad value replaced by the last good one). */
    DynamicConfig dynamicConfig() {
        return inputs.dynamicConfig();
    }

    /** How many bad values of the DCS's config key this node has logged (each once per key and value). */
    int rejectedConfigValuesLogged() {
        return inputs.rejectedConfigValuesLogged();
    }

    /** Starts the HA loop. */
    public void start() {
        if (!lifecycle.compareAndSet(State.LATENT, State.STARTED)) {
            throw new IllegalStateException("cannot start a node that is " + lifecycle.get());
        }
        loopThread = new Thread(this::loop, "pgha-" + config.name() + "-ha");
        // a failing cycle is caught and logged in the loop: what ends the thread is an Error
        // (OutOfMemoryError, StackOverflowError) or a bug, and a node whose loop is gone must not
        // go on serving stale state
        loopThread.setUncaughtExceptionHandler((t, e) -> fatal(t, e));
        loopThread.start();
        leaderWatch.start();
    }

    public State lifecycle() {
        return lifecycle.get();
    }

    /** The node's clock (the simulation's, in a simulation): what "now" is for its views. */
    Clock clock() {
        return clock;
    }

    public String name() {
        return config.name();
    }

    public void addListener(HaListener listener) {
        events.add(listener);
    }

    public void removeListener(HaListener listener) {
        events.remove(listener);
    }

    @Override
    public NodeState state() {
        return record.state();
    }

    @Override
    public NodeState currentState() {
        NodeState s = record.state();
        if (s == null) {
            return null;
        }
        // the lease as of now too: a lock taken by the action that just bootstrapped counts at once
        PostgresStatus pg = postgres.status();
        // a replica's failsafe activity as of now, as Patroni's failsafe_is_active at request time:
        // a POST /failsafe answered since the last cycle counts at once (a cycle may sit in a DCS
        // read for retry_timeout while the DCS is down), and one older than the ttl no more
        boolean failsafe = pg.isPrimary() ? s.failsafeActive() : inputs.failsafeCalledWithinTtl(clock.instant(), pg);
        return s.withLive(pg, lease.isHeld(), failsafe);
    }

    @Override
    public Dcs dcs() {
        return dcs;
    }

    /** The fence's watchdog is required but not usable (as of the last cycle); see {@link Fence#isHealthy}. */
    @Override
    public boolean watchdogFailed() {
        return inputs.watchdogFailed();
    }

    @Override
    public void wakeUp() {
        dcs.wakeUp();
    }

    @Override
    public boolean restart(RestartRequest request) throws InterruptedException {
        return requests.restart(request, inputs.dynamicConfig().isPaused(), runner);
    }

    @Override
    public boolean cancelScheduledRestart() {
        return requests.cancelScheduledRestart();
    }

    @Override
    public void reinitialize(boolean force, boolean fromLeader) {
        requests.reinitialize(lease.isHeld() || state().holdsLock());
    }

    /**
     * Replaces this member's tags (a reload of the node's file: {@code nofailover},
     * {@code noloadbalance}, {@code failover_priority}, ...); the next cycle writes them into the
     * member key and decides with them. Any thread.
     */
    public void updateTags(Map<String, Object> newTags) {
        Map<String, Object> next = Tags.published(Objects.requireNonNull(newTags, "tags"));
        if (!next.equals(tags.getAndSet(next))) {
            LOG.info("[{}] tags now {}", config.name(), next);
            dcs.wakeUp();
        }
    }

    /**
     * This member's new {@code api_url} (a reload of the node's file moved its REST API: a new
     * {@code restapi.connect_address} or {@code listen}); the next cycle writes it into the member
     * key, where the other members and patronictl find the API. Any thread.
     */
    public void updateApiUrl(String url) {
        String next = Objects.requireNonNull(url, "url");
        if (!next.equals(apiUrl.getAndSet(next))) {
            LOG.info("[{}] api_url now {}", config.name(), next);
            dcs.wakeUp();
        }
    }

    /**
     * The members' shared REST settings of a reloaded file (the {@code restapi:} section): the calls to
     * the other members ({@code GET /patroni}, {@code POST /failsafe}) use its credentials and TLS
     * material from now on, as Patroni's do after a reload. Probes given to the builder are left
     * as they are. Any thread.
     *
     * @throws IllegalArgumentException when its TLS files cannot be used; the calls stay as they were
     */
    public void updateRestApi(RestApiConfig restApi) {
        peers.reconfigure(Objects.requireNonNull(restApi, "restApi"));
    }

    @Override
    public void reload() {
        requests.reload();
    }

    /** Failsafe mode: the primary's POST /failsafe reached this replica (an API thread). */
    @Override
    public void failsafeHeartbeat(Map<String, Object> leader) {
        Map<String, Long> slots = new java.util.LinkedHashMap<>();
        if (leader.get("slots") instanceof Map<?, ?> m) {
            m.forEach((k, v) -> {
                if (v instanceof Number n) {
                    slots.put(String.valueOf(k), n.longValue());
                }
            });
        }
        inputs.failsafeCalled(slots);
        LOG.debug("[{}] failsafe call from {}", config.name(), leader.get("name"));
    }

    // ---- the loop --------------------------------------------------------------------------------

    private void loop() {
        LOG.info("pgha {} starting: member {} of cluster {}", PghaVersion.version(), config.name(), config.scope());
        while (lifecycle.get() == State.STARTED && !runner.shutdownRequested()) {
            Decision d;
            try {
                d = cycle.run();
            } catch (RuntimeException e) {
                LOG.error("HA cycle failed; trying again after loop_wait", e);
                d = null;
            }
            if (runner.shutdownRequested() || lifecycle.get() != State.STARTED) {
                break;
            }
            Duration wait = inputs.dynamicConfig().loopWait();
            if (d != null && d.wakeWithin() != null && d.wakeWithin().compareTo(wait) < 0) {
                wait = d.wakeWithin();
            }
            try {
                awaitNextCycle(wait.isNegative() ? Duration.ZERO : wait);
            } catch (InterruptedException e) {
                break;
            }
        }
    }

    /** How often a replica that does not stream yet looks at its own PostgreSQL between cycles. */
    static final Duration STREAMING_POLL = Duration.ofMillis(500);

    /**
     * Sleeps until {@code wait} passes, the DCS watch reports news or someone wakes the loop. A
     * replica whose PostgreSQL runs but does not stream yet (just started, rewound, demoted) also
     * wakes as soon as it streams, so that its member record says so then and not a loop_wait later
     * (the rejoin a load balancer and an operator see). The look is a local status query, no DCS
     * request; a streaming replica and a primary just wait.
     */
    private void awaitNextCycle(Duration wait) throws InterruptedException {
        PostgresStatus pg = record.state().postgres();
        boolean awaitingStream = pg != null
                && pg.isRunning()
                && pg.role() == PostgresStatus.Role.REPLICA
                && !pg.isStreaming()
                && runner.inProgress() == null;
        if (!awaitingStream) {
            dcs.awaitChange(wait);
            return;
        }
        long end = System.nanoTime() + wait.toNanos();
        while (lifecycle.get() == State.STARTED) {
            long left = end - System.nanoTime();
            if (left <= 0 || dcs.awaitChange(Duration.ofNanos(Math.min(left, STREAMING_POLL.toNanos())))) {
                return;
            }
            if (postgres.status().isStreaming()) {
                LOG.debug("[{}] PostgreSQL streams now: the next cycle runs at once", config.name());
                return;
            }
        }
    }

    /** One HA cycle. Package-private for tests and the simulation, which run cycles themselves. */
    Decision runCycle() {
        return cycle.run();
    }

    /** Until when this node has proven it holds the leader lock, or null. For the simulation's checks. */
    Instant lockValidUntil() {
        return lease.validUntil();
    }

    /** The lock guard's fence, for the simulation, which runs without the guard's timer thread. */
    void fence() {
        lease.fenceIfDue();
    }

    /**
     * For the simulation, which runs no watch thread: one look at the leader's ports; whether a
     * suspicion stands afterwards (the thread would have woken the loop).
     */
    boolean checkLeader() {
        leaderWatch.checkOnce();
        return leaderWatch.suspicion() != null;
    }

    /** For tests: the probe a primary cut off from the DCS calls the members with. */
    FailsafeProbe failsafeProbe() {
        return inquiries.failsafeProbe();
    }

    // ---- shutdown --------------------------------------------------------------------------------

    /**
     * Stops the node: the loop, then what the engine decides for a shutdown (a leader checkpoints,
     * stops, records its last position and releases the lock so that a replica takes over without
     * waiting for the ttl; a replica stops), then the DCS session. Idempotent.
     */
    @Override
    public void close() {
        State before = lifecycle.getAndSet(State.CLOSED);
        if (before == State.CLOSED) {
            return;
        }
        leaderWatch.close();
        if (loopThread != null) {
            dcs.wakeUp();
            loopThread.interrupt();
            try {
                loopThread.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        CompletableFuture<Void> action = runner.running();
        if (action != null) {
            try {
                action.get(PostgresActions.PG_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            } catch (Exception e) {
                LOG.warn("[{}] an action was still running at shutdown: {}", config.name(), e.toString());
            }
        }
        HaInput last = HaInput.builder(config.name())
                .now(clock.instant())
                .config(inputs.dynamicConfig())
                .postgres(postgres.status())
                .lockValidUntil(lease.validUntil())
                .build();
        Decision shutdown = cycle.engine().decideShutdown(last);
        LOG.info("[{}] {}", config.name(), shutdown.reason());
        runner.runToEnd(shutdown);
        lease.disarm();
        if (HaEngine.keepsSessionAtShutdown(last)) {
            dcs.abandon();
        } else {
            dcs.close();
        }
        events.fire(HaListener::nodeStopped);
        lease.close();
        shutdown(ownedActionExecutor);
        shutdown(ownedEventExecutor);
        LOG.info("[{}] stopped", config.name());
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

    private ThreadFactory named(String role) {
        return r -> {
            Thread t = new Thread(r, "pgha-" + config.name() + "-" + role);
            t.setDaemon(true);
            t.setUncaughtExceptionHandler((th, e) -> {
                if (e instanceof VirtualMachineError) {
                    fatal(th, e);
                } else {
                    LOG.error("[{}] {} failed", config.name(), th.getName(), e);
                }
            });
            return t;
        };
    }

    /** A thread of the node died of {@code e}: logged, then handed to the fatal-error handler. */
    private void fatal(Thread t, Throwable e) {
        try {
            LOG.error(
                    "[{}] {} died of {}: the HA loop cannot go on; the lock guard and the fence stop a primary"
                            + " before its lock can expire",
                    config.name(),
                    t.getName(),
                    e.toString(),
                    e);
        } catch (Throwable logging) { // after an OutOfMemoryError even logging may fail
            // the handler below still runs
        }
        fatalError.accept(e);
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
        private EndpointProbe endpointProbe;
        private RestApiConfig restApi;
        private Clock clock;
        private final List<HaListener> listeners = new ArrayList<>();
        private Executor actionExecutor;
        private Executor eventExecutor;
        private boolean lockGuard = true;
        private java.nio.file.Path stateDirectory;
        private FailsafePromise failsafePromise;
        private Fence fence;
        private java.util.function.Consumer<Throwable> fatalError = e -> {};

        private Builder() {}

        /**
         * What to do when the HA loop's thread dies (an {@link Error} such as OutOfMemoryError or
         * StackOverflowError, which the loop does not catch), or another of the node's threads dies
         * of a {@link VirtualMachineError}. The default only logs it: the lock guard and the fence
         * still stop a primary before its lock expires, but the node no longer runs cycles while
         * its REST API would keep answering. A program that owns its process should end it
         * ({@code pgha run} halts the JVM with a non-zero status), so that the fence and the other
         * members see a clean death.
         */
        public Builder onFatalError(java.util.function.Consumer<Throwable> v) {
            fatalError = Objects.requireNonNull(v, "onFatalError");
            return this;
        }

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
                restApi = RestApiConfig.fromPatroni(yaml.restapi());
            }
            return dcs(yaml.dcsType(), yaml.dcsOptions());
        }

        /**
         * The REST API settings the members share (Patroni's {@code restapi} section): the default peer
         * and failsafe probes then send its Basic credentials and use its TLS settings, as the members'
         * APIs expect ({@code POST /failsafe} needs the credentials when they are set). Set by
         * {@link #patroniYaml}; an explicit {@link #peerProbe} or {@link #failsafeProbe} wins.
         */
        public Builder restApi(RestApiConfig v) {
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

        /** For tests and the simulation: how the leader's ports are tried (default: TCP). */
        Builder endpointProbe(EndpointProbe v) {
            endpointProbe = v;
            return this;
        }

        Builder lockGuard(boolean v) {
            lockGuard = v;
            return this;
        }

        /**
         * A private directory of this member's own (created with mode 0700 when missing) where the
         * node keeps what must outlive a restart of the agent: today the failsafe promise (file {@code
         * failsafe-promise}, docs/safety.md). Without it a restarted agent forgets the promise.
         */
        public Builder stateDirectory(java.nio.file.Path v) {
            stateDirectory = v;
            return this;
        }

        /** For the simulation: where the failsafe promise is kept (overrides {@link #stateDirectory}). */
        Builder failsafePromise(FailsafePromise v) {
            failsafePromise = v;
            return this;
        }

        /** The default way to reach the other members, with {@link #restApi}'s credentials and TLS. */
        private PeerAccess peerAccess() {
            return PeerAccess.over(restApi);
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
