package io.pgha.examples.ctl;

import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;

/**
 * {@code pgha ctl}: Patroni's {@code patronictl} for pgha clusters (and Patroni ones). It reads the
 * cluster from the DCS named in the config file and writes through the members' REST API.
 *
 * <p>Exit codes: 0 on success; 1 when the command could not do what it was asked (the one-line
 * reason is on stderr); 2 for a usage error (unknown option, missing argument).
 *
 * <p>Not thread-safe in the sense that each call owns its streams; calls on different threads
 * with different streams do not interfere.
 */
public final class Ctl {
    /** The command failed; the reason is on stderr. */
    public static final int EXIT_FAILURE = 1;
    /** The command line was wrong. */
    public static final int EXIT_USAGE = 2;

    private Ctl() {}

    /** Runs {@code pgha ctl <args>} on the process's streams and returns the exit code. */
    public static int run(String[] args) {
        return run(args, System.out, System.err, System.in);
    }

    /** Runs {@code pgha ctl <args>} on the given streams and returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err, InputStream in) {
        CtlCommand root = new CtlCommand(out, err, in);
        CommandLine cl = new CommandLine(root);
        cl.setOut(new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), true));
        cl.setErr(new PrintWriter(new OutputStreamWriter(err, StandardCharsets.UTF_8), true));
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExecutionExceptionHandler((e, cmd, parseResult) -> {
            if (e instanceof CtlException c) {
                err.println("Error: " + c.getMessage());
                return c.exitCode();
            }
            err.println("Error: "
                    + CtlException.oneLine(
                            e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage())));
            return EXIT_FAILURE;
        });
        cl.setParameterExceptionHandler((e, a) -> {
            String verb = e.getCommandLine().getCommandName();
            err.println("Error: " + CtlException.oneLine(e.getMessage()) + " (see '"
                    + ("pgha ctl".equals(verb) ? "pgha ctl" : "pgha ctl " + verb) + " --help')");
            return EXIT_USAGE;
        });
        try {
            return cl.execute(args);
        } finally {
            root.close();
            out.flush();
            err.flush();
        }
    }
}
