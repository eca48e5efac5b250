package io.pgha.dcs.etcd;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.MethodDescriptor;
import io.pgha.dcs.DcsException;
import java.io.Closeable;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the jetcd {@link Client} of one {@link EtcdStore} and replaces it when it stops working.
 *
 * <p>Why replace it: gRPC reconnects by itself, but with an exponential backoff of up to two
 * minutes, so after a long etcd outage the old channel may stay in "transient failure" long after
 * etcd is back. When a whole operation fails for lack of a connection, {@link #reset(long)} drops
 * the client; the next call builds a fresh one, which connects at once. Each client carries a
 * generation number so that several threads failing on the same client reset it only once, and the
 * watch knows when it must re-subscribe on the new one.
 *
 * <p>Calls fail fast while disconnected ({@code waitForReady(false)}) and every unary call carries a
 * gRPC deadline, so that no request can wait in the client and reach etcd long after the caller
 * gave up on it. Thread-safe.
 */
final class EtcdConnection implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(EtcdConnection.class);

    private final EtcdOptions options;
    private final Duration callTimeout;
    private Client client;
    private long generation;
    private boolean closed;

    EtcdConnection(EtcdOptions options, Duration callTimeout) {
        this.options = options;
        this.callTimeout = callTimeout;
    }

    /** The current client, built on first use. */
    synchronized Client client() throws DcsException {
        if (closed) {
            throw new DcsException("etcd client for " + endpoints() + " is closed");
        }
        if (client == null) {
            client = build();
            generation++;
        }
        return client;
    }

    /** The generation of the client {@link #client()} returns (0 before the first). */
    synchronized long generation() {
        return generation;
    }

    /** Drops the client of the given generation (if still current) so that the next call reconnects. */
    void reset(long failedGeneration) {
        Client old;
        synchronized (this) {
            if (closed || client == null || generation != failedGeneration) {
                return;
            }
            old = client;
            client = null;
        }
        LOG.info("etcd at {} unreachable for a whole operation: reconnecting with a new client", endpoints());
        closeQuietly(old);
    }

    String endpoints() {
        return options.describeEndpoints();
    }

    @Override
    public void close() {
        Client old;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            old = client;
            client = null;
        }
        closeQuietly(old);
    }

    private static void closeQuietly(Client c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (RuntimeException e) {
            LOG.debug("closing an etcd client failed", e);
        }
    }

    private Client build() throws DcsException {
        long deadlineMillis = Math.max(100, callTimeout.toMillis());
        ClientBuilder b = Client.builder()
                .endpoints(options.endpoints().toArray(URI[]::new))
                .waitForReady(false)
                .connectTimeout(Duration.ofMillis(Math.min(deadlineMillis, 3000)))
                // jetcd's own retry stays short; EtcdCalls retries within the operation's bound
                .retryMaxAttempts(1)
                .retryDelay(100)
                .retryMaxDelay(500)
                .retryMaxDuration(callTimeout)
                .keepaliveTime(Duration.ofSeconds(10))
                .keepaliveTimeout(Duration.ofSeconds(5))
                .interceptor(new UnaryDeadline(deadlineMillis));
        if (options.username() != null) {
            b.user(ByteSequence.from(options.username(), StandardCharsets.UTF_8))
                    .password(ByteSequence.from(options.password(), StandardCharsets.UTF_8));
        }
        if (options.tls()) {
            try {
                b.sslContext(ssl -> {
                    if (options.cacert() != null) {
                        ssl.trustManager(options.cacert().toFile());
                    }
                    if (options.cert() != null) {
                        ssl.keyManager(options.cert().toFile(), options.key().toFile());
                    }
                });
            } catch (SSLException | RuntimeException e) {
                throw new DcsException(
                        "etcd3 TLS setup failed (cacert=" + options.cacert() + ", cert=" + options.cert() + ", key="
                                + options.key() + "): " + e.getMessage(),
                        e);
            }
        }
        try {
            return b.build();
        } catch (RuntimeException e) {
            throw new DcsException("cannot create an etcd client for " + endpoints() + ": " + e.getMessage(), e);
        }
    }

    /** Puts a deadline on every unary call (not on the watch and lease streams, which live long). */
    private static final class UnaryDeadline implements ClientInterceptor {
        private final long millis;

        UnaryDeadline(long millis) {
            this.millis = millis;
        }

        @Override
        public <Q, R> ClientCall<Q, R> interceptCall(
                MethodDescriptor<Q, R> method, CallOptions callOptions, Channel next) {
            CallOptions options = callOptions;
            if (method.getType() == MethodDescriptor.MethodType.UNARY && callOptions.getDeadline() == null) {
                options = callOptions.withDeadlineAfter(millis, TimeUnit.MILLISECONDS);
            }
            return next.newCall(method, options);
        }
    }
}
