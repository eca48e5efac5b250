package io.pgha.config;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The type and range of every dynamic configuration key pgha reads (the DCS's {@code config} key,
 * {@code bootstrap.dcs} of a Patroni file): written once, used by the file check at start
 * ({@link PatroniYaml}), by {@code PATCH}/{@code PUT /config}, and by the node when it reads the
 * {@code config} key each cycle ({@link DynamicConfig#from(Map, DynamicConfig, java.util.function.Consumer)}).
 *
 * <p>The ranges are Patroni's (3.2 and later; 3.0.2 checks the type of four keys only), except
 * {@code ttl}: Patroni asks for at least 20, pgha for at least {@value #MIN_TTL}, which its demo and
 * benchmark use. A {@code null} value means "not set" and is never a problem. Keys the validator
 * does not know are left alone, as Patroni leaves them. Integers may be written as strings holding
 * one ({@code "30"}); booleans as {@code true}/{@code false} or the strings {@code on}, {@code off},
 * {@code yes}, {@code no}, {@code 1}, {@code 0}. Stateless; thread-safe.
 */
public final class DynamicConfigValidator {

    /** pgha's smallest ttl (seconds); Patroni 3.2+ asks for 20. */
    public static final int MIN_TTL = 10;

    /**
     * The largest time in seconds (ttl, loop_wait, timeouts): about 24 days, the most whose
     * milliseconds still fit an int, so that no value wraps around to a small one.
     */
    public static final int MAX_SECONDS = Integer.MAX_VALUE / 1000;

    /**
     * One value that breaks its rule.
     *
     * @param path the key, one element per level ({@code [postgresql, use_pg_rewind]}); a
     *     PostgreSQL parameter's name may itself contain a dot
     * @param value the value found
     * @param expected what the rule asks for: {@code an integer >= 10}
     */
    public record Problem(List<String> path, Object value, String expected) {
        public Problem {
            path = List.copyOf(path);
        }

        /** The dotted key: {@code postgresql.use_pg_rewind}. */
        public String key() {
            return String.join(".", path);
        }

        /** {@code <key> must be <expected>, found <value>}. */
        public String message() {
            return message("");
        }

        /** The message with the key prefixed: {@code bootstrap.dcs.ttl must be ..., found "abc"}. */
        public String message(String keyPrefix) {
            return keyPrefix + key() + " must be " + expected + ", found " + render(value);
        }
    }

    private sealed interface Rule permits IntRule, NumberRule, BoolRule, EnumRule, TypeRule, SectionRule {}

    private record IntRule(long min, long max) implements Rule {}

    private record NumberRule(double min, double max) implements Rule {}

    private record BoolRule() implements Rule {}

    /** A boolean, or one of the given strings. */
    private record EnumRule(Set<String> words, String expected) implements Rule {}

    private enum Type {
        STRING,
        SCALAR,
        STRING_LIST,
        OBJECT,
        SLOTS,
        LIST_OF_OBJECTS
    }

    private record TypeRule(Type type) implements Rule {}

    /** An object whose known keys have rules; other keys are free. */
    private record SectionRule(Map<String, Rule> children) implements Rule {}

    private static final Rule BOOL = new BoolRule();
    private static final Rule STRING = new TypeRule(Type.STRING);
    private static final Rule NON_NEGATIVE = ints(0, Long.MAX_VALUE);
    private static final SectionRule ROOT = root();

    private DynamicConfigValidator() {}

    private static IntRule ints(long min, long max) {
        return new IntRule(min, max);
    }

    private static SectionRule section(Object... keyAndRule) {
        Map<String, Rule> m = new LinkedHashMap<>();
        for (int i = 0; i < keyAndRule.length; i += 2) {
            m.put((String) keyAndRule[i], (Rule) keyAndRule[i + 1]);
        }
        return new SectionRule(m);
    }

    private static SectionRule root() {
        long max = Long.MAX_VALUE;
        IntRule seconds = ints(0, MAX_SECONDS);
        IntRule count = ints(0, Integer.MAX_VALUE);
        IntRule pgCount = ints(0, 262143);
        SectionRule parameters = section(
                "max_connections", ints(1, 262143),
                "max_locks_per_transaction", ints(10, 2147483647),
                "max_prepared_transactions", pgCount,
                "max_replication_slots", pgCount,
                "max_wal_senders", pgCount,
                "max_worker_processes", pgCount);
        SectionRule postgresql = section(
                "use_pg_rewind", BOOL,
                "use_slots", BOOL,
                "remove_data_directory_on_rewind_failure", BOOL,
                "remove_data_directory_on_diverged_timelines", BOOL,
                "parameters", parameters,
                "pg_hba", new TypeRule(Type.STRING_LIST),
                "pg_ident", new TypeRule(Type.STRING_LIST),
                "pg_ctl_timeout", seconds);
        SectionRule standbyCluster = section(
                "host", STRING,
                "port", ints(1, 65535),
                "primary_slot_name", STRING,
                "create_replica_methods", new TypeRule(Type.STRING_LIST),
                "restore_command", STRING,
                "archive_cleanup_command", STRING,
                "recovery_min_apply_delay", new TypeRule(Type.SCALAR));
        return section(
                "ttl", ints(MIN_TTL, MAX_SECONDS),
                "loop_wait", ints(1, MAX_SECONDS),
                "retry_timeout", ints(3, MAX_SECONDS),
                "maximum_lag_on_failover", NON_NEGATIVE,
                "maximum_lag_on_syncnode", ints(-1, max),
                "primary_start_timeout", seconds,
                "master_start_timeout", seconds,
                "primary_stop_timeout", seconds,
                "master_stop_timeout", seconds,
                "primary_race_backoff", new NumberRule(0, MAX_SECONDS),
                "synchronous_mode", new EnumRule(Set.of("quorum"), "true, false or quorum"),
                "synchronous_mode_strict", BOOL,
                "synchronous_node_count", ints(1, Integer.MAX_VALUE),
                "failsafe_mode", BOOL,
                "check_timeline", BOOL,
                "max_timelines_history", count,
                "member_slots_ttl", seconds,
                "pause", BOOL,
                "postgresql", postgresql,
                "standby_cluster", standbyCluster,
                "slots", new TypeRule(Type.SLOTS),
                "ignore_slots", new TypeRule(Type.LIST_OF_OBJECTS),
                "tags", new TypeRule(Type.OBJECT));
    }

    /** Every problem in a dynamic configuration, in the order of its keys; empty when it is valid. */
    public static List<Problem> validate(Map<String, ?> config) {
        List<Problem> problems = new ArrayList<>();
        if (config != null) {
            checkSection(List.of(), config, ROOT, problems);
        }
        return problems;
    }

    private static void checkSection(List<String> path, Map<?, ?> values, SectionRule rule, List<Problem> out) {
        rule.children().forEach((key, child) -> {
            Object v = values.get(key);
            if (v != null) {
                List<String> childPath = new ArrayList<>(path);
                childPath.add(key);
                check(childPath, v, child, out);
            }
        });
    }

    private static void check(List<String> path, Object v, Rule rule, List<Problem> out) {
        String expected;
        if (rule instanceof IntRule r) {
            expected = inRange(v, r) ? null : intExpected(r, v);
        } else if (rule instanceof NumberRule r) {
            Double n = number(v);
            expected = n != null && n >= r.min() && n <= r.max()
                    ? null
                    : n != null && n > r.max() ? "a number from 0 to " + MAX_SECONDS : "a number >= 0";
        } else if (rule instanceof EnumRule r) {
            boolean word = v instanceof String s && r.words().contains(s.trim().toLowerCase(Locale.ROOT));
            expected = bool(v) != null || word ? null : r.expected();
        } else if (rule instanceof TypeRule r) {
            expected = typeProblem(path, v, r.type(), out);
        } else if (rule instanceof SectionRule r) {
            if (v instanceof Map<?, ?> m) {
                checkSection(path, m, r, out);
                expected = null;
            } else {
                expected = "an object";
            }
        } else {
            expected = bool(v) != null ? null : "true or false";
        }
        if (expected != null) {
            out.add(new Problem(path, v, expected));
        }
    }

    /** What a TypeRule asks for when v breaks it (null when it does not); slot problems are added here. */
    private static String typeProblem(List<String> path, Object v, Type type, List<Problem> out) {
        return switch (type) {
            case STRING -> v instanceof String ? null : "a string";
            case SCALAR -> v instanceof Map || v instanceof List ? "a single value" : null;
            case STRING_LIST ->
                v instanceof List<?> l && l.stream().allMatch(String.class::isInstance) ? null : "a list of strings";
            case OBJECT -> v instanceof Map ? null : "an object";
            case LIST_OF_OBJECTS ->
                v instanceof List<?> l && l.stream().allMatch(Map.class::isInstance) ? null : "a list of objects";
            case SLOTS -> {
                if (!(v instanceof Map<?, ?> slots)) {
                    yield "an object";
                }
                slots.forEach((name, slot) -> {
                    List<String> slotPath = new ArrayList<>(path);
                    slotPath.add(String.valueOf(name));
                    if (slot != null && !(slot instanceof Map)) {
                        out.add(new Problem(slotPath, slot, "an object"));
                    } else if (slot instanceof Map<?, ?> s && s.get("type") != null) {
                        Object t = s.get("type");
                        if (!"physical".equals(t) && !"logical".equals(t)) {
                            slotPath.add("type");
                            out.add(new Problem(slotPath, t, "physical or logical"));
                        }
                    }
                });
                yield null;
            }
        };
    }

    private static String intExpected(IntRule r, Object v) {
        BigInteger n = integer(v);
        boolean tooBig = n != null && n.compareTo(BigInteger.valueOf(r.max())) > 0;
        if (r.max() == Long.MAX_VALUE || (!tooBig && r.max() >= MAX_SECONDS)) {
            return "an integer >= " + r.min();
        }
        return "an integer from " + r.min() + " to " + r.max();
    }

    private static boolean inRange(Object v, IntRule r) {
        BigInteger n = integer(v);
        return n != null
                && n.compareTo(BigInteger.valueOf(r.min())) >= 0
                && n.compareTo(BigInteger.valueOf(r.max())) <= 0;
    }

    /** An integer, or a string holding one; null for anything else (3.5, "abc", true). */
    static BigInteger integer(Object v) {
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            return BigInteger.valueOf(((Number) v).longValue());
        }
        if (v instanceof BigInteger b) {
            return b;
        }
        if (v instanceof String s && s.trim().matches("[+-]?\\d{1,30}")) {
            return new BigInteger(s.trim());
        }
        return null;
    }

    private static Double number(Object v) {
        if (v instanceof Number n && !(v instanceof Double d && (d.isNaN() || d.isInfinite()))) {
            return n.doubleValue();
        }
        if (v instanceof String s && s.trim().matches("[+-]?\\d{1,18}(\\.\\d{1,18})?")) {
            return Double.parseDouble(s.trim());
        }
        return null;
    }

    /** A boolean, or one of the strings Patroni's parse_bool and pgha's readers agree on; null otherwise. */
    static Boolean bool(Object v) {
        if (v instanceof Boolean b) {
            return b;
        }
        if (v instanceof String s) {
            return switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "true", "on", "yes", "1" -> Boolean.TRUE;
                case "false", "off", "no", "0" -> Boolean.FALSE;
                default -> null;
            };
        }
        return null;
    }

    /** A value as a message shows it: strings quoted (cut at 60 characters), objects and lists by kind. */
    public static String render(Object v) {
        if (v instanceof Map) {
            return "an object";
        }
        if (v instanceof List) {
            return "a list";
        }
        if (v instanceof String s) {
            String shown = s.length() > 60 ? s.substring(0, 60) + "..." : s;
            return "\"" + shown.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
        }
        return String.valueOf(v);
    }
}
