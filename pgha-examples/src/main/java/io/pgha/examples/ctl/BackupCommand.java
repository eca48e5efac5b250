package io.pgha.examples.ctl;

import io.pgha.backup.BackupCommands;
import io.pgha.backup.BackupType;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code backup now|list|verify}: on this member's host, from its YAML ({@code -c node.yml}); see
 * {@link LocalBackup}.
 */
@Command(
        name = "backup",
        description = "Take, list or verify backups (run on a member's host: -c <node.yml>)",
        subcommands = {BackupCommand.Now.class, BackupCommand.ListBackups.class, BackupCommand.Verify.class})
final class BackupCommand implements Callable<Integer> {
    @ParentCommand
    CtlCommand root;

    @Option(
            names = {"-h", "--help"},
            usageHelp = true,
            description = "Show this help message and exit.")
    boolean help;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(root.session().out);
        return Ctl.EXIT_USAGE;
    }

    int run(Function<BackupCommands, BackupCommands.Result> verb) {
        return LocalBackup.run(root.configPath(), root.session(), verb);
    }

    /** What the three sub-verbs share. */
    abstract static class Sub implements Callable<Integer> {
        @ParentCommand
        BackupCommand parent;

        @Option(
                names = {"-h", "--help"},
                usageHelp = true,
                description = "Show this help message and exit.")
        boolean help;
    }

    @Command(name = "now", description = "Take a backup on this member now (full by default)")
    static final class Now extends Sub {
        @Option(
                names = {"-t", "--type"},
                paramLabel = "TYPE",
                defaultValue = "full",
                description = "full, diff or logical (default: ${DEFAULT-VALUE})")
        String type;

        @Override
        public Integer call() {
            BackupType t;
            try {
                t = BackupType.parse(type);
            } catch (IllegalArgumentException e) {
                throw new CtlException(e.getMessage(), Ctl.EXIT_USAGE);
            }
            return parent.run(c -> c.now(t.label()));
        }
    }

    @Command(name = "list", description = "List the backups in the repository, the logical dumps and the last drill")
    static final class ListBackups extends Sub {
        @Override
        public Integer call() {
            return parent.run(BackupCommands::list);
        }
    }

    @Command(name = "verify", description = "Run a restore drill now; exit 1 when it fails")
    static final class Verify extends Sub {
        @Override
        public Integer call() {
            return parent.run(BackupCommands::verify);
        }
    }
}
