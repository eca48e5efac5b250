package io.pgha.examples;

import io.pgha.PghaVersion;
import java.io.PrintStream;
import java.util.Arrays;

/**
 * The {@code pgha} command: {@code run <node.yml>} runs one node from a Patroni configuration
 * file, {@code ctl ...} is the control CLI, {@code demo} starts a local three-node cluster,
 * {@code bench} measures failover on one; {@link Commands} parses them all but {@code ctl}. Exit
 * codes: 0 done, 1 failed, 2 bad usage or a configuration error ({@code run --validate-config}: 0
 * valid, 1 not, as Patroni's).
 */
public final class Main {

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length > 0 && args[0].equals("ctl")) {
            return ctl(Arrays.copyOfRange(args, 1, args.length), out, err);
        }
        return Commands.execute(args, out, err);
    }

    static String version() {
        return PghaVersion.version();
    }

    /** The control CLI ({@code io.pgha.examples.ctl.Ctl}); its own log lines only at WARNING and above. */
    static int ctl(String[] rest, PrintStream out, PrintStream err) {
        Logging.configure("WARNING", false);
        return io.pgha.examples.ctl.Ctl.run(rest, out, err, System.in);
    }
}
