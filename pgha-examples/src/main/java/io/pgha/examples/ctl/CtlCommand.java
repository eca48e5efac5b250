package io.pgha.examples.ctl;

import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The {@code pgha ctl} group: the global options and the session its verbs share. */
@Command(
        name = "pgha ctl",
        mixinStandardHelpOptions = true,
        versionProvider = CtlVersion.class,
        description = "Control a pgha (or Patroni) cluster: reads it from the DCS, writes through the REST API.",
        subcommands = {
            ListCommand.class,
            TopologyCommand.class,
            SwitchoverCommand.class,
            FailoverCommand.class,
            PauseCommand.class,
            ResumeCommand.class,
            DemoteClusterCommand.class,
            PromoteClusterCommand.class,
            RestartCommand.class,
            ReinitCommand.class,
            ReloadCommand.class,
            EditConfigCommand.class,
            ShowConfigCommand.class,
            HistoryCommand.class,
            DsnCommand.class,
            RemoveCommand.class,
            FlushCommand.class,
            VersionCommand.class,
            BackupCommand.class,
            RestoreCommand.class
        })
final class CtlCommand implements Callable<Integer> {
    static final String DEFAULT_CONFIG = ".config/patroni/patronictl.yaml";

    @Spec
    CommandSpec spec;

    @Option(
            names = {"-c", "--config-file"},
            paramLabel = "FILE",
            description = "Configuration file (default: $PATRONICTL_CONFIG_FILE, then ~/" + DEFAULT_CONFIG + ")")
    String configFile;

    @Option(
            names = {"-d", "--dcs-url", "--dcs"},
            paramLabel = "URL",
            description = "The DCS to use instead of the config file's, e.g. etcd3://127.0.0.1:2379,"
                    + " zookeeper://host:2181, consul://host:8500 (a path sets the namespace)")
    String dcsUrl;

    @Option(
            names = {"-k", "--insecure"},
            description = "Allow TLS connections to the REST API without verifying certificates")
    boolean insecure;

    private final PrintStream out;
    private final PrintStream err;
    private final InputStream in;
    private Session session;

    CtlCommand(PrintStream out, PrintStream err, InputStream in) {
        this.out = out;
        this.err = err;
        this.in = in;
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(out);
        return Ctl.EXIT_USAGE;
    }

    /** The session, loading the config file on first use. */
    Session session() {
        if (session == null) {
            Path file = configPath();
            String env = System.getenv("PATRONICTL_CONFIG_FILE");
            boolean explicit = configFile != null || (env != null && !env.isBlank());
            String url = dcsUrl;
            if (url == null) {
                String envUrl = System.getenv("DCS_URL");
                url = envUrl == null || envUrl.isBlank() ? null : envUrl;
            }
            session = new Session(CtlConfig.load(file, explicit, url, insecure), out, err, in);
        }
        return session;
    }

    /** The config file: -c, else $PATRONICTL_CONFIG_FILE, else ~/.config/patroni/patronictl.yaml. */
    Path configPath() {
        String env = System.getenv("PATRONICTL_CONFIG_FILE");
        if (configFile != null) {
            return Path.of(configFile);
        }
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return defaultConfigPath();
    }

    private static Path defaultConfigPath() {
        return Path.of(System.getProperty("user.home"), DEFAULT_CONFIG);
    }

    void close() {
        if (session != null) {
            session.close();
        }
    }
}
