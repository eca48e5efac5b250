package io.pgha.examples;

import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicInteger;
import sun.misc.Signal;

/**
 * SIGHUP re-reads the configuration (as Patroni's systemd unit expects: {@code ExecReload=kill -HUP});
 * SIGTERM and SIGINT for a long-running command: the first one exits the JVM normally, so that
 * its shutdown hooks stop the node cleanly (a leader stops PostgreSQL and releases the lock); a
 * second one, while that is still running, halts the JVM at once (exit status 130) without
 * running the hooks. The JVM's own handlers cannot tell a second signal from the first, hence
 * {@code sun.misc.Signal} (module jdk.unsupported, present in every JDK).
 */
final class Signals {
    private static final AtomicInteger RECEIVED = new AtomicInteger();

    private Signals() {}

    /** Installs the handlers; {@code out} gets one line per signal. Idempotent enough: call once. */
    static void install(PrintStream out) {
        install(out, null);
    }

    /**
     * As {@link #install(PrintStream)}, and SIGHUP runs {@code onHangup} on a thread of its own
     * (null: SIGHUP keeps the JVM's default, which ends the process).
     */
    static void install(PrintStream out, Runnable onHangup) {
        if (onHangup != null) {
            try {
                Signal.handle(new Signal("HUP"), s -> {
                    out.println("received SIGHUP: reloading the configuration");
                    out.flush();
                    Thread reload = new Thread(onHangup, "pgha-sighup");
                    reload.setDaemon(true);
                    reload.start();
                });
            } catch (IllegalArgumentException e) {
                // reserved here (-Xrs): the JVM's default applies
            }
        }
        for (String name : new String[] {"TERM", "INT"}) {
            try {
                Signal.handle(new Signal(name), s -> onSignal(s, out));
            } catch (IllegalArgumentException e) {
                // the signal is reserved here (for example -Xrs); the JVM's default applies
            }
        }
    }

    private static void onSignal(Signal s, PrintStream out) {
        int n = RECEIVED.incrementAndGet();
        if (n == 1) {
            out.println("received SIG" + s.getName() + ": shutting down (send it again to stop at once)");
            out.flush();
            Thread exit = new Thread(() -> System.exit(0), "pgha-shutdown");
            exit.start();
        } else {
            out.println("received SIG" + s.getName() + " again: stopping at once");
            out.flush();
            Runtime.getRuntime().halt(130);
        }
    }
}
