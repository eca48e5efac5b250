package io.pgha.postgres.local;

import io.pgha.postgres.PostgresException;
import io.pgha.process.ProcessOutput;
import io.pgha.process.ShellWords;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs PostgreSQL's binaries (and pgBackRest, pg_dump...) as the OS user PostgreSQL runs as: through
 * {@code setpriv} as {@code postgresql.run_as} when the JVM is root (PostgreSQL refuses to run as
 * root), as the JVM's own user otherwise. The child gets a clean environment: inherited {@code PG*}
 * variables could point a binary at another server or data directory. Its working directory is
 * {@code /} and its stdin empty. Nor does it inherit the {@code PATRONI_*} variables, which may hold
 * secrets ({@link #removeInheritedSecrets}). Every command line is logged at debug level, so none may hold a
 * password (pass them in a passfile or a 0600 temporary file).
 *
 * <p>Concurrency: immutable and thread-safe; any number of threads may run commands at once.
 * {@link #run} blocks, and binds the command to the calling thread: the command and every process it
 * starts are killed when that thread ends, the JVM's death included (SIGKILL too), so that nothing
 * it started goes on alone (a pg_basebackup copying into a data directory the next agent reuses).
 * {@link #launch} starts a server that outlives the calling thread and the JVM; its caller stops it.
 */
public final class OsCommand {

    private static final Logger LOG = LoggerFactory.getLogger(OsCommand.class);
    /** What a result keeps of a command's output: its tail, where a failure says why. */
    private static final int MAX_OUTPUT = 64 * 1024;

    /**
     * A finished command.
     *
     * @param exitCode its exit code (128 + the signal's number when a signal ended it)
     * @param output its stdout and stderr interleaved, the last 64 KiB at most
     */
    public record Result(int exitCode, String output) {
        public boolean ok() {
            return exitCode == 0;
        }

        /** The last lines of the output on one line, for an exception message. */
        public String tail() {
            String[] lines = output.strip().split("\n");
            int from = Math.max(0, lines.length - 8);
            return String.join(" | ", Arrays.copyOfRange(lines, from, lines.length));
        }
    }

    /** How long a quick tool (pg_ctl reload, pg_controldata, pg_waldump, postgres --version) may take. */
    static final Duration SHORT = Duration.ofSeconds(60);

    /** How long a tool that may copy or replay a whole cluster (initdb, pg_basebackup, pg_rewind) may take. */
    static final Duration LONG = Duration.ofHours(12);

    private final OsUser user;

    OsCommand(OsUser user) {
        this.user = user;
    }

    /**
     * Commands as {@code runAs} when the JVM is root, as the JVM's own user otherwise.
     *
     * @throws PostgresException when the user does not exist or is root
     */
    public static OsCommand forUser(String runAs) throws PostgresException {
        return new OsCommand(OsUser.resolve(runAs));
    }

    OsUser user() {
        return user;
    }

    /** Gives {@code path} to the user commands run as (when the JVM is root) and sets its mode (as {@code rwx------}; null keeps it). */
    public void own(Path path, String mode) throws IOException {
        user.own(path, mode);
    }

    Result run(List<String> command, Duration timeout) throws PostgresException {
        return run(command, timeout, Map.of());
    }

    /**
     * Runs {@code command} to completion, bound to the calling thread (see the class comment). A
     * command still running at {@code timeout}, or when the calling thread is interrupted, is killed
     * with its descendants and reported as an exception.
     *
     * @param env variables added to the child's clean environment (a {@code PGPASSFILE})
     * @throws PostgresException when it cannot start (a missing binary), times out or is interrupted;
     *     a command that runs and fails returns a result that is not {@link Result#ok()}
     */
    public Result run(List<String> command, Duration timeout, Map<String, String> env) throws PostgresException {
        return run(command, timeout, env, new File("/"), null);
    }

    /**
     * As {@link #run(List, Duration, Map)}, with each line of the command's output handed to
     * {@code lines} while it runs (a progress meter, see {@link io.pgha.process.Progress}).
     */
    public Result run(List<String> command, Duration timeout, Map<String, String> env, Consumer<String> lines)
            throws PostgresException {
        return run(command, timeout, env, new File("/"), lines);
    }

    /**
     * A command of the user's configuration (a replica method, a bootstrap method, post_bootstrap):
     * as {@link #run}, in the agent's working directory, as Patroni runs them (a relative path in
     * such a command names a file there).
     */
    Result runUserCommand(List<String> command, Duration timeout, Map<String, String> env) throws PostgresException {
        return run(command, timeout, env, new File(System.getProperty("user.dir", "/")), null);
    }

    /**
     * The words of a command line from the user's configuration, split as Patroni splits it
     * ({@code shlex.split}, see {@link ShellWords}), in a list the caller may append Patroni's
     * arguments to.
     *
     * @param key the configuration key the line comes from, named in the error
     * @throws PostgresException naming {@code key} when the line has an unclosed quote or a
     *     trailing backslash
     */
    static List<String> userCommandWords(String key, String line) throws PostgresException {
        try {
            return new ArrayList<>(ShellWords.split(line));
        } catch (IllegalArgumentException e) {
            throw new PostgresException(key + ": " + e.getMessage(), e);
        }
    }

    private Result run(
            List<String> command, Duration timeout, Map<String, String> env, File workingDir, Consumer<String> lines)
            throws PostgresException {
        String name = command.get(0);
        if (name.startsWith("/") && !Files.isExecutable(Path.of(name))) {
            throw new PostgresException(name + " is missing or not executable");
        }
        ProcessBuilder pb = builder(ThreadBound.wrap(user, command), env).directory(workingDir);
        LOG.debug("running {}", pb.command());
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new PostgresException("cannot run " + name + ": " + e.getMessage(), e);
        }
        ProcessOutput out = lines == null
                ? ProcessOutput.keepTail(p, MAX_OUTPUT, "pgha-exec-" + p.pid())
                : ProcessOutput.keepTail(p, MAX_OUTPUT, "pgha-exec-" + p.pid(), lines);
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                kill(p);
                p.waitFor(10, TimeUnit.SECONDS);
                out.awaitEnd(Duration.ofSeconds(2));
                throw new PostgresException(describe(command) + " did not finish within " + timeout.toSeconds()
                        + "s and was killed; output: " + out.text());
            }
            out.awaitEnd(Duration.ofSeconds(10));
        } catch (InterruptedException e) {
            kill(p);
            Thread.currentThread().interrupt();
            throw new PostgresException("interrupted while running " + describe(command), e);
        }
        Result r = new Result(p.exitValue(), out.text());
        LOG.debug("{} exited with {}", name, r.exitCode());
        return r;
    }

    /**
     * Starts a long-running server process (a postmaster) as a child of this JVM, its output
     * appended to {@code log}; it is not bound to the calling thread and outlives the JVM. The JVM
     * stays its parent so that the JDK reaps it when it exits: a killed postmaster must not linger
     * as a zombie holding its PID (PostgreSQL would then refuse to start again, seeing its PID alive
     * in postmaster.pid). {@code setsid} puts it in its own session, so a Ctrl-C meant for the JVM
     * does not shut PostgreSQL down; it does not fork here (a child of the JVM is no process group
     * leader), so the PID is the server's.
     *
     * <p>The log is opened (created with mode 0600 when missing) by a shell running as the
     * PostgreSQL user, which then execs the server: the log lies in a directory that user controls,
     * and root must not open a path there (a symlink would make it append to any root-owned file).
     * The shell execs, so the PID is still the server's.
     */
    public Process launch(List<String> command, Path log) throws PostgresException {
        List<String> full = new ArrayList<>(List.of("setsid", "--wait"));
        full.addAll(user.commandPrefix());
        full.addAll(List.of("/bin/sh", "-c", LAUNCH, "pgha", log.toString()));
        full.addAll(command);
        ProcessBuilder pb = builder(full, Map.of()).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        LOG.debug("starting {}", full);
        try {
            return pb.start();
        } catch (IOException e) {
            throw new PostgresException("cannot run " + command.get(0) + ": " + e.getMessage(), e);
        }
    }

    /** Opens the log named by $1 as the user the shell runs as, then execs the rest of the arguments. */
    private static final String LAUNCH = "umask 077; log=$1; shift; exec \"$@\" >> \"$log\" 2>&1";

    private ProcessBuilder builder(List<String> command, Map<String, String> env) {
        ProcessBuilder pb = new ProcessBuilder(command)
                .directory(new File("/"))
                .redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Map<String, String> environment = pb.environment();
        environment.keySet().removeIf(k -> k.startsWith("PG"));
        removeInheritedSecrets(environment);
        if (user.home() != null) {
            environment.put("HOME", user.home());
        }
        if (user.name() != null) {
            environment.put("USER", user.name());
            environment.put("LOGNAME", user.name());
        }
        environment.putAll(env);
        return pb;
    }

    /**
     * Removes from a child's environment what Patroni keeps from the postmaster's: the
     * {@code PATRONI_*} variables (the configuration's overrides: passwords of the superuser, the
     * replication user, the REST API and the DCS) and {@code KUBERNETES_*}. Patroni removes them
     * from the postmaster's environment only; pgha from every PostgreSQL binary and tool it runs and
     * from the fence, none of which reads them.
     */
    public static void removeInheritedSecrets(Map<String, String> environment) {
        environment.keySet().removeIf(k -> k.startsWith("PATRONI_") || k.startsWith("KUBERNETES_"));
    }

    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }

    /** The binary and, when there is more, the last argument (pgBackRest's subcommand, a database). */
    private static String describe(List<String> command) {
        return command.size() > 1 ? command.get(0) + " ... " + command.get(command.size() - 1) : command.get(0);
    }
}
