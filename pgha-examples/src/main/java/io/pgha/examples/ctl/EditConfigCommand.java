package io.pgha.examples.ctl;

import io.pgha.config.DynamicConfigValidator;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsJson;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code edit-config}: changes the dynamic configuration in the DCS, showing the diff first, and
 * writes it with compare-and-set on the version that was read and shown, so that a concurrent
 * change is never silently overwritten.
 */
@Command(name = "edit-config", description = "Edit the cluster's dynamic configuration")
final class EditConfigCommand extends Verb {
    @Parameters(paramLabel = "CLUSTER", arity = "0..1", description = "Cluster name (default: the config's scope)")
    String cluster;

    @Option(
            names = {"-q", "--quiet"},
            description = "Do not show changes")
    boolean quiet;

    @Option(
            names = {"-s", "--set"},
            paramLabel = "KEY=VALUE",
            description = "Set a value (dotted path, YAML value; empty or null deletes). Repeatable")
    List<String> set = new ArrayList<>();

    @Option(
            names = {"-p", "--pg"},
            paramLabel = "PARAM=VALUE",
            description = "Set a PostgreSQL parameter (short for -s postgresql.parameters.PARAM=VALUE). Repeatable")
    List<String> pg = new ArrayList<>();

    @Option(
            names = "--apply",
            paramLabel = "FILE",
            description = "Merge the configuration from a YAML file ('-' for stdin)")
    String apply;

    @Option(
            names = "--replace",
            paramLabel = "FILE",
            description = "Replace the configuration with a YAML file ('-' for stdin)")
    String replace;

    @Option(names = "--force", description = "Do not ask for confirmation")
    boolean force;

    @Override
    public Integer call() {
        Session s = session();
        String name = s.clusterName(cluster);
        ClusterState state = s.read(name);
        if (state.config() == null) {
            throw new CtlException("The config key does not exist in the cluster " + name);
        }
        Map<String, Object> before = state.config().data();
        String beforeText = Output.yaml(before);
        Map<String, Object> changed = ConfigEdit.deepCopy(before);
        boolean edited = false;
        if (replace != null) {
            changed = ConfigEdit.readYamlMap(read(replace, s), source(replace));
            edited = true;
        }
        if (apply != null) {
            changed = ConfigEdit.merge(changed, ConfigEdit.readYamlMap(read(apply, s), source(apply)));
            edited = true;
        }
        if (!set.isEmpty() || !pg.isEmpty()) {
            List<String> pairs = new ArrayList<>(set);
            pg.forEach(p -> pairs.add("postgresql.parameters." + p.stripLeading()));
            changed = ConfigEdit.applyPairs(changed, pairs);
            edited = true;
        }
        if (!edited) {
            changed = ConfigEditor.edit(beforeText, name);
        }
        // the DCS holds JSON: compare and write what will be stored, not YAML's int/long variety
        changed = DcsJson.readObject(DcsJson.write(changed));
        if (changed.equals(before)) {
            if (!quiet) {
                s.out.println("Not changed");
            }
            return 0;
        }
        if (!quiet) {
            UnifiedDiff.diff(beforeText, Output.yaml(changed)).forEach(s.out::println);
        }
        List<DynamicConfigValidator.Problem> problems = DynamicConfigValidator.validate(changed);
        if (!problems.isEmpty()) {
            List<String> lines = new ArrayList<>();
            problems.forEach(p -> lines.add(p.message()));
            throw new CtlException("Invalid configuration, nothing was written: " + String.join("; ", lines));
        }
        if (("-".equals(apply) || "-".equals(replace)) && !force) {
            throw new CtlException("Use --force option to apply changes read from standard input");
        }
        if (!force && !s.prompter.confirm("Apply these changes?")) {
            throw new CtlException("Aborted: the configuration was not changed");
        }
        try {
            if (!s.dcs(name).writeConfig(changed, state.config().version())) {
                throw new CtlException("Config modification aborted due to concurrent changes;"
                        + " nothing was written, run edit-config again");
            }
        } catch (DcsException e) {
            throw new CtlException("could not write the configuration to the DCS: " + e.getMessage());
        }
        s.out.println("Configuration changed");
        return 0;
    }

    private static String source(String file) {
        return "-".equals(file) ? "standard input" : "file " + file;
    }

    private static String read(String file, Session s) {
        try {
            if ("-".equals(file)) {
                InputStream in = s.stdin();
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            return Files.readString(Path.of(file));
        } catch (IOException e) {
            throw new CtlException("cannot read " + source(file) + ": " + e.getMessage());
        }
    }
}
