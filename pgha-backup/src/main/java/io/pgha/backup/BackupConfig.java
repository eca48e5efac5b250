package io.pgha.backup;

import io.pgha.postgres.local.LocalPostgresConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The node's {@code backup:} section, and what it needs to know about the local PostgreSQL.
 * Immutable; build it with {@link #builder()} or {@link #fromPatroniYaml}.
 *
 * <pre>
 * backup:
 *   stanza: main                    # default: the cluster's scope
 *   repo_path: /var/lib/pgbackrest  # required: pgBackRest's repo1-path
 *   pgbackrest: /usr/bin/pgbackrest # the binary
 *   work_dir: /var/lib/pgha/backup  # pgbackrest.conf, its lock and log directories; default &lt;data_dir&gt;-backup
 *   archive: true                   # set archive_mode/archive_command/restore_command on this member
 *   retention: {full: 2, diff: 6}
 *   schedule: {full: 7d, diff: 1d, logical: 1d, drill: 1d}   # "off" disables one
 *   logical: {databases: [app], directory: /var/lib/pgha/dumps}
 *   drill: {tables: {public.accounts: 1}, timeout: 10m, directory: /var/tmp/pgha-drill}
 * </pre>
 */
public final class BackupConfig {

    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d|w)?");
    private static final Pattern STANZA = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    private final String memberName;
    private final String stanza;
    private final Path pgbackrest;
    private final Path repoPath;
    private final Path workDir;
    private final boolean archive;
    private final int retentionFull;
    private final int retentionDiff;
    private final Duration fullEvery;
    private final Duration diffEvery;
    private final Duration logicalEvery;
    private final Duration drillEvery;
    private final List<String> logicalDatabases;
    private final Path logicalDir;
    private final Map<String, Long> drillTables;
    private final Duration drillTimeout;
    private final Path drillDir;
    private final Path dataDir;
    private final int port;
    private final Path binDir;
    private final String runAs;
    private final String superuser;
    private final String superuserPassword;

    private BackupConfig(Builder b) {
        this.memberName = require(b.memberName, "name");
        this.stanza = require(b.stanza, "backup.stanza");
        if (!STANZA.matcher(stanza).matches()) {
            throw new IllegalArgumentException(
                    "backup.stanza '" + stanza + "': letters, digits, '.', '_' and '-' only");
        }
        this.repoPath = absolute(require(b.repoPath, "backup.repo_path"), "backup.repo_path");
        this.dataDir = absolute(require(b.dataDir, "postgresql.data_dir"), "postgresql.data_dir");
        if (repoPath.startsWith(dataDir) || dataDir.startsWith(repoPath)) {
            throw new IllegalArgumentException("backup.repo_path " + repoPath + " and postgresql.data_dir " + dataDir
                    + " must not contain one another");
        }
        this.pgbackrest = b.pgbackrest == null ? Path.of("/usr/bin/pgbackrest") : b.pgbackrest;
        this.workDir = absolute(
                b.workDir != null ? b.workDir : dataDir.resolveSibling(dataDir.getFileName() + "-backup"),
                "backup.work_dir");
        if (workDir.startsWith(dataDir)) {
            throw new IllegalArgumentException(
                    "backup.work_dir " + workDir + " must not be inside postgresql.data_dir");
        }
        this.archive = b.archive;
        if (b.retentionFull < 1) {
            throw new IllegalArgumentException("backup.retention.full must be at least 1, not " + b.retentionFull);
        }
        if (b.retentionDiff < 0) {
            throw new IllegalArgumentException("backup.retention.diff must not be negative, not " + b.retentionDiff);
        }
        this.retentionFull = b.retentionFull;
        this.retentionDiff = b.retentionDiff;
        this.fullEvery = b.fullEvery;
        this.diffEvery = b.diffEvery;
        this.logicalEvery = b.logicalEvery;
        this.drillEvery = b.drillEvery;
        this.logicalDatabases = List.copyOf(b.logicalDatabases);
        if (logicalEvery != null && logicalDatabases.isEmpty()) {
            throw new IllegalArgumentException("backup.schedule.logical is set but backup.logical.databases is empty");
        }
        this.logicalDir =
                absolute(b.logicalDir != null ? b.logicalDir : workDir.resolve("dumps"), "backup.logical.directory");
        this.drillTables = Collections.unmodifiableMap(new LinkedHashMap<>(b.drillTables));
        this.drillTimeout = b.drillTimeout;
        this.drillDir = absolute(b.drillDir != null ? b.drillDir : workDir.resolve("drill"), "backup.drill.directory");
        if (drillDir.startsWith(dataDir) || dataDir.startsWith(drillDir)) {
            throw new IllegalArgumentException("backup.drill.directory " + drillDir
                    + " must not overlap postgresql.data_dir " + dataDir + ": a drill never touches a member's data");
        }
        if (b.port < 1 || b.port > 65535) {
            throw new IllegalArgumentException("postgresql port " + b.port + " is out of range");
        }
        this.port = b.port;
        this.binDir = b.binDir;
        this.runAs = b.runAs == null ? "postgres" : b.runAs;
        this.superuser = require(b.superuser, "postgresql.authentication.superuser.username");
        this.superuserPassword = b.superuserPassword;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Reads the {@code backup:} section of a node's YAML (already parsed to maps).
     *
     * @param backup the {@code backup:} map
     * @param scope the cluster's scope, the default stanza
     * @param postgres the member's PostgreSQL settings (data directory, port, binaries, run_as)
     * @param superuserPassword {@code postgresql.authentication.superuser.password} (pgBackRest and
     *     pg_dump connect as the superuser; the password goes into a 0600 passfile only)
     * @throws IllegalArgumentException naming the key of a missing or invalid value
     */
    public static BackupConfig fromPatroniYaml(
            Map<String, ?> backup, String scope, LocalPostgresConfig postgres, String superuserPassword) {
        Objects.requireNonNull(backup, "backup");
        Builder b = builder()
                .memberName(postgres.name())
                .dataDir(postgres.dataDir())
                .port(postgres.port())
                .binDir(postgres.binDir())
                .runAs(postgres.runAs())
                .superuser(postgres.superuser(), superuserPassword);
        String stanza = string(backup, "stanza");
        b.stanza(stanza != null ? stanza : scope);
        String repo = string(backup, "repo_path");
        if (repo == null) {
            throw new IllegalArgumentException("backup.repo_path is required (pgBackRest's repository directory)");
        }
        b.repoPath(Path.of(repo));
        String bin = string(backup, "pgbackrest");
        if (bin != null) {
            b.pgbackrest(Path.of(bin));
        }
        String work = string(backup, "work_dir");
        if (work != null) {
            b.workDir(Path.of(work));
        }
        Object archive = backup.get("archive");
        if (archive != null) {
            b.archive(bool(archive, "backup.archive"));
        }
        Map<String, ?> retention = map(backup, "retention");
        b.retention(
                integer(retention.get("full"), "backup.retention.full", 2),
                integer(retention.get("diff"), "backup.retention.diff", 0));
        Map<String, ?> schedule = map(backup, "schedule");
        b.schedule(
                duration(schedule.get("full"), "backup.schedule.full", Duration.ofDays(7)),
                duration(schedule.get("diff"), "backup.schedule.diff", Duration.ofDays(1)),
                duration(schedule.get("logical"), "backup.schedule.logical", null),
                duration(schedule.get("drill"), "backup.schedule.drill", Duration.ofDays(1)));
        Map<String, ?> logical = map(backup, "logical");
        b.logicalDatabases(stringList(logical.get("databases"), "backup.logical.databases"));
        String dumps = string(logical, "directory");
        if (dumps != null) {
            b.logicalDir(Path.of(dumps));
        }
        Map<String, ?> drill = map(backup, "drill");
        Object tables = drill.get("tables");
        if (tables instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                b.drillTable(String.valueOf(e.getKey()), integer(e.getValue(), "backup.drill.tables." + e.getKey(), 0));
            }
        } else if (tables instanceof List<?>) {
            stringList(tables, "backup.drill.tables").forEach(t -> b.drillTable(t, 0));
        } else if (tables != null) {
            throw new IllegalArgumentException(
                    "backup.drill.tables must be a map of table to minimum row count, not '" + tables + "'");
        }
        Duration timeout = duration(drill.get("timeout"), "backup.drill.timeout", Duration.ofMinutes(10));
        if (timeout == null) {
            throw new IllegalArgumentException("backup.drill.timeout cannot be off");
        }
        b.drillTimeout(timeout);
        String dir = string(drill, "directory");
        if (dir != null) {
            b.drillDir(Path.of(dir));
        }
        return b.build();
    }

    /**
     * Parses {@code 30s}, {@code 15m}, {@code 12h}, {@code 7d}, {@code 2w}, a bare number of
     * seconds, or {@code off}/{@code false}/{@code never} (null: disabled).
     *
     * @throws IllegalArgumentException naming {@code key}
     */
    static Duration duration(Object value, String key, Duration fallback) {
        if (value == null) {
            return fallback;
        }
        if (value instanceof Boolean bool && !bool) {
            return null;
        }
        if (value instanceof Number n && n.longValue() > 0) {
            return Duration.ofSeconds(n.longValue());
        }
        String s = value.toString().strip().toLowerCase(Locale.ROOT);
        if (s.equals("off") || s.equals("never") || s.equals("false")) {
            return null;
        }
        Matcher m = DURATION.matcher(s);
        if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
            throw new IllegalArgumentException(
                    key + " '" + value + "': expected a positive duration such as 30s, 15m, " + "12h, 7d, 2w, or off");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        return switch (unit) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            case "d" -> Duration.ofDays(n);
            default -> Duration.ofDays(7 * n);
        };
    }

    private static String string(Map<String, ?> map, String key) {
        Object v = map.get(key);
        if (v == null) {
            return null;
        }
        if (v instanceof Map || v instanceof List) {
            throw new IllegalArgumentException("backup." + key + " must be a string, not '" + v + "'");
        }
        String s = v.toString().strip();
        return s.isEmpty() ? null : s;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, ?> map(Map<String, ?> parent, String key) {
        Object v = parent.get(key);
        if (v == null) {
            return Map.of();
        }
        if (!(v instanceof Map)) {
            throw new IllegalArgumentException("backup." + key + " must be a map, not '" + v + "'");
        }
        return (Map<String, ?>) v;
    }

    private static boolean bool(Object v, String key) {
        if (v instanceof Boolean b) {
            return b;
        }
        String s = v.toString().strip().toLowerCase(Locale.ROOT);
        if (s.equals("true") || s.equals("on") || s.equals("yes")) {
            return true;
        }
        if (s.equals("false") || s.equals("off") || s.equals("no")) {
            return false;
        }
        throw new IllegalArgumentException(key + " '" + v + "': expected true or false");
    }

    private static int integer(Object v, String key, int fallback) {
        if (v == null) {
            return fallback;
        }
        try {
            return v instanceof Number n
                    ? Math.toIntExact(n.longValue())
                    : Integer.parseInt(v.toString().strip());
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException(key + " '" + v + "': expected an integer");
        }
    }

    private static List<String> stringList(Object v, String key) {
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> list)) {
            throw new IllegalArgumentException(key + " must be a list, not '" + v + "'");
        }
        List<String> out = new ArrayList<>();
        for (Object o : list) {
            if (o == null
                    || o instanceof Map
                    || o instanceof List
                    || o.toString().isBlank()) {
                throw new IllegalArgumentException(key + " has an invalid entry '" + o + "'");
            }
            out.add(o.toString().strip());
        }
        return out;
    }

    private static <T> T require(T v, String key) {
        if (v == null || (v instanceof String s && s.isBlank())) {
            throw new IllegalArgumentException(key + " is required");
        }
        return v;
    }

    private static Path absolute(Path p, String key) {
        if (!p.isAbsolute()) {
            throw new IllegalArgumentException(key + " '" + p + "' must be an absolute path");
        }
        return p.normalize();
    }

    public String memberName() {
        return memberName;
    }

    public String stanza() {
        return stanza;
    }

    public Path pgbackrest() {
        return pgbackrest;
    }

    public Path repoPath() {
        return repoPath;
    }

    /** Holds pgbackrest.conf, pgBackRest's lock, log and spool directories, and the passfile. */
    public Path workDir() {
        return workDir;
    }

    /** The pgbackrest.conf pgha writes and owns. */
    public Path configFile() {
        return workDir.resolve("pgbackrest.conf");
    }

    /** The last drill's result, a small JSON file beside the repository. */
    public Path drillResultFile() {
        return repoPath.resolveSibling(repoPath.getFileName() + ".pgha-drill-" + stanza + ".json");
    }

    public boolean archive() {
        return archive;
    }

    public int retentionFull() {
        return retentionFull;
    }

    /** 0: pgBackRest's default (differentials expire with their full). */
    public int retentionDiff() {
        return retentionDiff;
    }

    /** null: no scheduled full backups. */
    public Duration fullEvery() {
        return fullEvery;
    }

    public Duration diffEvery() {
        return diffEvery;
    }

    public Duration logicalEvery() {
        return logicalEvery;
    }

    public Duration drillEvery() {
        return drillEvery;
    }

    public List<String> logicalDatabases() {
        return logicalDatabases;
    }

    public Path logicalDir() {
        return logicalDir;
    }

    /** Table name to the minimum row count a restored copy must have. */
    public Map<String, Long> drillTables() {
        return drillTables;
    }

    public Duration drillTimeout() {
        return drillTimeout;
    }

    public Path drillDir() {
        return drillDir;
    }

    public Path dataDir() {
        return dataDir;
    }

    public int port() {
        return port;
    }

    /** PostgreSQL's bin directory, or null to find it. */
    public Path binDir() {
        return binDir;
    }

    public String runAs() {
        return runAs;
    }

    public String superuser() {
        return superuser;
    }

    String superuserPassword() {
        return superuserPassword;
    }

    /**
     * The PostgreSQL settings that route WAL through pgBackRest, for every member (give them to
     * {@code LocalPostgresConfig.Builder.parameter}); empty when {@code backup.archive} is false.
     * archive_mode is {@code on}, not {@code always}: only the primary archives, and whoever is
     * primary after a failover archives with the same command, so archiving needs no hand.
     */
    public Map<String, String> postgresParameters() {
        if (!archive) {
            return Map.of();
        }
        // PostgreSQL runs these through sh: a path with a space or a quote must stay one word
        String base = commandWord(pgbackrest.toString()) + " " + commandWord("--config=" + configFile()) + " "
                + commandWord("--stanza=" + stanza);
        Map<String, String> p = new LinkedHashMap<>();
        p.put("archive_mode", "on");
        p.put("archive_command", base + " archive-push %p");
        p.put("restore_command", base + " archive-get %f \"%p\"");
        p.put("wal_level", "replica");
        return p;
    }

    /**
     * One word of an archive_command or restore_command: as it is when it holds only characters the
     * shell leaves alone, else single-quoted for {@code sh}; and {@code %} doubled, since PostgreSQL
     * reads {@code %p}, {@code %f} and {@code %%} in these commands before the shell sees them.
     */
    static String commandWord(String s) {
        String word = s.matches("[A-Za-z0-9_./:=@+,-]+") ? s : "'" + s.replace("'", "'\\''") + "'";
        return word.replace("%", "%%");
    }

    @Override
    public String toString() {
        return "BackupConfig{member=" + memberName + ", stanza=" + stanza + ", repo=" + repoPath + ", work=" + workDir
                + ", full=" + fullEvery + ", diff=" + diffEvery + ", logical=" + logicalEvery + ", drill=" + drillEvery
                + "}";
    }

    /** Not thread-safe. */
    public static final class Builder {
        private String memberName;
        private String stanza;
        private Path pgbackrest;
        private Path repoPath;
        private Path workDir;
        private boolean archive = true;
        private int retentionFull = 2;
        private int retentionDiff;
        private Duration fullEvery = Duration.ofDays(7);
        private Duration diffEvery = Duration.ofDays(1);
        private Duration logicalEvery;
        private Duration drillEvery = Duration.ofDays(1);
        private final List<String> logicalDatabases = new ArrayList<>();
        private Path logicalDir;
        private final Map<String, Long> drillTables = new LinkedHashMap<>();
        private Duration drillTimeout = Duration.ofMinutes(10);
        private Path drillDir;
        private Path dataDir;
        private int port = 5432;
        private Path binDir;
        private String runAs;
        private String superuser;
        private String superuserPassword;

        private Builder() {}

        public Builder memberName(String v) {
            this.memberName = v;
            return this;
        }

        public Builder stanza(String v) {
            this.stanza = v;
            return this;
        }

        public Builder pgbackrest(Path v) {
            this.pgbackrest = v;
            return this;
        }

        public Builder repoPath(Path v) {
            this.repoPath = v;
            return this;
        }

        public Builder workDir(Path v) {
            this.workDir = v;
            return this;
        }

        public Builder archive(boolean v) {
            this.archive = v;
            return this;
        }

        public Builder retention(int full, int diff) {
            this.retentionFull = full;
            this.retentionDiff = diff;
            return this;
        }

        /** Each null disables that schedule. */
        public Builder schedule(Duration full, Duration diff, Duration logical, Duration drill) {
            this.fullEvery = full;
            this.diffEvery = diff;
            this.logicalEvery = logical;
            this.drillEvery = drill;
            return this;
        }

        public Builder logicalDatabases(List<String> v) {
            this.logicalDatabases.clear();
            this.logicalDatabases.addAll(v);
            return this;
        }

        public Builder logicalDir(Path v) {
            this.logicalDir = v;
            return this;
        }

        public Builder drillTable(String table, long minRows) {
            if (table == null || table.isBlank()) {
                throw new IllegalArgumentException("backup.drill.tables has an empty table name");
            }
            if (minRows < 0) {
                throw new IllegalArgumentException("backup.drill.tables." + table + " must not be negative");
            }
            this.drillTables.put(table.strip(), minRows);
            return this;
        }

        public Builder drillTimeout(Duration v) {
            this.drillTimeout = Objects.requireNonNull(v, "backup.drill.timeout");
            return this;
        }

        public Builder drillDir(Path v) {
            this.drillDir = v;
            return this;
        }

        public Builder dataDir(Path v) {
            this.dataDir = v;
            return this;
        }

        public Builder port(int v) {
            this.port = v;
            return this;
        }

        public Builder binDir(Path v) {
            this.binDir = v;
            return this;
        }

        public Builder runAs(String v) {
            this.runAs = v;
            return this;
        }

        public Builder superuser(String name, String password) {
            this.superuser = name;
            this.superuserPassword = password;
            return this;
        }

        /**
         * Checks the values and builds the configuration.
         *
         * @throws IllegalArgumentException naming the key of a missing or invalid value
         */
        public BackupConfig build() {
            return new BackupConfig(this);
        }
    }
}
