package io.pgha.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.Closeable;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Several {@code pgha run} processes with real PostgreSQL on loopback ports, one directory each
 * under a base directory, over a {@link LocalDcs}: what the demo, the benchmark and the
 * end-to-end tests start. Every process is started here and stopped here by PID: runners with
 * SIGTERM (then SIGKILL), postmasters left behind by a killed runner through their
 * {@code postmaster.pid}. Runners start in their own session ({@code setsid}), so that a Ctrl-C
 * in the terminal reaches only the process that owns them, which then stops them in order.
 *
 * <p>Not thread-safe, except {@link #close()}, which may run from a shutdown hook.
 */
final class LocalCluster implements Closeable {

    /**
     * JVM flags that keep an idle runner small (measured in docs/benchmarks.md), and end it at its
     * first OutOfMemoryError, as bin/pgha does.
     */
    static final List<String> RUNNER_JVM_FLAGS = List.of(
            "-XX:+ExitOnOutOfMemoryError",
            "-XX:+UseSerialGC",
            "-Xss512k",
            "-Xms16m",
            "-Xmx48m",
            "-XX:MinHeapFreeRatio=10",
            "-XX:MaxHeapFreeRatio=30",
            "-XX:TieredStopAtLevel=1",
            "-XX:CICompilerCount=1",
            "-XX:MaxMetaspaceSize=64m",
            "-XX:ReservedCodeCacheSize=24m",
            "-XX:MaxDirectMemorySize=16m",
            "-Dio.netty.allocator.type=unpooled",
            "-Dio.netty.noPreferDirect=true");

    /** Debian's Patroni, which {@code pgha bench --impl patroni} runs with the same YAML. */
    static final Path PATRONI = Path.of("/usr/bin/patroni");
    /** The launcher that runs {@link #PATRONI} (as the OS user postgres) instead of pgha. */
    static final List<String> PATRONI_LAUNCHER = List.of(PATRONI.toString());
    /** The OS user Patroni and its PostgreSQL run as when this process is root (pgha switches by itself). */
    static final String PATRONI_USER = "postgres";

    static final String SUPERUSER = "postgres";
    static final String REPLICATION_USER = "replicator";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The cluster-wide timings written to bootstrap.dcs. */
    record Timings(int ttl, int loopWait, int retryTimeout) {
        @Override
        public String toString() {
            return "ttl " + ttl + " / loop_wait " + loopWait + " / retry_timeout " + retryTimeout;
        }
    }

    /** One member: its ports, its directory, its runner process when running. */
    final class Member {
        final String name;
        final int apiPort;
        final int pgPort;
        final Path dir;
        final Path yaml;
        final Path log;
        private volatile Process runner;

        Member(String name, int apiPort, int pgPort, Path dir) {
            this.name = name;
            this.apiPort = apiPort;
            this.pgPort = pgPort;
            this.dir = dir;
            this.yaml = base.resolve(name + ".yml");
            this.log = dir.resolve("pgha.log");
        }

        Path dataDir() {
            return dir.resolve("data");
        }

        String apiUrl() {
            return "http://127.0.0.1:" + apiPort;
        }

        String jdbcUrl() {
            return "jdbc:postgresql://127.0.0.1:" + pgPort + "/postgres";
        }

        String libpq() {
            return "postgresql://" + SUPERUSER + "@127.0.0.1:" + pgPort + "/postgres";
        }

        Optional<Long> runnerPid() {
            Process p = runner;
            return p != null && p.isAlive() ? Optional.of(p.pid()) : Optional.empty();
        }

        Optional<Long> postmasterPid() {
            return Processes.postmasterPid(dataDir());
        }

        boolean isRunning() {
            return runnerPid().isPresent();
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private final Path base;
    private final LocalDcs dcs;
    private final Timings timings;
    private final List<String> launcher;
    private final String password;
    private final List<Member> members = new ArrayList<>();
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final String scope;

    /**
     * Lays out a cluster: a directory and a YAML file per member. Nothing starts yet.
     *
     * @param launcher the command before {@code run <file>}; null for this JVM's java and class path
     */
    LocalCluster(Path base, String scope, int size, LocalDcs dcs, Timings timings, Ports ports, List<String> launcher)
            throws IOException {
        this(base, scope, size, dcs, timings, ports, launcher, null);
    }

    /**
     * As above, with each member's file written by {@code yamlOf} (given the member and the
     * cluster's password) instead of this class's template: the tests that start nodes from the
     * files the project ships (the sample configuration, the Docker compose files).
     */
    LocalCluster(
            Path base,
            String scope,
            int size,
            LocalDcs dcs,
            Timings timings,
            Ports ports,
            List<String> launcher,
            java.util.function.BiFunction<Member, String, String> yamlOf)
            throws IOException {
        this.base = base.toAbsolutePath();
        this.scope = scope;
        this.dcs = dcs;
        this.timings = timings;
        this.launcher = launcher == null ? defaultLauncher() : List.copyOf(launcher);
        this.password = randomPassword();
        Files.createDirectories(this.base);
        traversable(this.base);
        for (int i = 0; i < size; i++) {
            String name = "pg" + i;
            Path dir = this.base.resolve(name);
            Files.createDirectories(dir);
            traversable(dir);
            Member m = new Member(name, ports.next(), ports.next(), dir);
            members.add(m);
        }
        for (Member m : members) {
            Files.writeString(m.yaml, yamlOf == null ? yaml(m) : yamlOf.apply(m, password), StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(m.yaml, PosixFilePermissions.fromString("rw-------"));
        }
    }

    /** This JVM's java and class path, with the runner's small-footprint flags. */
    static List<String> defaultLauncher() {
        String java = ProcessHandle.current()
                .info()
                .command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(runnerFlags());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        return cmd;
    }

    /** {@link #RUNNER_JVM_FLAGS} and then PGHA_JAVA_OPTS, as bin/pgha passes them. */
    static List<String> runnerFlags() {
        List<String> flags = new ArrayList<>(RUNNER_JVM_FLAGS);
        String extra = System.getenv("PGHA_JAVA_OPTS");
        if (extra != null && !extra.isBlank()) {
            flags.addAll(List.of(extra.trim().split("\\s+")));
        }
        return flags;
    }

    /** The given jar run with the runner's flags. */
    static List<String> jarLauncher(Path jar) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(runnerFlags());
        cmd.add("-jar");
        cmd.add(jar.toAbsolutePath().toString());
        return cmd;
    }

    /** A command in a session of its own when setsid(1) is there (util-linux), else as it is. */
    static List<String> detached(String... command) {
        List<String> out = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            out.add("/usr/bin/setsid");
        }
        out.addAll(List.of(command));
        return out;
    }

    private static void traversable(Path dir) throws IOException {
        // PostgreSQL runs as 'postgres' when we are root: it must reach its data directory
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private static String randomPassword() {
        String alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        SecureRandom r = new SecureRandom();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return sb.toString();
    }

    private String yaml(Member m) {
        return "# written by pgha for a local cluster; run it with: pgha run " + m.yaml + "\n"
                + "scope: " + scope + "\n"
                + "namespace: /service/\n"
                + "name: " + m.name + "\n"
                + "\n"
                + "restapi:\n"
                + "  listen: 127.0.0.1:" + m.apiPort + "\n"
                + "  connect_address: 127.0.0.1:" + m.apiPort + "\n"
                + "\n"
                + dcs.yamlSection()
                + "\n"
                + "bootstrap:\n"
                + "  dcs:\n"
                + "    ttl: " + timings.ttl() + "\n"
                + "    loop_wait: " + timings.loopWait() + "\n"
                + "    retry_timeout: " + timings.retryTimeout() + "\n"
                + "    maximum_lag_on_failover: 1048576\n"
                + "    postgresql:\n"
                + "      use_pg_rewind: true\n"
                + "      use_slots: true\n"
                + "  initdb:\n"
                + "    - encoding: UTF8\n"
                + "    - data-checksums\n"
                + "\n"
                + "postgresql:\n"
                + "  listen: 127.0.0.1:" + m.pgPort + "\n"
                + "  connect_address: 127.0.0.1:" + m.pgPort + "\n"
                + "  data_dir: " + m.dataDir() + "\n"
                + "  pgpass: " + m.dir.resolve("pgpass") + "\n"
                + "  authentication:\n"
                + "    superuser:\n"
                + "      username: " + SUPERUSER + "\n"
                + "      password: " + password + "\n"
                + "    replication:\n"
                + "      username: " + REPLICATION_USER + "\n"
                + "      password: " + password + "\n"
                + "  parameters:\n"
                + "    max_connections: 40\n"
                + "    shared_buffers: 16MB\n"
                + "    wal_keep_size: 64MB\n"
                // its own socket directory: the packaged default (/var/run/postgresql) may be missing
                + "    unix_socket_directories: /tmp\n"
                + "  pg_hba:\n"
                + "    - local all all trust\n"
                + "    - host replication " + REPLICATION_USER + " 127.0.0.1/32 scram-sha-256\n"
                + "    - host all all 127.0.0.1/32 scram-sha-256\n"
                + "  use_pg_rewind: true\n"
                + (patroni() ? "  bin_dir: " + postgresBinDir() + "\n" : "")
                + "\n"
                + "tags:\n"
                + "  nofailover: false\n"
                + "  noloadbalance: false\n"
                + "  clonefrom: false\n"
                + "  nosync: false\n";
    }

    List<Member> members() {
        return members;
    }

    boolean patroni() {
        return launcher.equals(PATRONI_LAUNCHER);
    }

    /** Patroni finds pg_ctl on the PATH or in bin_dir; Debian keeps it off the PATH. */
    private static String postgresBinDir() {
        return "/usr/lib/postgresql/15/bin";
    }

    Member member(String name) {
        return members.stream()
                .filter(m -> m.name.equals(name))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no member " + name));
    }

    String scope() {
        return scope;
    }

    String password() {
        return password;
    }

    Timings timings() {
        return timings;
    }

    LocalDcs dcs() {
        return dcs;
    }

    Path base() {
        return base;
    }

    /** pgjdbc's multi-host URL that follows the primary. */
    String primaryJdbcUrl() {
        return "jdbc:postgresql://"
                + members.stream().map(m -> "127.0.0.1:" + m.pgPort).collect(Collectors.joining(","))
                + "/postgres?targetServerType=primary";
    }

    void startAll() throws IOException {
        for (Member m : members) {
            start(m);
        }
    }

    /** Starts the member's runner; its output goes to {@code <member dir>/pgha.log}. */
    void start(Member m) throws IOException {
        if (m.isRunning()) {
            throw new IllegalStateException(m.name + " is already running");
        }
        List<String> cmd = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            cmd.add("/usr/bin/setsid");
        }
        if (patroni()) {
            if ("root".equals(System.getProperty("user.name"))) {
                // PostgreSQL refuses root, and Patroni runs it as its own user
                chownToPatroniUser();
                cmd.addAll(List.of(
                        "/usr/bin/setpriv",
                        "--reuid=" + PATRONI_USER,
                        "--regid=" + PATRONI_USER,
                        "--init-groups",
                        "--"));
            }
            cmd.addAll(launcher);
            cmd.add(m.yaml.toString());
        } else {
            cmd.addAll(launcher);
            cmd.add("run");
            cmd.add(m.yaml.toString());
        }
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(m.log.toFile()));
        pb.environment().keySet().removeIf(k -> k.startsWith("PATRONI_") || k.startsWith("PGHA_"));
        pb.environment().put("MALLOC_ARENA_MAX", "2"); // glibc's per-thread arenas would cost more than the heap
        m.runner = pb.start();
    }

    private void chownToPatroniUser() throws IOException {
        try {
            Process p = new ProcessBuilder("chown", "-R", PATRONI_USER + ":", base.toString())
                    .redirectErrorStream(true)
                    .start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new IOException("chown -R " + PATRONI_USER + " " + base + ": " + output);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** A node lost: SIGKILL to the runner and to its postmaster together. */
    void kill9(Member m) {
        Optional<Long> postmaster = m.postmasterPid();
        m.runnerPid().ifPresent(Processes::kill9);
        postmaster.ifPresent(Processes::kill9);
        m.runnerPid().ifPresent(pid -> Processes.awaitExit(pid, Duration.ofSeconds(10)));
        postmaster.ifPresent(pid -> Processes.awaitExit(pid, Duration.ofSeconds(10)));
    }

    /** SIGTERM to the runner, which stops cleanly (a leader hands over at once). Does not wait. */
    void term(Member m) {
        m.runnerPid().ifPresent(Processes::term);
    }

    /** Waits for the runner to end after {@link #term}; true when it has. */
    boolean awaitStopped(Member m, Duration timeout) {
        Process p = m.runner;
        return p == null || Processes.awaitExit(p.pid(), timeout);
    }

    /** GET a REST path from one member; null when it does not answer. */
    JsonNode get(Member m, String path) {
        try {
            HttpResponse<String> r = http.send(
                    HttpRequest.newBuilder(URI.create(m.apiUrl() + path))
                            .timeout(Duration.ofSeconds(3))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.body().isBlank() ? null : JSON.readTree(r.body());
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The health check's status code ({@code /primary}, {@code /replica}, ...), or -1 when unreachable. */
    int health(Member m, String path) {
        try {
            return http.send(
                            HttpRequest.newBuilder(URI.create(m.apiUrl() + path))
                                    .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                                    .timeout(Duration.ofSeconds(3))
                                    .build(),
                            HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** POST (or another method) with a JSON body to a member; returns status and body. */
    HttpResponse<String> send(Member m, String method, String path, String body) throws IOException {
        try {
            return http.send(
                    HttpRequest.newBuilder(URI.create(m.apiUrl() + path))
                            .method(method, HttpRequest.BodyPublishers.ofString(body == null ? "" : body))
                            .header("Content-Type", "application/json")
                            .timeout(Duration.ofSeconds(60))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** {@code GET /cluster} from the first running member that answers. */
    JsonNode clusterView() {
        for (Member m : members) {
            if (m.isRunning()) {
                JsonNode c = get(m, "/cluster");
                if (c != null && c.has("members")) {
                    return c;
                }
            }
        }
        return null;
    }

    /** The member the cluster view names leader, if the view has one whose runner is running. */
    Optional<Member> leader() {
        JsonNode c = clusterView();
        if (c == null) {
            return Optional.empty();
        }
        for (JsonNode m : c.get("members")) {
            if ("leader".equals(m.path("role").asText())
                    && "running".equals(m.path("state").asText())) {
                Member member = member(m.path("name").asText());
                if (member.isRunning() && health(member, "/primary") == 200) {
                    return Optional.of(member);
                }
            }
        }
        return Optional.empty();
    }

    /** Members the cluster view shows streaming from the leader. */
    List<String> streamingReplicas() {
        JsonNode c = clusterView();
        List<String> out = new ArrayList<>();
        if (patroni()) {
            // Patroni 3.0.2's /cluster says "running" of a replica, streaming or not: ask the
            // leader's PostgreSQL, through its GET /patroni (pg_stat_replication)
            Optional<Member> leader = leader();
            JsonNode p = leader.map(l -> get(l, "/patroni")).orElse(null);
            if (p != null) {
                for (JsonNode r : p.path("replication")) {
                    String name = r.path("application_name").asText();
                    // a replica being cloned streams too, as pg_basebackup
                    if ("streaming".equals(r.path("state").asText())
                            && members.stream().anyMatch(m -> m.name.equals(name))) {
                        out.add(name);
                    }
                }
            }
            return out;
        }
        if (c != null) {
            for (JsonNode m : c.get("members")) {
                if (!"leader".equals(m.path("role").asText())
                        && "streaming".equals(m.path("state").asText())) {
                    out.add(m.path("name").asText());
                }
            }
        }
        return out;
    }

    /** Waits until there is a leader and every other running member streams from it. */
    Member awaitHealthy(Duration timeout) throws IOException {
        Instant deadline = Instant.now().plus(timeout);
        while (Instant.now().isBefore(deadline)) {
            Optional<Member> leader = leader();
            long running = members.stream().filter(Member::isRunning).count();
            if (leader.isPresent() && streamingReplicas().size() == running - 1) {
                return leader.get();
            }
            for (Member m : members) {
                if (m.runner != null && !m.runner.isAlive() && m.runner.exitValue() == 2) {
                    throw new IOException(m.name + " refused its configuration; see " + m.log);
                }
            }
            sleep(250);
        }
        throw new IOException("the cluster did not become healthy within " + timeout + ": " + table());
    }

    /** Patroni's {@code patronictl list} table, from {@code GET /cluster}. */
    String table() {
        JsonNode c = clusterView();
        if (c == null) {
            return "(no member answers)\n";
        }
        StringBuilder sb = new StringBuilder();
        String fmt = "| %-6s | %-15s | %-12s | %-19s | %-3s | %-9s |%n";
        String line = "+--------+-----------------+--------------+---------------------+-----+-----------+\n";
        sb.append("+ Cluster: ")
                .append(scope)
                .append(c.path("pause").asBoolean() ? " (paused)" : "")
                .append(" ")
                .append("-".repeat(Math.max(1, line.length() - 13 - scope.length())))
                .append("+\n");
        sb.append(String.format(fmt, "Member", "Host", "Role", "State", "TL", "Lag in MB"));
        sb.append(line);
        for (JsonNode m : c.get("members")) {
            String role = switch (m.path("role").asText()) {
                case "leader" -> "Leader";
                case "sync_standby" -> "Sync Standby";
                case "standby_leader" -> "Standby Leader";
                default -> "Replica";
            };
            String lag = m.has("lag")
                    ? (m.get("lag").isNumber()
                            ? String.valueOf(m.get("lag").asLong() / 1048576)
                            : m.get("lag").asText())
                    : "";
            sb.append(String.format(
                    fmt,
                    m.path("name").asText(),
                    m.path("host").asText() + ":" + m.path("port").asText(),
                    role,
                    m.path("state").asText(),
                    m.has("timeline") ? m.get("timeline").asText() : "",
                    lag));
        }
        sb.append(line);
        if (c.has("scheduled_switchover")) {
            sb.append(" Switchover scheduled at: ")
                    .append(c.get("scheduled_switchover").path("at").asText())
                    .append('\n');
        }
        return sb.toString();
    }

    /**
     * Stops everything this cluster started, by PID: SIGTERM to every runner (a clean stop),
     * SIGKILL to one still running after {@code grace}, then any postmaster left behind.
     */
    @Override
    public synchronized void close() {
        for (Member m : members) {
            term(m);
        }
        for (Member m : members) {
            Process p = m.runner;
            if (p != null && !Processes.awaitExit(p.pid(), Duration.ofSeconds(60))) {
                Processes.kill9(p.pid());
            }
        }
        for (Member m : members) {
            m.postmasterPid().ifPresent(pid -> Processes.stopPostmaster(pid, Duration.ofSeconds(20)));
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
