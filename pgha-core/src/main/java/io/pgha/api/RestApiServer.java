package io.pgha.api;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
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
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
 * Requests run on the server's own pool of {@link RestApiConfig#threadPoolSize()} daemon threads,
 * so a slow client holds one thread and never the others. A request body must arrive within
 * {@link RestApiConfig#readTimeout()} (408 otherwise) and fit in {@link RestApiConfig#maxBodyBytes()}
 * (413 otherwise). A client that stalls while sending its request line or headers is cut off by
 * the JDK server after {@code sun.net.httpserver.maxReqTime} seconds, which this class sets to 30
 * when the JVM has not set it (a JVM-wide property read once, when the first JDK HTTP server of the
 * process starts). A switchover call holds its thread while it waits for the outcome.
 *
 * <p>{@link #close()} stops listening, ends the worker threads and is idempotent.
 */
public final class RestApiServer implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(RestApiServer.class);
    /** The pgha version reported as {@code patroni.version} and {@code patroni_version}. */
    static final String VERSION = versionFromManifest();

    static {
        if (System.getProperty("sun.net.httpserver.maxReqTime") == null) {
            System.setProperty("sun.net.httpserver.maxReqTime", "30");
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
                HttpsServer https = HttpsServer.create(bind, 64);
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
                server = HttpServer.create(bind, 64);
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
                config.threadPoolSize(),
                30,
                TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(256),
                daemon("pgha-restapi-" + port + "-"));
        workers.allowCoreThreadTimeOut(true);
        ExecutorService peerCalls = Executors.newCachedThreadPool(daemon("pgha-restapi-peer-" + port + "-"));
        ScheduledExecutorService watchdog =
                Executors.newSingleThreadScheduledExecutor(daemon("pgha-restapi-watchdog-" + port + "-"));
        PatroniClient client = options.client() != null ? options.client() : PatroniClient.create(config);
        Switchover switchover =
                new Switchover(node, client, peerCalls, options.clock(), options.pollInterval(), options.pollBound());
        AccessControl access = new AccessControl(
                config, () -> node.state() == null ? null : node.state().cluster());
        server.createContext("/", new ApiHandler(config, node, access, switchover, watchdog, options.clock(), VERSION));
        server.setExecutor(workers);
        server.start();
        String scheme = config.isTls() ? "https" : "http";
        String hostPort = config.connectAddress() != null
                ? config.connectAddress()
                : hostForUrl(config.listenHost()) + ":" + port;
        RestApiServer api =
                new RestApiServer(server, workers, peerCalls, watchdog, scheme + "://" + hostPort + "/patroni");
        LOG.info("REST API listening on {}:{} ({}), api_url {}", config.listenHost(), port, scheme, api.url);
        return api;
    }

    private static String hostForUrl(String host) {
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }

    /** The bound address (with the real port when 0 was asked for). */
    public InetSocketAddress address() {
        return server.getAddress();
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

    private static String versionFromManifest() {
        String v = RestApiServer.class.getPackage() == null
                ? null
                : RestApiServer.class.getPackage().getImplementationVersion();
        return v == null ? "0.1.0" : v;
    }
}
