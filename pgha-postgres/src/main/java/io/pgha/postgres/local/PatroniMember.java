package io.pgha.postgres.local;

import io.pgha.config.PatroniYaml;
import io.pgha.config.WatchdogConfig;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsProvider;
import io.pgha.dcs.RoleNames;
import io.pgha.ha.HaNode;
import io.pgha.ha.PatroniCallbacks;
import io.pgha.postgres.fence.ShellFence;
import io.pgha.rest.RestApiConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A member of a cluster built from a Patroni configuration, the way {@code pgha run <node.yml>} builds
 * it: every section read and checked before anything starts ({@link #check}), the DCS connected with
 * retries ({@link #connectDcs}), then the node with the file's REST API settings (peers are asked with
 * its credentials and TLS), the out-of-process fence and its watchdog, and the file's
 * {@code postgresql.callbacks} ({@link #buildNode}). The runner and the Spring Boot starter both use
 * it, so that a file runs the same under either.
 */
public final class PatroniMember {
    /** How long one postgresql.callbacks command may run before it is killed. */
    public static final long CALLBACK_TIMEOUT_SECONDS = 60;

    private static final Logger log = LoggerFactory.getLogger(PatroniMember.class);

    private PatroniMember() {}

    /**
     * What the modules read from a configuration, each section checked; nothing started.
     *
     * @param postgres the postgresql section as the controller runs it
     * @param restApi the restapi section
     * @param dcsProvider the provider of the file's DCS section
     * @param callbacks postgresql.callbacks (empty when there are none)
     */
    public record Parts(
            PatroniYaml yaml,
            LocalPostgresConfig postgres,
            RestApiConfig restApi,
            DcsProvider dcsProvider,
            Map<String, ?> callbacks) {

        /** The same parts with another PostgreSQL configuration (the runner's, with WAL archiving added). */
        public Parts withPostgres(LocalPostgresConfig other) {
            return new Parts(yaml, other, restApi, dcsProvider, callbacks);
        }
    }

    /**
     * Each module's reading of its section (postgresql, restapi, the DCS, node, watchdog, callbacks).
     *
     * @throws IllegalArgumentException naming the key that is wrong ({@link PatroniYaml#locate} adds its line)
     */
    public static Parts check(PatroniYaml yaml) {
        LocalPostgresConfig postgres =
                LocalPostgresConfig.fromPatroni(yaml.scope(), yaml.name(), yaml.postgresql(), yaml.bootstrap());
        RestApiConfig restApi = RestApiConfig.fromPatroni(yaml.restapi());
        DcsProvider provider = DcsProvider.find(yaml.dcsType());
        yaml.nodeConfig();
        yaml.watchdogConfig();
        Map<String, ?> callbacks = Map.of();
        if (yaml.postgresql().get("callbacks") instanceof Map<?, ?> cb) {
            @SuppressWarnings("unchecked")
            Map<String, ?> checked = (Map<String, ?>) cb;
            new PatroniCallbacks(checked, yaml.scope(), CALLBACK_TIMEOUT_SECONDS); // checks the commands
            callbacks = checked;
        }
        return new Parts(yaml, postgres, restApi, provider, callbacks);
    }

    /** Connects to the DCS, retrying while it is unreachable (a node may start before its DCS). */
    public static Dcs connectDcs(Parts parts) throws InterruptedException {
        long delayMs = 1000;
        while (true) {
            try {
                return parts.dcsProvider().create(parts.yaml().dcsSettings());
            } catch (DcsException e) {
                log.warn(
                        "DCS {} not reachable: {}; retrying in {} ms",
                        parts.yaml().dcsType(),
                        e.getMessage(),
                        delayMs);
                Thread.sleep(delayMs);
                delayMs = Math.min(delayMs * 2, 10_000);
            }
        }
    }

    /**
     * The node (not started): the file's node configuration, the DCS, the controller, the REST API
     * settings, the fence (which stops a primary's PostgreSQL from outside this JVM if it dies or
     * freezes while holding the lock, docs/safety.md) and the callbacks.
     *
     * @param onFatalError what to do when the HA loop dies ({@link HaNode.Builder#onFatalError})
     */
    public static HaNode buildNode(
            Parts parts, Dcs dcs, LocalPostgresController postgres, Consumer<Throwable> onFatalError) {
        return buildNode(parts, dcs, postgres, onFatalError, parts.callbacks().isEmpty() ? null : callbacks(parts));
    }

    /**
     * The file's {@code postgresql.callbacks} as a listener to pass to {@link #buildNode(Parts, Dcs,
     * LocalPostgresController, Consumer, PatroniCallbacks)}: a listener with no callbacks runs
     * nothing, and {@link PatroniCallbacks#reconfigure} gives it a reloaded file's callbacks.
     */
    public static PatroniCallbacks callbacks(Parts parts) {
        return new PatroniCallbacks(parts.callbacks(), parts.yaml().scope(), CALLBACK_TIMEOUT_SECONDS);
    }

    /**
     * As {@link #buildNode(Parts, Dcs, LocalPostgresController, Consumer)}, with {@code callbacks}
     * (null: none) as the node's callbacks listener: the runner keeps it to reconfigure it on SIGHUP.
     */
    public static HaNode buildNode(
            Parts parts,
            Dcs dcs,
            LocalPostgresController postgres,
            Consumer<Throwable> onFatalError,
            PatroniCallbacks callbacks) {
        PatroniYaml yaml = parts.yaml();
        Path stateDir = fenceDir(
                yaml.scope(),
                yaml.name(),
                runsAsRoot(),
                System.getenv("RUNTIME_DIRECTORY"),
                System.getenv("XDG_RUNTIME_DIR"));
        HaNode.Builder builder = HaNode.builder()
                .config(yaml.nodeConfig())
                .dcs(dcs)
                .postgres(postgres)
                .restApi(parts.restApi())
                .onFatalError(onFatalError)
                .fence(new ShellFence(parts.postgres().dataDir(), stateDir, watchdog(yaml)))
                // the failsafe promise outlives a restart of this agent (docs/safety.md)
                .stateDirectory(stateDir);
        if (callbacks != null) {
            builder.listener(callbacks);
        }
        HaNode node = builder.build();
        if (callbacks != null) {
            // the role on the command line as the cluster's other members name it (RoleNames)
            callbacks.roleNames(role -> RoleNames.wire(role, node.state().cluster(), yaml.name()));
        }
        return node;
    }

    /**
     * Where the fence's script and log live: a private directory of this member's own (ShellFence
     * creates it with mode 0700 and refuses one that is a symlink, another user's, or open to
     * others). As root under {@code /run/pgha}, where no other user can make it first; otherwise
     * under the first of {@code $RUNTIME_DIRECTORY} (systemd's {@code RuntimeDirectory=}) and
     * {@code $XDG_RUNTIME_DIR} that is set, else under the temp dir. Scope and name are reduced to
     * file-name characters: they come from the file and must not lead out of that directory.
     *
     * @param runtimeDirs candidate parent directories in order of preference (null or blank
     *     entries skipped; when one lists several, as systemd may, the first)
     */
    public static Path fenceDir(String scope, String name, boolean root, String... runtimeDirs) {
        String leaf = "pgha-fence-" + fileName(scope) + "-" + fileName(name);
        if (root && Files.isDirectory(Path.of("/run"))) {
            return Path.of("/run", "pgha", leaf);
        }
        for (String d : runtimeDirs) {
            String first = d == null ? "" : (d.indexOf(':') < 0 ? d : d.substring(0, d.indexOf(':'))).strip();
            if (!first.isEmpty() && Files.isDirectory(Path.of(first))) {
                return Path.of(first, leaf);
            }
        }
        return Path.of(System.getProperty("java.io.tmpdir"), leaf);
    }

    private static String fileName(String s) {
        String safe = s.replaceAll("[^A-Za-z0-9._-]", "_");
        return safe.startsWith(".") ? "_" + safe.substring(1) : safe;
    }

    private static boolean runsAsRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | RuntimeException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    /**
     * The watchdog section; the fence feeds the device (docs/safety.md, "Linux watchdog"). Without a
     * section pgha uses none, where Patroni would try /dev/watchdog: say so when that device is there.
     */
    private static WatchdogConfig watchdog(PatroniYaml yaml) {
        WatchdogConfig w = yaml.watchdogConfig();
        if (w.enabled()) {
            log.info(
                    "watchdog: mode {}, device {}, safety_margin {}",
                    w.mode().yamlName(),
                    w.device(),
                    w.safetyMargin());
        } else if (!yaml.raw().containsKey("watchdog") && Files.isWritable(Path.of(WatchdogConfig.DEFAULT_DEVICE))) {
            log.info(
                    "watchdog: {} is there but no watchdog section is: pgha leaves it alone (Patroni would use"
                            + " it in automatic mode); set watchdog.mode to automatic or required to use it",
                    WatchdogConfig.DEFAULT_DEVICE);
        }
        return w;
    }
}
