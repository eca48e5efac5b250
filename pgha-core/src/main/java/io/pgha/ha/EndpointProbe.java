package io.pgha.ha;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;

/**
 * Whether something listens on a host's TCP port, telling a refusal from silence: a host that is
 * up answers a connection to a port nobody listens on with a reset at once ({@link Reach#REFUSED}),
 * while a host that is down or cut off does not answer at all ({@link Reach#UNREACHABLE}). Only the
 * first says that the process behind the port is gone; the second says nothing about it.
 */
@FunctionalInterface
interface EndpointProbe {

    /** What a connection attempt found. */
    enum Reach {
        /** The connection was accepted: something listens. */
        ANSWERS,
        /** The host answered with a refusal (a TCP reset): nothing listens on the port. */
        REFUSED,
        /** No answer within the time, no route, or the name does not resolve: nothing is known. */
        UNREACHABLE
    }

    /** Tries one TCP connection to {@code host:port}, closed at once, within {@code timeout}. */
    Reach reach(String host, int port, Duration timeout);

    /** Plain TCP connections. */
    static EndpointProbe tcp() {
        return (host, port, timeout) -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(host, port), (int) Math.max(1, timeout.toMillis()));
                return Reach.ANSWERS;
            } catch (ConnectException e) {
                // "Connection refused" is a ConnectException; no route and unreachable networks are
                // NoRouteToHostException and friends, which are not
                return e.getClass() == ConnectException.class ? Reach.REFUSED : Reach.UNREACHABLE;
            } catch (IOException | IllegalArgumentException | SecurityException e) {
                return Reach.UNREACHABLE;
            }
        };
    }
}
