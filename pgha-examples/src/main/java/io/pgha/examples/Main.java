package io.pgha.examples;

import io.pgha.PghaVersion;
import java.io.PrintStream;
import java.util.Arrays;

/**
 * The {@code pgha} command: {@code run <node.yml>} runs one node from a Patroni configuration
 * file, {@code ctl ...} is the control CLI, {@code demo} starts a local three-node cluster,
 * {@code bench} measures failover on one. Exit codes: 0 done, 1 failed, 2 bad usage or a
 * configuration error ({@code run --validate-config}: 0 valid, 1 not, as Patroni's).
 */
public final class Main {

    static final String USAGE = """
            usage: pgha <command> [args]

              run <node.yml>         run one node from a Patroni configuration file
                                     (PATRONI_* / PGHA_* environment variables override it)
              run --validate-config <node.yml>
                                     check the file and exit: 0 valid, 1 not
              ctl [-c <node.yml>] …  the control CLI (list, switchover, failover, pause, …)
              demo [--dir <dir>]     a three-node cluster on this machine; Ctrl-C stops it
              bench [options]        failover benchmark on a local three-node cluster
              version                print the version
            """;

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || Arrays.asList("-h", "--help", "help").contains(args[0])) {
            (args.length == 0 ? err : out).print(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "run" -> {
                return NodeRunner.main(rest, err);
            }
            case "ctl" -> {
                return ctl(rest);
            }
            case "demo" -> {
                return Demo.main(rest, out, err);
            }
            case "bench" -> {
                return Bench.main(rest, out, err);
            }
            case "version", "--version" -> {
                out.println("pgha " + version());
                return 0;
            }
            default -> {
                err.println("pgha: unknown command '" + args[0] + "'");
                err.print(USAGE);
                return 2;
            }
        }
    }

    static String version() {
        return PghaVersion.version();
    }

    /** The control CLI ({@code io.pgha.examples.ctl.Ctl}); its own log lines only at WARNING and above. */
    private static int ctl(String[] rest) {
        Logging.configure("WARNING", false);
        return io.pgha.examples.ctl.Ctl.run(rest);
    }
}
