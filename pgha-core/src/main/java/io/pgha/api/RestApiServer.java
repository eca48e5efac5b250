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

    private final HttpServer server;
    private final ThreadPoolExecutor workers;
    private final ExecutorService peerCalls;
    private final ScheduledExecutorService watchdog;
    private final String url;
    private volatile boolean closed;

    private RestApiServer(
            HttpServer server,
            ThreadPoolExecutor workers,
            ExecutorService peerCalls,
            ScheduledExecutorService watchdog,
            String url) {
        this.server = server;
        this.workers = workers;
        this.peerCalls = peerCalls;
        this.watchdog = watchdog;
        this.url = url;
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
        InetSocketAddress bind = new InetSocketAddress(config.listenHost(), config.listenPort());
        HttpServer server;
        try {
            if (config.isTls()) {
                SSLContext ctx = config.serverSslContext();
                HttpsServer https = HttpsServer.create(bind, LISTEN_BACKLOG);
                RestApiConfig.VerifyClient verify = config.verifyClient();
                https.setHttpsConfigurator(new HttpsConfigurator(ctx) {
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
                server = HttpServer.create(bind, LISTEN_BACKLOG);
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
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
        ExecutorService peerCalls = Executors.newCachedThreadPool(daemon("pgha-restapi-peer-" + port + "-"));
        ScheduledExecutorService watchdog =
                Executors.newSingleThreadScheduledExecutor(daemon("pgha-restapi-watchdog-" + port + "-"));
        PatroniClient client = options.client() != null ? options.client() : PatroniClient.create(config);
        Switchover switchover =
                new Switchover(node, client, peerCalls, options.clock(), options.pollInterval(), options.pollBound());
        AccessControl access = new AccessControl(
                config, () -> node.state() == null ? null : node.state().cluster());
        server.createContext(
                "/", new ApiHandler(config, node, access, switchover, watchdog, peerCalls, options.clock(), VERSION));
        server.setExecutor(workers);
        server.start();
        String scheme = config.isTls() ? "https" : "http";
        String hostPort = config.connectAddress() != null
                ? config.connectAddress()
                : hostForUrl(config.listenHost()) + ":" + port;
        RestApiServer api =
                new RestApiServer(server, workers, peerCalls, watchdog, scheme + "://" + hostPort + "/patroni");
        LOG.info("REST API listening on {}:{} ({}), api_url {}", config.listenHost(), port, scheme, api.url);
        String openWrites = config.openWritesWarning();
        if (openWrites != null) {
            LOG.warn("{}", openWrites);
        }
        return api;
    }

    private static String hostForUrl(String host) {
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    /** The bound address (with the real port when 0 was asked for). */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    /** Worker threads busy now (reading a request or serving it): a test seam. */
    int busyThreads() {
        return workers.getActiveCount();
    }

    /** This member's {@code api_url}: {@code http(s)://<connect_address or listen>/patroni}. */
    public String apiUrl() {
        return url;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        server.stop(0);
        workers.shutdownNow();
        peerCalls.shutdownNow();
        watchdog.shutdownNow();
        LOG.info("REST API on {} stopped", url);
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
