package io.pgha.ha;

import io.pgha.process.ProcessOutput;
import io.pgha.process.ShellWords;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Patroni's {@code postgresql.callbacks} for users who configure rather than code: each of
 * {@code on_start}, {@code on_stop}, {@code on_restart}, {@code on_reload}, {@code on_role_change}
 * names a command that runs as {@code <command> <action> <role> <scope>} when the event happens.
 *
 * <p>The command line is split into words as Patroni splits it, with {@code shlex.split}
 * ({@link ShellWords}: quotes and backslashes group words; no shell runs, so nothing in it is
 * expanded); a line that cannot be split (an unclosed quote) is refused at construction, where
 * Patroni would log the error at each event. It runs
 * in its own process with its output logged, and is killed after {@code timeoutSeconds}. It runs
 * on the node's event thread, so a slow callback delays later callbacks (at most {@code timeoutSeconds}
 * each: its output is read on a thread of its own, so the timeout fires even when it hangs) but
 * never the HA loop.
 */
public final class PatroniCallbacks implements HaListener {
    private static final Logger LOG = LoggerFactory.getLogger(PatroniCallbacks.class);
    private static final Set<String> ACTIONS =
            Set.of("on_start", "on_stop", "on_restart", "on_reload", "on_role_change");
    /** How much of a callback's output is logged. */
    private static final int MAX_OUTPUT = 16 * 1024;

    /** Action to command words; replaced whole by {@link #reconfigure}. */
    private volatile Map<String, List<String>> commands;

    private final String scope;
    private final long timeoutSeconds;
    private volatile java.util.function.UnaryOperator<String> roleName = java.util.function.UnaryOperator.identity();

    /**
     * @param callbacks action name to command line, as in Patroni's YAML
     * @throws IllegalArgumentException for an unknown action or a command line with an unclosed
     *     quote or a trailing backslash, naming the action
     */
    public PatroniCallbacks(Map<String, ?> callbacks, String scope, long timeoutSeconds) {
        this.scope = scope;
        this.timeoutSeconds = timeoutSeconds;
        this.commands = parse(callbacks);
    }

    /**
     * New commands, as a reload of the file brings them ({@code postgresql.callbacks} changed):
     * events from now on run them; an empty map runs none. A callback already running finishes.
     *
     * @return true when the commands changed
     * @throws IllegalArgumentException as the constructor; the commands stay as they were
     */
    public boolean reconfigure(Map<String, ?> callbacks) {
        Map<String, List<String>> next = parse(callbacks);
        if (next.equals(commands)) {
            return false;
        }
        commands = next;
        LOG.info("postgresql.callbacks now {}", next.isEmpty() ? "none" : next);
        return true;
    }

    private static Map<String, List<String>> parse(Map<String, ?> callbacks) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        callbacks.forEach((action, cmd) -> {
            if (!ACTIONS.contains(action)) {
                throw new IllegalArgumentException(
                        "postgresql.callbacks." + action + ": unknown callback (known: " + ACTIONS + ")");
            }
            if (cmd != null && !cmd.toString().isBlank()) {
                try {
                    out.put(action, List.copyOf(ShellWords.split(cmd.toString())));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("postgresql.callbacks." + action + ": " + e.getMessage(), e);
                }
            }
        });
        return java.util.Collections.unmodifiableMap(out);
    }

    /**
     * How a role is named on the callback's command line: {@code primary} becomes {@code master}
     * where Patroni 3.x names it so ({@link io.pgha.dcs.RoleNames}); the identity until set.
     */
    public PatroniCallbacks roleNames(java.util.function.UnaryOperator<String> names) {
        this.roleName = java.util.Objects.requireNonNull(names, "names");
        return this;
    }

    @Override
    public void postgresStarted(String role) {
        run("on_start", role);
    }

    @Override
    public void postgresStopped(String role) {
        run("on_stop", role);
    }

    @Override
    public void postgresRestarted(String role) {
        run("on_restart", role);
    }

    @Override
    public void postgresReloaded(String role) {
        run("on_reload", role);
    }

    @Override
    public void roleChanged(String from, String to) {
        if (from != null
                && ("primary".equals(to) || "replica".equals(to) || "standby_leader".equals(to))
                && !"uninitialized".equals(from)) {
            run("on_role_change", to);
        }
    }

    /** Runs the callback for {@code action}, if configured; returns its exit code or -1. */
    int run(String action, String internalRole) {
        String role = internalRole == null ? null : roleName.apply(internalRole);
        List<String> cmd = commands.get(action);
        if (cmd == null) {
            return -1;
        }
        List<String> argv = new ArrayList<>(cmd);
        argv.add(action);
        argv.add(role);
        argv.add(scope);
        Process p;
        try {
            p = new ProcessBuilder(argv)
                    .redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
        } catch (IOException e) {
            LOG.warn("callback {} could not run: {}", argv, e.getMessage());
            return -1;
        }
        // read on a thread of its own, so that a hung callback cannot keep the timeout from firing
        ProcessOutput out = ProcessOutput.keepHead(p, MAX_OUTPUT, "pgha-callback-" + p.pid());
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                killTree(p);
                LOG.warn(
                        "callback {} did not finish within {} s and was killed with its child processes; output: {}",
                        argv,
                        timeoutSeconds,
                        out.text());
                return -1;
            }
            // a child the callback left running may hold the pipe open: do not wait for it
            out.awaitEnd(Duration.ofSeconds(1));
        } catch (InterruptedException e) {
            killTree(p);
            Thread.currentThread().interrupt();
            return -1;
        }
        String output = out.text();
        if (!output.isBlank()) {
            LOG.info("callback {}: {}", argv, output.strip());
        }
        if (p.exitValue() != 0) {
            LOG.warn("callback {} exited with {}", argv, p.exitValue());
        }
        return p.exitValue();
    }

    /** Kills the callback and every process it started (children first, so none is re-parented and missed). */
    private static void killTree(Process p) {
        java.util.List<ProcessHandle> tree = p.descendants().toList();
        p.destroyForcibly();
        tree.forEach(ProcessHandle::destroyForcibly);
        try {
            p.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
