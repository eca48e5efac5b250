package io.pgha.examples;

import io.pgha.config.DynamicConfigValidator;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

/**
 * The {@code pgha} command line, parsed by picocli as {@code pgha ctl} is: {@code --help} on every
 * command, a bad value or an unknown option is one line on stderr naming it and exit status 2
 * (click's usage error, as patronictl), a command that fails exits 1. The commands only parse and
 * check; {@link NodeRunner}, {@link Demo} and {@link Bench} do the work.
 */
final class Commands {
    static final int EXIT_FAILURE = 1;
    static final int EXIT_USAGE = 2;
    private static final Set<String> LOCAL_DCS = Set.of("etcd3", "zookeeper");

    private Commands() {}

    /** Parses and runs {@code pgha <args>} (all but {@code ctl}, which parses its own) on the given streams. */
    static int execute(String[] args, PrintStream out, PrintStream err) {
        Pgha root = new Pgha(out, err);
        CommandLine cl = new CommandLine(root);
        cl.setOut(new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), true));
        cl.setErr(new PrintWriter(new OutputStreamWriter(err, StandardCharsets.UTF_8), true));
        if (args.length == 0) {
            cl.usage(err);
            return EXIT_USAGE;
        }
        cl.setParameterExceptionHandler((e, a) -> {
            CommandLine where = e.getCommandLine();
            String name = where.getCommandSpec().qualifiedName();
            String message = e.getMessage();
            if (where == cl && e instanceof CommandLine.UnmatchedArgumentException && !a[0].startsWith("-")) {
                message = "unknown command '" + a[0] + "'";
            }
            err.println("Error: " + oneLine(message) + " (see '" + name + " --help')");
            return EXIT_USAGE;
        });
        cl.setExecutionExceptionHandler((e, cmd, parseResult) -> {
            err.println("Error: "
                    + oneLine(e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage())));
            return EXIT_FAILURE;
        });
        try {
            return cl.execute(args);
        } finally {
            out.flush();
            err.flush();
        }
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.strip().replaceAll("\\s*\\R\\s*", "; ");
    }

    /** Versions as {@code pgha --version} prints them. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"pgha " + Main.version()};
        }
    }

    @Command(
            name = "pgha",
            mixinStandardHelpOptions = true,
            versionProvider = Version.class,
            synopsisHeading = "usage: ",
            customSynopsis = "pgha <command> [args]",
            description = "High-availability PostgreSQL, Patroni-compatible: runs a node from a Patroni YAML file.",
            subcommands = {
                Run.class,
                Ctl.class,
                DemoCmd.class,
                BenchCmd.class,
                VersionCmd.class,
                CommandLine.HelpCommand.class
            },
            footer = {
                "",
                "Exit status: 0 done, 1 failed, 2 bad usage or a configuration error.",
                "'pgha <command> --help' describes each command."
            })
    static final class Pgha implements Callable<Integer> {
        final PrintStream out;
        final PrintStream err;

        @Spec
        CommandSpec spec;

        Pgha(PrintStream out, PrintStream err) {
            this.out = out;
            this.err = err;
        }

        @Override
        public Integer call() {
            spec.commandLine().usage(err);
            return EXIT_USAGE;
        }
    }

    @Command(
            name = "run",
            mixinStandardHelpOptions = true,
            versionProvider = Version.class,
            description = {
                "Run one node from a Patroni configuration file (PATRONI_* / PGHA_* environment variables override"
                        + " it). SIGTERM or SIGINT stops it cleanly, SIGHUP reloads the file.",
                "Exit status: 0 stopped, 1 could not start, 2 the file is not valid;"
                        + " with --validate-config 0 valid, 1 not (as patroni --validate-config)."
            })
    static final class Run implements Callable<Integer> {
        @CommandLine.ParentCommand
        Pgha parent;

        @Option(
                names = "--validate-config",
                description = "Check the file as 'run' would before starting anything, print each problem, and exit.")
        boolean validateOnly;

        @Parameters(paramLabel = "<node.yml>", description = "the node's Patroni YAML file")
        Path file;

        @Override
        public Integer call() {
            return NodeRunner.main(file, validateOnly, parent.err);
        }
    }

    /** Listed here for {@code pgha --help}; {@link Main} hands {@code ctl} to its own parser before this one. */
    @Command(
            name = "ctl",
            description = "The control CLI, patronictl's verbs (list, switchover, failover, pause, ...):"
                    + " 'pgha ctl --help'.")
    static final class Ctl implements Callable<Integer> {
        @CommandLine.ParentCommand
        Pgha parent;

        @Unmatched
        List<String> args = new ArrayList<>();

        @Override
        public Integer call() {
            return Main.ctl(args.toArray(String[]::new), parent.out, parent.err);
        }
    }

    @Command(
            name = "demo",
            mixinStandardHelpOptions = true,
            versionProvider = Version.class,
            description = "A cluster on this machine (PostgreSQL's binaries and a JDK are all it needs): prints the"
                    + " cluster table, connection strings and how to try a failover; Ctrl-C stops everything.")
    static final class DemoCmd implements Callable<Integer> {
        @CommandLine.ParentCommand
        Pgha parent;

        @Spec
        CommandSpec spec;

        @Option(
                names = "--dir",
                paramLabel = "<dir>",
                description = "the cluster's directory (default: a new temporary one); the data stays there")
        Path dir;

        @Option(
                names = "--dcs",
                paramLabel = "etcd3|zookeeper",
                description = "the DCS (default: etcd when /usr/bin/etcd is installed, else an embedded ZooKeeper)")
        String dcs;

        @Option(names = "--nodes", paramLabel = "<n>", description = "how many nodes (default: ${DEFAULT-VALUE})")
        int nodes = 3;

        @Override
        public Integer call() {
            checkDcs(spec, dcs);
            if (nodes < 1 || nodes > 9) {
                throw new ParameterException(spec.commandLine(), "--nodes must be 1 to 9, not " + nodes);
            }
            return Demo.main(dir, dcs, nodes, parent.out, parent.err);
        }
    }

    @Command(
            name = "bench",
            mixinStandardHelpOptions = true,
            versionProvider = Version.class,
            description = "Failover benchmark on a local three-node cluster (docs/benchmarks.md).")
    static final class BenchCmd implements Callable<Integer> {
        @CommandLine.ParentCommand
        Pgha parent;

        @Spec
        CommandSpec spec;

        @Option(names = "--trials", paramLabel = "<n>", description = "trials per scenario (default: ${DEFAULT-VALUE})")
        int trials = 5;

        @Option(names = "--ttl", paramLabel = "<s>", description = "bootstrap.dcs.ttl (default: ${DEFAULT-VALUE})")
        int ttl = 10;

        @Option(
                names = "--loop-wait",
                paramLabel = "<s>",
                description = "bootstrap.dcs.loop_wait (default: ${DEFAULT-VALUE})")
        int loopWait = 2;

        @Option(
                names = "--retry-timeout",
                paramLabel = "<s>",
                description = "bootstrap.dcs.retry_timeout (default: ${DEFAULT-VALUE})")
        int retryTimeout = 3;

        @Option(
                names = "--idle-seconds",
                paramLabel = "<s>",
                description = "how long the idle cluster is measured (default: ${DEFAULT-VALUE})")
        int idleSeconds = 60;

        @Option(
                names = "--interval-ms",
                paramLabel = "<ms>",
                description = "the write probe's interval (default: ${DEFAULT-VALUE})")
        int intervalMs = 20;

        @Option(names = "--dcs", paramLabel = "etcd3|zookeeper", description = "the DCS (default: as pgha demo)")
        String dcs;

        @Option(
                names = "--impl",
                paramLabel = "pgha|patroni",
                description = "what runs the nodes: pgha, or Debian's Patroni with the same YAML (default:"
                        + " ${DEFAULT-VALUE})")
        String impl = "pgha";

        @Option(
                names = "--cases",
                paramLabel = "switchover,node-loss,freeze",
                description = "the cases a trial runs, in this order (default: all three)")
        String cases = "switchover,node-loss,freeze";

        @Option(
                names = "--dir",
                paramLabel = "<dir>",
                description = "keep the cluster in this directory (default: a temporary one, removed after a"
                        + " successful run)")
        Path dir;

        @Override
        public Integer call() {
            checkDcs(spec, dcs);
            if (trials < 0) {
                throw new ParameterException(
                        spec.commandLine(), "--trials must not be negative (0: the idle figures only), not " + trials);
            }
            if (!impl.equals("pgha") && !impl.equals("patroni")) {
                throw new ParameterException(spec.commandLine(), "--impl is pgha or patroni, not '" + impl + "'");
            }
            if (impl.equals("patroni") && !java.nio.file.Files.isExecutable(LocalCluster.PATRONI)) {
                throw new ParameterException(
                        spec.commandLine(),
                        "--impl patroni needs Patroni at " + LocalCluster.PATRONI + " (apt-get install patroni)");
            }
            if (idleSeconds < 0) {
                throw new ParameterException(
                        spec.commandLine(), "--idle-seconds must not be negative, not " + idleSeconds);
            }
            if (intervalMs < 1) {
                throw new ParameterException(spec.commandLine(), "--interval-ms must be at least 1, not " + intervalMs);
            }
            java.util.Set<String> picked;
            try {
                picked = Bench.cases(cases);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage());
            }
            // the nodes would refuse these timings at start (bootstrap.dcs is checked by type and range)
            List<DynamicConfigValidator.Problem> problems = DynamicConfigValidator.validate(
                    Map.of("ttl", ttl, "loop_wait", loopWait, "retry_timeout", retryTimeout));
            if (!problems.isEmpty()) {
                throw new ParameterException(spec.commandLine(), problems.get(0).message());
            }
            return Bench.main(
                    trials,
                    idleSeconds,
                    intervalMs,
                    new int[] {ttl, loopWait, retryTimeout},
                    dcs,
                    impl,
                    picked,
                    dir,
                    parent.out,
                    parent.err);
        }
    }

    @Command(name = "version", description = "Print the version.")
    static final class VersionCmd implements Callable<Integer> {
        @CommandLine.ParentCommand
        Pgha parent;

        @Override
        public Integer call() {
            parent.out.println("pgha " + Main.version());
            return 0;
        }
    }

    private static void checkDcs(CommandSpec spec, String dcs) {
        if (dcs != null && !LOCAL_DCS.contains(dcs)) {
            throw new ParameterException(spec.commandLine(), "--dcs must be etcd3 or zookeeper, not '" + dcs + "'");
        }
    }
}
