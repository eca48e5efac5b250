package io.pgha.postgres.local;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes a short-lived command, and every process it starts, die with the thread that runs it, even
 * when the JVM is killed with SIGKILL and runs no code of its own any more: a pg_basebackup cut off
 * mid-copy must not go on copying (and streaming WAL) into a data directory the next agent will
 * reuse.
 *
 * <p>How: the command line becomes
 * {@code setsid setpriv [--reuid --regid --init-groups] --pdeathsig TERM -- /bin/sh -c GUARD sh <jvm pid> command...}.
 * {@code setsid} puts it in a process group of its own (without forking: a child of the JVM is
 * no group leader). {@code setpriv --pdeathsig} asks the kernel to send the guard shell SIGTERM when
 * its parent dies; the shell traps it and SIGKILLs its whole process group. A plain
 * {@code --pdeathsig KILL} on the command is not enough: the death signal reaches only that process
 * and is not inherited, and pg_basebackup forks a WAL streamer that would outlive it. The shell
 * runs the command in the background and {@code wait}s for it, since a shell runs a trap only
 * between commands or during {@code wait}. It compares its parent with the JVM's PID before it
 * starts anything: a JVM killed before setpriv set the death signal leaves the shell to init, and
 * the shell then exits.
 *
 * <p>The kernel's "parent" is the thread that forked the child, not the process: the JDK forks
 * (posix_spawn of jspawnhelper, which then execs the command, or vfork/fork) from the thread that
 * calls {@link ProcessBuilder#start()}, so the signal comes when that thread ends. That is right for
 * a command the thread waits for, and wrong for anything meant to outlive it: never use this for
 * the postmaster (the fence stops it when the agent dies) or for the fence itself.
 *
 * <p>setpriv sets the death signal after it changed user (a change of credentials clears it), and
 * setting it needs no privilege, so it works as root and not. Where {@code setsid} or a setpriv
 * with {@code --pdeathsig} (util-linux 2.33 or later) is missing, commands run unguarded and a
 * warning says so once. Thread-safe; stateless but for that one probe.
 */
final class ThreadBound {

    private static final Logger LOG = LoggerFactory.getLogger(ThreadBound.class);

    /**
     * The guard: $1 is the JVM's PID, the rest the command. A death signal before the trap is set
     * ends the shell (TERM's default action), one after it kills the group: either way before the
     * command starts, if the JVM is already gone. A shell's background job ignores SIGINT and
     * SIGQUIT; the commands run here need neither.
     */
    static final String GUARD =
            "trap 'kill -9 0' TERM; [ \"$PPID\" = \"$1\" ] || exit 137; shift; " + "\"$@\" & wait $!";

    private ThreadBound() {}

    /** {@code command} as run by {@code user}, bound to the calling thread where this system can. */
    static List<String> wrap(OsUser user, List<String> command) {
        if (Probe.AVAILABLE) {
            return guarded(user.setprivOptions(), command);
        }
        List<String> full = new ArrayList<>(user.commandPrefix());
        full.addAll(command);
        return full;
    }

    /** The guarded command line of the class comment; the probe runs it too, so both stay the same. */
    private static List<String> guarded(List<String> setprivOptions, List<String> command) {
        List<String> full = new ArrayList<>();
        full.add("setsid");
        full.add("setpriv");
        full.addAll(setprivOptions);
        full.addAll(List.of(
                "--pdeathsig",
                "TERM",
                "--",
                "/bin/sh",
                "-c",
                GUARD,
                "sh",
                Long.toString(ProcessHandle.current().pid())));
        full.addAll(command);
        return full;
    }

    /** Whether this system has what the guard needs; asked once, on first use. */
    private static final class Probe {
        static final boolean AVAILABLE = probe();

        private static boolean probe() {
            try {
                Process p = new ProcessBuilder(guarded(List.of(), List.of("true")))
                        .redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                        .start();
                // the answer is kept for the JVM's life: an interrupt must not make it "no"
                boolean interrupted = false;
                boolean exited = false;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (!exited && System.nanoTime() < deadline) {
                    try {
                        exited = p.waitFor(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
                if (exited && p.exitValue() == 0) {
                    return true;
                }
                p.destroyForcibly();
            } catch (IOException e) {
                // not installed
            }
            LOG.warn("setsid or 'setpriv --pdeathsig' (util-linux 2.33 or later) is missing: a command pgha runs "
                    + "(pg_basebackup, pg_rewind...) will outlive a JVM killed while it runs");
            return false;
        }
    }
}
