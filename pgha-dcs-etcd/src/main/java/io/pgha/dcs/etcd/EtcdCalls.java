package io.pgha.dcs.etcd;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.common.exception.EtcdException;
import io.grpc.Status;
import io.pgha.dcs.DcsException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs jetcd calls within a bound: retries what failed for lack of a connection until the bound
 * ({@code retry_timeout}) runs out, then turns the failure into a {@link DcsException} that names
 * the endpoints. Stateless apart from the connection; thread-safe.
 */
final class EtcdCalls {
    private static final Logger LOG = LoggerFactory.getLogger(EtcdCalls.class);

    /** Errors that mean "could not talk to etcd", worth another try on a (possibly new) connection. */
    private static final Set<String> TRANSIENT =
            Set.of("UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED", "ABORTED", "RESOURCE_EXHAUSTED");

    /** One jetcd call against a client. */
    @FunctionalInterface
    interface Call<T> {
        CompletableFuture<T> start(Client client);
    }

    /** The end of one operation's time budget. */
    record Deadline(long nanos) {
        static Deadline after(Duration d) {
            return new Deadline(System.nanoTime() + d.toNanos());
        }

        long remainingNanos() {
            return nanos - System.nanoTime();
        }
    }

    private final EtcdConnection connection;
    private volatile Duration bound;

    EtcdCalls(EtcdConnection connection, Duration bound) {
        this.connection = connection;
        this.bound = bound;
    }

    /** {@code retry_timeout} changed in the dynamic configuration: the next deadline uses it. */
    void bound(Duration retryTimeout) {
        this.bound = retryTimeout;
    }

    /** A deadline {@code retry_timeout} from now. */
    Deadline deadline() {
        return Deadline.after(bound);
    }

    String endpoints() {
        return connection.endpoints();
    }

    /**
     * Runs {@code call}, retrying transient failures until {@code deadline}.
     *
     * <p>A retried write may have been applied by the attempt that seemed to fail; callers only
     * retry writes guarded by a comparison (a txn) or writes that are idempotent (a plain put of the
     * same value), and use {@link #attempt} to tell a retried comparison that then failed (an
     * unknown outcome) from a lost race.
     */
    <T> T run(Deadline deadline, String what, Call<T> call) throws DcsException {
        return attempt(deadline, what, call).value();
    }

    /** A result and how many attempts it took (more than one: an earlier attempt may have been applied). */
    record Outcome<T>(T value, int attempts) {}

    /** {@link #run}, telling how many attempts it took. */
    <T> Outcome<T> attempt(Deadline deadline, String what, Call<T> call) throws DcsException {
        int attempts = 0;
        long backoffMillis = 50;
        Throwable last = null;
        long generation = 0;
        while (true) {
            long remaining = deadline.remainingNanos();
            if (remaining <= 0) {
                break;
            }
            CompletableFuture<T> future = null;
            try {
                Client client = connection.client();
                generation = connection.generation();
                attempts++;
                future = call.start(client);
                return new Outcome<>(future.get(remaining, TimeUnit.NANOSECONDS), attempts);
            } catch (TimeoutException e) {
                future.cancel(true);
                last = e;
                break;
            } catch (InterruptedException e) {
                if (future != null) {
                    future.cancel(true);
                }
                Thread.currentThread().interrupt();
                throw new EtcdCallException(
                        "interrupted while waiting for etcd at " + endpoints() + " (" + what + ")", "CANCELLED", e);
            } catch (ExecutionException | CompletionException | EtcdException e) {
                Throwable cause = unwrap(e);
                String code = code(cause);
                if (!TRANSIENT.contains(code)) {
                    throw new EtcdCallException(
                            "etcd at " + endpoints() + " refused " + what + ": " + code + " " + cause.getMessage(),
                            code,
                            cause);
                }
                last = cause;
                LOG.debug("{} failed on etcd at {}: {} {}; retrying", what, endpoints(), code, cause.getMessage());
            }
            long sleep = Math.min(backoffMillis, TimeUnit.NANOSECONDS.toMillis(deadline.remainingNanos()));
            if (sleep <= 0) {
                break;
            }
            try {
                Thread.sleep(sleep);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new EtcdCallException(
                        "interrupted while retrying " + what + " on etcd at " + endpoints(), "CANCELLED", e);
            }
            backoffMillis = Math.min(backoffMillis * 2, 1000);
        }
        // the whole bound went by without an answer: the next call starts on a fresh connection
        connection.reset(generation);
        String reason = last == null
                ? "no attempt left"
                : last instanceof TimeoutException ? "no answer" : code(last) + " " + last.getMessage();
        throw new EtcdCallException(
                "etcd at " + endpoints() + " did not complete " + what + " within " + bound.toMillis()
                        + " ms (retry_timeout): " + reason,
                last instanceof TimeoutException ? "TIMEOUT" : last == null ? "TIMEOUT" : code(last),
                last);
    }

    private static Throwable unwrap(Throwable t) {
        Throwable c = t;
        while ((c instanceof ExecutionException || c instanceof CompletionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }

    /** The gRPC status code name of a jetcd failure. */
    static String code(Throwable t) {
        if (t instanceof EtcdException e && e.getErrorCode() != null) {
            return e.getErrorCode().name();
        }
        Status s = Status.fromThrowable(t);
        return s.getCode().name();
    }
}
