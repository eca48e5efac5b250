package io.pgha.examples;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The differential harness: one cluster of two members on a real etcd, run by either Patroni
 * (Debian's {@code /usr/bin/patroni}, the reference) or {@code pgha run}, from the same YAML file
 * written as Patroni's documentation writes it, and observed only with what a user has: psql
 * connecting as the file's pg_hba allows, {@code patronictl}, HTTP requests to the REST API,
 * signals to the agent's PID. A scenario that fails on Patroni is a wrong test; one that passes on
 * Patroni and fails on pgha is a pgha bug.
 *
 * <p>Both agents run as the {@code postgres} OS user when the tests run as root (Patroni cannot
 * run as root; pgha must work as that user too). Everything started is stopped by PID in
 * {@link #close()}: the agent's process group, then any postmaster still running on the data
 * directories.
 */
final class SideBySide implements AutoCloseable {

    /** What runs the members. */
    enum Implementation {
        PATRONI,
        PGHA;

        List<String> command(Path yaml, Path jar) {
            if (this == PATRONI) {
                return List.of(PATRONI_BIN.toString(), yaml.toString());
            }
            List<String> cmd = new ArrayList<>(LocalCluster.jarLauncher(jar));
            cmd.add("run");
            cmd.add(yaml.toString());
            return cmd;
        }
    }

    static final Path PATRONI_BIN = Path.of("/usr/bin/patroni");
    static final Path PATRONICTL = Path.of("/usr/bin/patronictl");
    static final Path PSQL = Path.of("/usr/lib/postgresql/15/bin/psql");
    static final Duration T = Duration.ofSeconds(90);

    final Path dir;
    final String scope;
    final List<Member> members = new ArrayList<>();
    /** The members' {@code postgresql.pg_hba}, as {@link #writeYaml} writes it; a test may change it and rewrite. */
    List<String> pgHba = List.of(
            "local all all trust", "host all all 127.0.0.1/32 trust", "host replication replicator 127.0.0.1/32 md5");
    /** YAML lines {@link #writeYaml} adds to the {@code postgresql} section (two-space indented keys). */
    String postgresqlExtra = "";
    /** YAML lines {@link #writeYaml} adds to the {@code restapi} section (two-space indented keys). */
    String restapiExtra = "";
    /** The host of the {@code restapi.connect_address} {@link #writeYaml} writes. */
    String restapiConnectHost = "127.0.0.1";

    private final LocalDcs dcs;
    private final Thread hook;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /** One member: what runs it, its YAML file, ports, data directory and agent process. */
    static final class Member {
        final Implementation impl;
        final String name;
        final Path yaml;
        final int pgPort;
        final int restPort;
        final Path dataDir;
        Process agent;

        Member(Implementation impl, String name, Path yaml, int pgPort, int restPort, Path dataDir) {
            this.impl = impl;
            this.name = name;
            this.yaml = yaml;
            this.pgPort = pgPort;
            this.restPort = restPort;
            this.dataDir = dataDir;
        }

        String api() {
            return "http://127.0.0.1:" + restPort;
        }
    }

    private SideBySide(Path dir, String scope, LocalDcs dcs) {
        this.dir = dir;
        this.scope = scope;
        this.dcs = dcs;
        this.hook = new Thread(this::close, "side-by-side-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Skips the test class when this machine cannot run {@code impl} (says what is missing). */
    static void assumeMachine(Implementation impl) {
        assumeTrue(Demo.hasPostgres(), "PostgreSQL server binaries are missing: apt-get install postgresql");
        assumeTrue(Files.isExecutable(LocalDcs.ETCD), "etcd is missing (/usr/bin/etcd): apt-get install etcd-server");
        assumeTrue(Files.isExecutable(PSQL), "psql is missing: apt-get install postgresql-client-15");
        assumeTrue(Files.isExecutable(PATRONICTL), "patronictl is missing: apt-get install patroni");
        if (impl == Implementation.PATRONI) {
            assumeTrue(
                    Files.isExecutable(PATRONI_BIN), "Patroni is missing (/usr/bin/patroni): apt-get install patroni");
        } else {
            assumeTrue(
                    Files.isRegularFile(E2eCluster.JAR),
                    "target/pgha.jar is missing: run the ITs through 'mvn verify'");
        }
    }

    /** etcd, and the two members' files; nothing of the agents runs yet. */
    static SideBySide create(Implementation impl) throws IOException {
        return create(List.of(impl, impl), "etcd3", Map.of());
    }

    /**
     * A DCS ({@code etcd3} or {@code zookeeper}) and one member's file per entry of
     * {@code perMember}, run by that implementation: a mixed cluster when they differ.
     * {@code tags} are the members' extra tags by name.
     */
    static SideBySide create(List<Implementation> perMember, String dcsType, Map<String, Map<String, String>> tags)
            throws IOException {
        ensureSocketDirectory();
        String label = perMember.stream().distinct().count() > 1
                ? "mixed"
                : perMember.get(0).name().toLowerCase(java.util.Locale.ROOT);
        Path dir = Files.createTempDirectory("pgha-side-by-side-" + label + "-");
        open(dir);
        Ports ports = new Ports();
        LocalDcs dcs = LocalDcs.start(dcsType, dir, ports);
        SideBySide s = new SideBySide(dir, "batman", dcs);
        try {
            Path jar = dir.resolve("pgha.jar");
            if (perMember.contains(Implementation.PGHA)) {
                // a copy the postgres user can read, wherever the build tree is
                Files.copy(E2eCluster.JAR, jar, StandardCopyOption.REPLACE_EXISTING);
                Files.setPosixFilePermissions(jar, PosixFilePermissions.fromString("rw-r--r--"));
            }
            for (int i = 0; i < perMember.size(); i++) {
                String name = "postgresql" + i;
                Path home = dir.resolve(name);
                Files.createDirectories(home);
                open(home);
                int pg = ports.next();
                int rest = ports.next();
                Path yaml = home.resolve(name + ".yml");
                Member m = new Member(perMember.get(i), name, yaml, pg, rest, home.resolve("data"));
                s.members.add(m);
                s.writeYaml(m, Map.of(), tags.getOrDefault(name, Map.of()));
                chownToPostgres(home);
            }
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /**
     * The member's file as Patroni's documentation writes one (postgres0.yml: scope, namespace,
     * restapi, etcd3, bootstrap.dcs with postgresql.parameters, initdb, postgresql with
     * authentication and pg_hba), with this test's ports and directories. {@code localParameters}
     * go under {@code postgresql.parameters}.
     */
    void writeYaml(Member m, Map<String, String> localParameters) throws IOException {
        writeYaml(m, localParameters, Map.of());
    }

    /** As {@link #writeYaml(Member, Map)}, with {@code extraTags} added under {@code tags}. */
    void writeYaml(Member m, Map<String, String> localParameters, Map<String, String> extraTags) throws IOException {
        Map<String, String> allTags = new java.util.LinkedHashMap<>();
        allTags.put("nofailover", "false");
        allTags.put("noloadbalance", "false");
        allTags.put("clonefrom", "false");
        allTags.put("nosync", "false");
        allTags.putAll(extraTags);
        StringBuilder tags = new StringBuilder();
        allTags.forEach(
                (k, v) -> tags.append("  ").append(k).append(": ").append(v).append('\n'));
        StringBuilder hba = new StringBuilder();
        pgHba.forEach(l -> hba.append("  - ").append(l).append('\n'));
        StringBuilder params = new StringBuilder();
        localParameters.forEach(
                (k, v) -> params.append("    ").append(k).append(": ").append(v).append('\n'));
        String yaml = "scope: " + scope + "\n"
                + "namespace: /service/\n"
                + "name: " + m.name + "\n"
                + "\n"
                + "restapi:\n"
                + "  listen: 127.0.0.1:" + m.restPort + "\n"
                + "  connect_address: " + restapiConnectHost + ":" + m.restPort + "\n"
                + restapiExtra
                + "\n"
                + dcs.yamlSection()
                + "\n"
                + "bootstrap:\n"
                + "  dcs:\n"
                + "    ttl: 20\n"
                + "    loop_wait: 2\n"
                + "    retry_timeout: 5\n"
                + "    maximum_lag_on_failover: 1048576\n"
                + "    postgresql:\n"
                + "      use_pg_rewind: true\n"
                + "      parameters:\n"
                + "        max_connections: 50\n"
                + "        wal_keep_size: 64MB\n"
                + "  initdb:\n"
                + "  - encoding: UTF8\n"
                + "  - data-checksums\n"
                + "\n"
                + "postgresql:\n"
                + "  listen: 127.0.0.1:" + m.pgPort + "\n"
                + "  connect_address: 127.0.0.1:" + m.pgPort + "\n"
                + "  data_dir: " + m.dataDir + "\n"
                + "  bin_dir: " + PSQL.getParent() + "\n"
                + "  pgpass: " + m.dataDir.resolveSibling("pgpass") + "\n"
                + "  authentication:\n"
                + "    replication:\n"
                + "      username: replicator\n"
                + "      password: rep-pass\n"
                + "    superuser:\n"
                + "      username: postgres\n"
                + "      password: zalando\n"
                + "  parameters:\n"
                + "    shared_buffers: 16MB\n"
                + params
                + "  pg_hba:\n"
                + hba
                + postgresqlExtra
                + "\n"
                + "tags:\n"
                + tags;
        Files.writeString(m.yaml, yaml, StandardCharsets.UTF_8);
        chownToPostgres(m.yaml);
    }

    /** Starts the member's agent in a session of its own, its output to agent.log beside the file. */
    void start(Member m) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (isRoot()) {
            cmd.addAll(List.of("/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"));
        }
        cmd.addAll(m.impl.command(m.yaml, dir.resolve("pgha.jar")));
        ProcessBuilder pb = new ProcessBuilder(LocalCluster.detached(cmd.toArray(String[]::new)))
                .directory(m.yaml.getParent().toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(
                        m.yaml.resolveSibling("agent.log").toFile()));
        pb.environment().put("HOME", m.yaml.getParent().toString());
        // the postgres user's PATH, not the test JVM's (root's may hold directories it cannot enter)
        pb.environment().put("PATH", "/usr/local/bin:/usr/bin:/bin");
        m.agent = pb.start();
    }

    /** The member whose {@code GET /primary} answers 200 (within {@link #T}). */
    Member awaitLeader() {
        try {
            return await(
                    "a leader answering GET /primary",
                    () -> members.stream()
                            .filter(m -> status(m, "/primary") == 200)
                            .findFirst()
                            .orElse(null));
        } catch (AssertionError e) {
            // the agents' own words, read when the wait failed (the directory goes at close)
            StringBuilder logs = new StringBuilder(String.valueOf(e.getMessage()));
            members.forEach(
                    m -> logs.append("\n--- ").append(m.name).append(":\n").append(log(m)));
            throw new AssertionError(logs.toString(), e);
        }
    }

    /** psql as the file's pg_hba allows: over TCP, as postgres, no password anywhere. */
    String psql(Member m, String sql) throws IOException, InterruptedException {
        return run(List.of(
                PSQL.toString(),
                "-w",
                "-h",
                "127.0.0.1",
                "-p",
                String.valueOf(m.pgPort),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-Atc",
                sql));
    }

    /** psql through the Unix socket in {@code socketDir}, as postgres, no password anywhere. */
    String psqlSocket(Member m, Path socketDir, String sql) throws IOException, InterruptedException {
        return run(List.of(
                PSQL.toString(),
                "-w",
                "-h",
                socketDir.toString(),
                "-p",
                String.valueOf(m.pgPort),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-Atc",
                sql));
    }

    /** psql, or null when it fails (the server is down or refuses). */
    String tryPsql(Member m, String sql) {
        try {
            return psql(m, sql);
        } catch (IOException | IllegalStateException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** {@code patronictl -c <member's file> args...}, its output; fails on a non-zero exit. */
    String patronictl(Member m, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(PATRONICTL.toString(), "-c", m.yaml.toString()));
        cmd.addAll(List.of(args));
        return run(cmd);
    }

    /** {@code pgha ctl -c <member's file> args...} (the runner's patronictl), its output; fails on a non-zero exit. */
    String pghaCtl(Member m, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(LocalCluster.jarLauncher(E2eCluster.JAR));
        cmd.addAll(List.of("ctl", "-c", m.yaml.toString()));
        cmd.addAll(List.of(args));
        return run(cmd);
    }

    /** SIGKILL to the member's agent and everything in its process group, as a crash of the host's agent. */
    void killAgent(Member m) throws IOException, InterruptedException {
        Process p = m.agent;
        if (p != null) {
            run(List.of("/bin/kill", "-KILL", "--", "-" + p.pid()));
            p.waitFor(10, TimeUnit.SECONDS);
            m.agent = null;
        }
    }

    /** The status of {@code GET <path>} on the member's REST API, 0 when it does not answer. */
    int status(Member m, String path) {
        try {
            return http.send(
                            HttpRequest.newBuilder(URI.create(m.api() + path))
                                    .timeout(Duration.ofSeconds(3))
                                    .build(),
                            HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (IOException e) {
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    /** A request to the member's REST API; its status and body. */
    HttpResponse<String> request(Member m, String method, String path, String body)
            throws IOException, InterruptedException {
        return request(m, method, path, body, null);
    }

    /** As {@link #request(Member, String, String, String)}, with HTTP Basic credentials {@code user:password} (null: none). */
    HttpResponse<String> request(Member m, String method, String path, String body, String credentials)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(m.api() + path));
        if (credentials != null) {
            b.header(
                    "Authorization",
                    "Basic "
                            + java.util.Base64.getEncoder()
                                    .encodeToString(credentials.getBytes(StandardCharsets.UTF_8)));
        }
        return http.send(
                b.timeout(Duration.ofSeconds(10))
                        .header("Content-Type", "application/json")
                        .method(
                                method,
                                body == null
                                        ? HttpRequest.BodyPublishers.noBody()
                                        : HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Sends {@code signal} to the member's agent (its PID, not a name). */
    void signal(Member m, String signal) throws IOException, InterruptedException {
        run(List.of("/bin/kill", "-" + signal, String.valueOf(m.agent.pid())));
    }

    /** Polls {@code probe} until it answers non-null, or fails the test naming {@code what}. */
    static <T> T await(String what, Supplier<T> probe) {
        Instant deadline = Instant.now().plus(T);
        while (Instant.now().isBefore(deadline)) {
            T v = probe.get();
            if (v != null) {
                return v;
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        throw new AssertionError("timed out after " + T.toSeconds() + "s waiting for " + what);
    }

    /** The agent's log, for a failure message. */
    String log(Member m) {
        try {
            String all = Files.readString(m.yaml.resolveSibling("agent.log"));
            return all.length() > 4000 ? all.substring(all.length() - 4000) : all;
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static String run(List<String> cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
        pb.environment().put("PGPASSFILE", "/nonexistent/side-by-side-no-passfile");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(cmd + " did not finish");
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException(cmd + " exited " + p.exitValue() + ": " + out);
        }
        return out;
    }

    /**
     * Debian's PostgreSQL puts its socket in /run/postgresql, which postgresql-common's tmpfiles.d
     * creates at boot; a machine booted without systemd (a container) loses it with /run. Patroni
     * then cannot start PostgreSQL at all (pgha falls back to its own directory), so the harness
     * makes it as the package would.
     */
    private static void ensureSocketDirectory() throws IOException {
        Path run = Path.of("/run/postgresql");
        if (isRoot() && !Files.isDirectory(run)) {
            System.err.println("side by side: creating " + run + " as postgresql-common's tmpfiles.d would");
            try {
                run(List.of(
                        "/usr/bin/install", "-d", "-m", "2775", "-o", "postgres", "-g", "postgres", run.toString()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static void open(Path p) throws IOException {
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    static void chownToPostgres(Path p) throws IOException {
        if (isRoot()) {
            try {
                run(List.of("/bin/chown", "-R", "postgres:postgres", p.toString()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Stops the agents (SIGTERM, then SIGKILL to their process groups), leftover postmasters, etcd; by PID. */
    @Override
    public void close() {
        for (Member m : members) {
            stopAgent(m);
        }
        for (Member m : members) {
            killLeftoverPostmaster(m);
        }
        try {
            dcs.close();
        } catch (IOException | RuntimeException e) {
            System.err.println("stopping etcd: " + e.getMessage());
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: this is the hook
        }
        if (Boolean.getBoolean("sidebyside.keep")) {
            System.err.println("side by side: keeping " + dir + " (-Dsidebyside.keep)");
            return;
        }
        try {
            deleteTree(dir);
        } catch (IOException | RuntimeException e) {
            System.err.println("leaving " + dir + ": " + e.getMessage());
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (java.util.stream.Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** SIGTERM to the agent, up to 30 s for it to stop PostgreSQL and exit, then SIGKILL to its group. */
    void stopAgent(Member m) {
        Process p = m.agent;
        if (p == null) {
            return;
        }
        try {
            if (p.isAlive()) {
                p.destroy();
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    // setsid made the agent a group leader: its group holds what it started
                    new ProcessBuilder("/bin/kill", "-KILL", "--", "-" + p.pid())
                            .start()
                            .waitFor(5, TimeUnit.SECONDS);
                    p.waitFor(10, TimeUnit.SECONDS);
                }
            }
        } catch (IOException e) {
            System.err.println("stopping " + m.name + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        m.agent = null;
    }

    /** SIGKILL to the member's postmaster (its PID from postmaster.pid), as a crash. */
    void killPostmaster(Member m) throws IOException, InterruptedException {
        long pid = Long.parseLong(
                Files.readAllLines(m.dataDir.resolve("postmaster.pid")).get(0).strip());
        run(List.of("/bin/kill", "-KILL", String.valueOf(pid)));
    }

    private static void killLeftoverPostmaster(Member m) {
        Path pidFile = m.dataDir.resolve("postmaster.pid");
        try {
            if (!Files.isRegularFile(pidFile)) {
                return;
            }
            long pid = Long.parseLong(Files.readAllLines(pidFile).get(0).strip());
            ProcessHandle.of(pid).ifPresent(h -> {
                if (h.info().command().orElse("").contains("postgres")) {
                    h.destroyForcibly();
                }
            });
        } catch (IOException | RuntimeException e) {
            System.err.println("postmaster of " + m.name + ": " + e.getMessage());
        }
    }
}
