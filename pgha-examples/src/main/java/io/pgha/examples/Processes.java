package io.pgha.examples;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Stopping processes by PID, never by name. Stateless. */
final class Processes {

    private Processes() {}

    /** The postmaster's PID from {@code <data_dir>/postmaster.pid}, if it names a live process. */
    static Optional<Long> postmasterPid(Path dataDir) {
        Path pidFile = dataDir.resolve("postmaster.pid");
        try {
            List<String> lines = Files.readAllLines(pidFile, StandardCharsets.UTF_8);
            if (lines.isEmpty()) {
                return Optional.empty();
            }
            long pid = Long.parseLong(lines.get(0).trim());
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).map(ProcessHandle::pid);
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** SIGKILL to a process and to its descendants (read first, so that none is orphaned unseen). */
    static void kill9(long pid) {
        ProcessHandle.of(pid).ifPresent(h -> {
            List<ProcessHandle> children = h.descendants().toList();
            h.destroyForcibly();
            children.forEach(ProcessHandle::destroyForcibly);
        });
    }

    /** SIGTERM. */
    static void term(long pid) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
    }

    /** A signal by number through kill(1), for signals the JDK does not send (SIGINT, SIGQUIT). */
    static void signal(long pid, String signal) {
        try {
            Process p = new ProcessBuilder("kill", "-" + signal, Long.toString(pid))
                    .redirectErrorStream(true)
                    .start();
            p.getInputStream().readAllBytes();
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (IOException e) {
            // the process is gone or kill(1) is missing: nothing more to do
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits for a process to end; true when it has. */
    static boolean awaitExit(long pid, Duration timeout) {
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        if (h.isEmpty()) {
            return true;
        }
        try {
            h.get().onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (java.util.concurrent.TimeoutException e) {
            return !h.get().isAlive();
        } catch (java.util.concurrent.ExecutionException e) {
            return !h.get().isAlive();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !h.get().isAlive();
        }
    }

    /**
     * Stops a postmaster by PID: SIGINT (PostgreSQL's fast shutdown), then SIGQUIT (immediate)
     * after {@code grace}, then SIGKILL.
     */
    static void stopPostmaster(long pid, Duration grace) {
        if (ProcessHandle.of(pid).isEmpty()) {
            return;
        }
        signal(pid, "INT");
        if (awaitExit(pid, grace)) {
            return;
        }
        signal(pid, "QUIT");
        if (awaitExit(pid, Duration.ofSeconds(5))) {
            return;
        }
        kill9(pid);
        awaitExit(pid, Duration.ofSeconds(5));
    }
}
