package io.pgha.api;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.pgha.PghaVersion;
import io.pgha.ha.NodeControl;
import io.pgha.rest.PatroniClient;
import io.pgha.rest.RestApiConfig;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's Patroni-compatible REST API on the JDK's HTTP server: health checks for load
 * balancers, the node and cluster views, and the operator's writes. It reads the node only
 * through {@link NodeControl} and writes the DCS only through {@code NodeControl.dcs()}.
 *
 * <h2>Threads</h2>
 * The JDK's server reads a request's line and headers on the thread it hands the connection to,
 * so a client that stalls while sending them holds that thread. Connections therefore get a thread
 * each from an elastic pool of up to {@link #MAX_CONNECTION_THREADS} daemon threads (idle ones end
 * after 30 s; beyond the cap a new connection is closed unread), and a request must arrive whole,
 * line, headers and body, within {@code sun.net.httpserver.maxReqTime} seconds, which this class
 * sets to {@link #MAX_REQUEST_SECONDS} when the JVM has not set it (a JVM-wide property read once,
 * when the first JDK HTTP server of the process starts), and its headers within
 * {@code sun.net.httpserver.maxReqHeaderSize} bytes (set to {@link #MAX_HEADER_BYTES} likewise).
 * A request body must also arrive within {@link RestApiConfig#readTimeout()} (408 otherwise) and fit
 * in {@link RestApiConfig#maxBodyBytes()} (413 otherwise).
 *
 * <p>Once read, the health checks ({@code /primary}, {@code /replica}, ..., {@code /liveness},
 * {@code /readiness}) run at once: they read memory only. Every other request (views that read
 * the DCS, writes) first takes one of {@link RestApiConfig#threadPoolSize()} permits, waiting at
 * most {@link ApiHandler#PERMIT_WAIT} (503 otherwise), so a flood of expensive requests cannot
 * take the CPU or the DCS from the health checks. A switchover call holds its permit while it
 * waits for the outcome.
 *
 * <p>{@link #close()} stops listening, ends the worker threads and is idempotent.
 */
public final class RestApiServer implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(RestApiServer.class);
    /**
     * The pgha version reported as {@code patroni.version} and {@code patroni_version}: the form
     * Patroni parses, as in the member key (PghaVersion).
     */
    static final String VERSION = PghaVersion.patroniVersion();

    /** The most connections read or served at once; beyond, a new connection is closed unread. */
    static final int MAX_CONNECTION_THREADS = 256;
    /**
     * Connections the kernel queues before they are accepted (capped by {@code net.core.somaxconn}).
     * With a short queue, a connection flood makes the kernel drop the SYN of a load balancer's
     * health check, which the client resends only after a second: the check then fails for a
     * reason that has nothing to do with this node. Measured by {@code HostileLoadSideBySideIT}.
     */
    static final int LISTEN_BACKLOG = 4096;
    /** The default of {@code sun.net.httpserver.maxReqTime}: seconds to receive a whole request. */
    static final int MAX_REQUEST_SECONDS = 5;
    /** The default of {@code sun.net.httpserver.maxReqHeaderSize}: bytes of request line and headers. */
    static final int MAX_HEADER_BYTES = 16 * 1024;

    private static final AtomicLong LAST_REFUSAL_LOG = new AtomicLong();

    static {
        if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
            System.setProperty("sun.net.httpserver.maxReqTime", String.valueOf(MAX_REQUEST_SECONDS));
        }
        if (System.getProperty("sun.net.httpserver.maxReqHeaderSize") == null) {
            System.setProperty("sun.net.httpserver.maxReqHeaderSize", String.valueOf(MAX_HEADER_BYTES));
        }
    }

    private final NodeControl node;
    private final ApiHandler handler;
    private final Switchover switchover;
    /** False when a test gave the peer client: a reload then keeps it. */
    private final boolean ownClient;

    private final ExecutorService peerCalls;
    private final ScheduledExecutorService watchdog;
    /** The listening server of the running settings; replaced by a reload that rebinds. */
    private volatile Bound bound;

    private volatile boolean closed;

    /**
     * One bound server: the JDK server, its connection threads, the settings it was bound with,
     * the TLS context it uses, and the fingerprint of the TLS files it was read from.
     */
    private record Bound(
            HttpServer server,
            ThreadPoolExecutor workers,
            RestApiConfig config,
            SSLContext tls,
            String tlsFiles,
            String url) {}

    private RestApiServer(
            NodeControl node,
            ApiHandler handler,
            Switchover switchover,
            boolean ownClient,
            ExecutorService peerCalls,
            ScheduledExecutorService watchdog) {
        this.node = node;
        this.handler = handler;
        this.switchover = switchover;
        this.ownClient = ownClient;
        this.peerCalls = peerCalls;
        this.watchdog = watchdog;
    }

    /**
     * Binds the listen address and starts serving.
     *
     * @throws IOException when the address cannot be bound (the message names {@code restapi.listen})
     * @throws IllegalArgumentException when the TLS files cannot be used (the message names the file)
     */
    public static RestApiServer start(RestApiConfig config, NodeControl node) throws IOException {
        return start(config, node, Options.DEFAULTS);
    }

    /** Test seams: the clock, and how a switchover call polls for its outcome. */
    record Options(Clock clock, Duration pollInterval, Duration pollBound, PatroniClient client) {
        static final Options DEFAULTS = new Options(Clock.systemUTC(), Duration.ofMillis(500), null, null);
    }

    static RestApiServer start(RestApiConfig config, NodeControl node, Options options) throws IOException {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(node, "node");
        SSLContext tls = tlsContext(config);
        String tlsFiles = tlsFingerprint(config);
        ExecutorService peerCalls = Executors.newCachedThreadPool(daemon("pgha-restapi-peer-"));
        ScheduledExecutorService watchdog =
                Executors.newSingleThreadScheduledExecutor(daemon("pgha-restapi-watchdog-"));
        PatroniClient client = options.client() != null ? options.client() : PatroniClient.create(config);
        Switchover switchover =
                new Switchover(node, client, peerCalls, options.clock(), options.pollInterval(), options.pollBound());
        ApiHandler handler = new ApiHandler(
                config, node, access(config, node), switchover, watchdog, peerCalls, options.clock(), VERSION);
        RestApiServer api = new RestApiServer(node, handler, switchover, options.client() == null, peerCalls, watchdog);
        try {
            api.bound = api.bind(config, tls, tlsFiles);
        } catch (IOException | RuntimeException e) {
            peerCalls.shutdownNow();
            watchdog.shutdownNow();
            throw e;
        }
        String openWrites = config.openWritesWarning();
        if (openWrites != null) {
            LOG.warn("{}", openWrites);
        }
        return api;
    }

    private static AccessControl access(RestApiConfig config, NodeControl node) {
        return new AccessControl(
                config, () -> node.state() == null ? null : node.state().cluster());
    }

    /** The server's TLS context, or null without TLS; IllegalArgumentException names the file. */
    private static SSLContext tlsContext(RestApiConfig config) throws IOException {
        if (!config.isTls()) {
            return null;
        }
        try {
            return config.serverSslContext();
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * A digest of the TLS files' contents: a certificate renewed in place (same paths, new
     * contents) makes a reload bind again, as Patroni does when the certificate's serial changes.
     */
    private static String tlsFingerprint(RestApiConfig config) throws IOException {
        if (!config.isTls()) {
            return "";
        }
        try {
            java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
            for (java.nio.file.Path f : java.util.Arrays.asList(config.certfile(), config.keyfile(), config.cafile())) {
                sha.update(f == null ? new byte[0] : java.nio.file.Files.readAllBytes(f));
                sha.update((byte) 0);
            }
            return java.util.HexFormat.of().formatHex(sha.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Binds {@code config}'s listen address with {@code tls} (null: plain HTTP) and starts serving. */
    private Bound bind(RestApiConfig config, SSLContext tls, String tlsFiles) throws IOException {
        InetSocketAddress address = new InetSocketAddress(config.listenHost(), config.listenPort());
        HttpServer server;
        try {
            if (tls != null) {
                HttpsServer https = HttpsServer.create(address, LISTEN_BACKLOG);
                RestApiConfig.VerifyClient verify = config.verifyClient();
                https.setHttpsConfigurator(new HttpsConfigurator(tls) {
                    @Override
                    public void configure(HttpsParameters params) {
                        SSLParameters p = getSSLContext().getDefaultSSLParameters();
                        p.setNeedClientAuth(verify == RestApiConfig.VerifyClient.REQUIRED);
                        if (verify == RestApiConfig.VerifyClient.OPTIONAL) {
                            p.setWantClientAuth(true);
                        }
                        params.setSSLParameters(p);
                    }
                });
                server = https;
            } else {
                server = HttpServer.create(address, LISTEN_BACKLOG);
            }
        } catch (IOException e) {
            throw new IOException(
                    "Couldn't start the REST API on " + config.listenHost() + ":" + config.listenPort()
                            + ", please check restapi.listen: " + e.getMessage(),
                    e);
        }
        int port = server.getAddress().getPort();
        ThreadPoolExecutor workers = new ThreadPoolExecutor(
                config.threadPoolSize(),
                Math.max(config.threadPoolSize(), MAX_CONNECTION_THREADS),
                30,
                TimeUnit.SECONDS,
                new SynchronousQueue<>(),
                daemon("pgha-restapi-" + port + "-"),
                (task, pool) -> {
                    long now = System.nanoTime();
                    long last = LAST_REFUSAL_LOG.get();
                    if (now - last > TimeUnit.SECONDS.toNanos(10) && LAST_REFUSAL_LOG.compareAndSet(last, now)) {
                        LOG.warn(
                                "REST API on port {}: {} connections in progress, closing new ones unread"
                                        + " (slow or flooding clients?)",
                                port,
                                pool.getActiveCount());
                    }
                    throw new RejectedExecutionException("REST API busy");
                });
        workers.allowCoreThreadTimeOut(true);
        server.createContext("/", handler);
        server.setExecutor(workers);
        server.start();
        String scheme = tls != null ? "https" : "http";
        String hostPort = config.connectAddress() != null
                ? config.connectAddress()
                : hostForUrl(config.listenHost()) + ":" + port;
        String url = scheme + "://" + hostPort + "/patroni";
        LOG.info("REST API listening on {}:{} ({}), api_url {}", config.listenHost(), port, scheme, url);
        return new Bound(server, workers, config, tls, tlsFiles, url);
    }

    private static String hostForUrl(String host) {
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    /** How long a server being replaced lets the requests in progress finish. */
    private static final int DRAIN_SECONDS = 2;

    /**
     * Applies a reloaded {@code restapi} section, as Patroni's SIGHUP does. Everything is checked
     * first (the TLS files read and their context built, the allowlist parsed); when a check fails
     * the running API is left exactly as it was and the exception names the key.
     *
     * <p>When only credentials, allowlist, {@code allowlist_include_members}, extra headers or
     * {@code connect_address} change, the new settings apply in place from the next request on.
     * When {@code listen}, the TLS settings or the TLS files' contents change, the API binds
     * again: on a new port, the new server starts before the old one stops (no moment without an
     * API, and a port that cannot be bound leaves the old server running); on the same port, where
     * the two cannot listen at once (the JDK server has no SO_REUSEPORT), the old server stops, the
     * new one binds, and if that bind fails (the port taken in between) the old settings bind
     * again, so the member keeps an API whenever it can. {@code thread_pool_size} takes effect at
     * the next start only.
     *
     * @return true when anything changed
     * @throws IllegalArgumentException when the new settings cannot be used (naming the key or the
     *     file); nothing changed
     * @throws IOException when a TLS file cannot be read, or the new address cannot be bound; the
     *     old settings are running
     */
    public synchronized boolean reconfigure(RestApiConfig next) throws IOException {
        Objects.requireNonNull(next, "config");
        if (closed) {
            throw new IllegalStateException("the REST API is stopped");
        }
        Bound old = bound;
        String tlsFiles;
        SSLContext tls;
        try {
            tlsFiles = tlsFingerprint(next);
            tls = tlsContext(next);
        } catch (IOException e) {
            throw new IOException("restapi.certfile/keyfile/cafile: " + e.getMessage(), e);
        }
        AccessControl access = access(next, node);
        // the client a switchover calls the candidate with: the new credentials and TLS material
        PatroniClient client = ownClient ? PatroniClient.create(next) : null;
        boolean rebind = !sameBinding(old.config(), next) || !tlsFiles.equals(old.tlsFiles());
        if (!rebind) {
            if (sameRequestSettings(old.config(), next)) {
                return false;
            }
            handler.apply(next, access);
            applyClient(client);
            bound = new Bound(old.server(), old.workers(), next, old.tls(), old.tlsFiles(), url(next, old));
            LOG.info("REST API settings reloaded in place ({})", next);
            warnOpenWrites(old.config(), next);
            return true;
        }
        boolean samePort = next.listenPort() != 0
                && next.listenPort() == old.server().getAddress().getPort();
        Bound fresh;
        if (!samePort) {
            fresh = bind(next, tls, tlsFiles); // throws with the old server still running
            handler.apply(next, access);
            applyClient(client);
            bound = fresh;
            stop(old);
        } else {
            stop(old);
            try {
                fresh = bind(next, tls, tlsFiles);
            } catch (IOException | RuntimeException e) {
                LOG.error(
                        "REST API: cannot bind the reloaded settings ({}); binding the previous ones again",
                        e.getMessage());
                try {
                    bound = bind(old.config(), old.tls(), old.tlsFiles());
                } catch (IOException | RuntimeException again) {
                    LOG.error(
                            "REST API: cannot bind the previous settings either ({}): the REST API is down"
                                    + " until the next reload or restart",
                            again.getMessage());
                    e.addSuppressed(again);
                }
                throw e;
            }
            handler.apply(next, access);
            applyClient(client);
            bound = fresh;
        }
        LOG.info("REST API rebound with the reloaded settings ({})", next);
        warnOpenWrites(old.config(), next);
        return true;
    }

    private void applyClient(PatroniClient client) {
        if (client != null) {
            switchover.client(client);
        }
    }

    private static String url(RestApiConfig config, Bound b) {
        String scheme = b.tls() != null ? "https" : "http";
        String hostPort = config.connectAddress() != null
                ? config.connectAddress()
                : hostForUrl(config.listenHost()) + ":"
                        + b.server().getAddress().getPort();
        return scheme + "://" + hostPort + "/patroni";
    }

    private static void warnOpenWrites(RestApiConfig old, RestApiConfig next) {
        String openWrites = next.openWritesWarning();
        if (openWrites != null && old.hasAuthentication()) {
            LOG.warn("{}", openWrites);
        }
    }

    /** Same listen address and TLS settings (the files' contents are compared apart). */
    private static boolean sameBinding(RestApiConfig a, RestApiConfig b) {
        return a.listenHost().equals(b.listenHost())
                && a.listenPort() == b.listenPort()
                && Objects.equals(a.certfile(), b.certfile())
                && Objects.equals(a.keyfile(), b.keyfile())
                && Objects.equals(a.keyfilePassword(), b.keyfilePassword())
                && Objects.equals(a.cafile(), b.cafile())
                && a.verifyClient() == b.verifyClient();
    }

    /** Same settings as read by each request (and the advertised address). */
    private static boolean sameRequestSettings(RestApiConfig a, RestApiConfig b) {
        return Objects.equals(a.username(), b.username())
                && Objects.equals(a.password(), b.password())
                && a.allowlist().equals(b.allowlist())
                && a.allowlistIncludeMembers() == b.allowlistIncludeMembers()
                && a.httpExtraHeaders().equals(b.httpExtraHeaders())
                && Objects.equals(a.connectAddress(), b.connectAddress())
                && a.maxBodyBytes() == b.maxBodyBytes()
                && a.readTimeout().equals(b.readTimeout());
    }

    private static void stop(Bound b) {
        InetSocketAddress address = b.server().getAddress();
        b.server().stop(DRAIN_SECONDS);
        b.workers().shutdownNow();
        LOG.info("REST API on {} stopped", address);
    }

    /** The bound address (with the real port when 0 was asked for). */
    public InetSocketAddress address() {
        return bound.server().getAddress();
    }

    /** Worker threads busy now (reading a request or serving it): a test seam. */
    int busyThreads() {
        return bound.workers().getActiveCount();
    }

    /** This member's {@code api_url}: {@code http(s)://<connect_address or listen>/patroni}. */
    public String apiUrl() {
        return bound.url();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Bound b = bound;
        b.server().stop(0);
        b.workers().shutdownNow();
        peerCalls.shutdownNow();
        watchdog.shutdownNow();
        LOG.info("REST API on {} stopped", b.url());
    }

    private static ThreadFactory daemon(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
