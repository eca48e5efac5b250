package io.pgha.examples;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Issue 19's hostile load on one REST port, from this JVM (another process than the agent, as an
 * attacker is): {@code count} client threads in five kinds — {@code GET /replica?lag=1e300000000}
 * with a 3,000-byte tag, slow-loris sockets sending a header byte every 500 ms, connect-and-close
 * floods, writes declaring a 60 KB body that trickles, and floods of {@code /cluster} and
 * {@code /metrics}, the views that read the DCS. {@link #check(int)} is HAProxy's check on a fresh
 * connection. Nothing here knows which implementation it attacks.
 */
final class HostileClients implements AutoCloseable {
    static final int BOUND_MILLIS = 5_000;

    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong requests = new AtomicLong();
    private final List<Thread> threads = new ArrayList<>();

    private HostileClients() {}

    /** Starts {@code count} hostile clients against {@code port} on 127.0.0.1. */
    static HostileClients start(int port, int count) {
        HostileClients h = new HostileClients();
        for (int i = 0; i < count; i++) {
            Step step = switch (i % 5) {
                case 0 ->
                    () -> status(
                            port,
                            "GET /replica?lag=1e300000000&tag_x=" + "y".repeat(3000)
                                    + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                case 1 -> () -> h.slowLoris(port);
                case 2 ->
                    () -> {
                        try (Socket s = new Socket()) {
                            s.connect(new InetSocketAddress("127.0.0.1", port), BOUND_MILLIS);
                        }
                    };
                case 3 -> () -> h.stalledBody(port);
                default ->
                    () -> status(
                            port,
                            "GET /" + (h.requests.get() % 2 == 0 ? "cluster" : "metrics")
                                    + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            };
            Thread t = new Thread(() -> h.repeat(step), "hostile-" + i);
            t.setDaemon(true);
            h.threads.add(t);
            t.start();
        }
        return h;
    }

    /** Hostile requests sent (or attempted) so far. */
    long requests() {
        return requests.get();
    }

    /** HAProxy's check, {@code OPTIONS /primary} on a fresh connection: its status, -1 without an answer. */
    static int check(int port) {
        try {
            return status(port, "OPTIONS /primary HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        } catch (IOException e) {
            return -1;
        }
    }

    /**
     * The kernel's count of connections dropped because a listen socket's accept queue was full
     * ({@code TcpExt ListenOverflows} in {@code /proc/net/netstat}, machine-wide), -1 where it
     * cannot be read: a check slower than 1 s with this count unchanged was not a dropped SYN.
     */
    static long listenOverflows() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/net/netstat"));
            for (int i = 0; i + 1 < lines.size(); i += 2) {
                String[] names = lines.get(i).trim().split("\\s+");
                String[] values = lines.get(i + 1).trim().split("\\s+");
                for (int k = 1; k < names.length && k < values.length; k++) {
                    if (names[0].equals("TcpExt:") && names[k].equals("ListenOverflows")) {
                        return Long.parseLong(values[k]);
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or a format this does not know: the figure is left out
        }
        return -1;
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(10));
        }
    }

    private interface Step {
        void run() throws Exception;
    }

    private void repeat(Step step) {
        while (running.get()) {
            try {
                step.run();
            } catch (Exception e) {
                // refused, reset, timed out: all a hostile client expects
            }
            requests.incrementAndGet();
        }
    }

    /** Request headers one byte every 500 ms until the server hangs up. */
    private void slowLoris(int port) throws IOException, InterruptedException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), BOUND_MILLIS);
            OutputStream out = s.getOutputStream();
            byte[] head = "GET /patroni HTTP/1.1\r\nHost: x\r\nX-a: ".getBytes(StandardCharsets.ISO_8859_1);
            for (int i = 0; running.get(); i++) {
                out.write(i < head.length ? head[i] : 'a');
                out.flush();
                Thread.sleep(500);
            }
        }
    }

    /** A write declaring a large body that trickles a byte a second until the server hangs up. */
    private void stalledBody(int port) throws IOException, InterruptedException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), BOUND_MILLIS);
            OutputStream out = s.getOutputStream();
            out.write(("PATCH /config HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            + "Content-Length: 60000\r\n\r\n{\"a\":\"")
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            while (running.get()) {
                Thread.sleep(1000);
                out.write('x'); // throws once the server hung up
                out.flush();
            }
        }
    }

    /** Sends {@code request} as is on a new connection; the answer's status, -1 when none came. */
    private static int status(int port, String request) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), BOUND_MILLIS);
            s.setSoTimeout(BOUND_MILLIS);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[512];
            try {
                int n;
                while (got.size() < 12 && (n = in.read(buf)) >= 0) {
                    got.write(buf, 0, n);
                }
            } catch (SocketTimeoutException | SocketException e) {
                // what came so far is the answer
            }
            String answer = got.toString(StandardCharsets.ISO_8859_1);
            return answer.startsWith("HTTP/1.") && answer.length() >= 12
                    ? Integer.parseInt(answer.substring(9, 12))
                    : -1;
        }
    }
}
