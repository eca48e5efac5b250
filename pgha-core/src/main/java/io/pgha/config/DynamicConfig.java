package io.pgha.config;

import io.pgha.dcs.Tags;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster-wide dynamic configuration (the {@code config} key), typed, with Patroni's names
 * and defaults. Unknown keys are kept in {@link #raw()} so nothing written by Patroni is lost.
 * Immutable.
 *
 * <p>As Patroni does, {@code loop_wait + 2 * retry_timeout <= ttl} is enforced: when violated,
 * retry_timeout (then loop_wait) is lowered and a warning is logged once per distinct config.
 *
 * <p>{@link #from(Map)} reads leniently (a value it cannot read is the default);
 * {@link #from(Map, DynamicConfig, Consumer)}, which the node uses for the DCS's {@code config} key,
 * checks every value with {@link DynamicConfigValidator} and keeps the previous config's value of
 * each key it rejects.
 */
public final class DynamicConfig {
    private static final Logger LOG = LoggerFactory.getLogger(DynamicConfig.class);

    public static final int DEFAULT_TTL = 30;
    public static final int DEFAULT_LOOP_WAIT = 10;
    public static final int DEFAULT_RETRY_TIMEOUT = 10;
    public static final long DEFAULT_MAXIMUM_LAG_ON_FAILOVER = 1048576L;
    public static final int DEFAULT_PRIMARY_START_TIMEOUT = 300;

    public static final DynamicConfig DEFAULTS = from(Map.of());

    private final Map<String, Object> raw;
    private final int ttl;
    private final int loopWait;
    private final int retryTimeout;

    private DynamicConfig(Map<String, Object> raw) {
        this.raw = Collections.unmodifiableMap(new LinkedHashMap<>(raw));
        // bounded as the validator bounds them, for a config that was never validated: no sum below overflows
        int max = DynamicConfigValidator.MAX_SECONDS;
        int t = Math.min(max, Math.max(2, intValue("ttl", DEFAULT_TTL)));
        int lw = Math.min(max, Math.max(1, intValue("loop_wait", DEFAULT_LOOP_WAIT)));
        int rt = Math.min(max, Math.max(1, intValue("retry_timeout", DEFAULT_RETRY_TIMEOUT)));
        if (lw + 2 * rt > t) {
            int adjustedRt = Math.max(1, (t - lw) / 2);
            int adjustedLw = lw;
            if (adjustedLw + 2 * adjustedRt > t) {
                adjustedLw = Math.max(1, t - 2 * adjustedRt);
            }
            LOG.warn(
                    "loop_wait ({}) + 2 * retry_timeout ({}) > ttl ({}): using loop_wait {} and retry_timeout {}",
                    lw,
                    rt,
                    t,
                    adjustedLw,
                    adjustedRt);
            lw = adjustedLw;
            rt = adjustedRt;
        }
        this.ttl = t;
        this.loopWait = lw;
        this.retryTimeout = rt;
    }

    public static DynamicConfig from(Map<String, Object> raw) {
        return new DynamicConfig(raw == null ? Map.of() : raw);
    }

    /**
     * The configuration in {@code raw}, each value {@link DynamicConfigValidator} rejects replaced by
     * {@code previous}'s value of that key (the last good one), or left out (so the default applies)
     * when {@code previous} has none or null is given. {@code rejected} hears of each rejected value.
     */
    public static DynamicConfig from(
            Map<String, Object> raw, DynamicConfig previous, Consumer<DynamicConfigValidator.Problem> rejected) {
        Map<String, Object> in = raw == null ? Map.of() : raw;
        List<DynamicConfigValidator.Problem> problems = DynamicConfigValidator.validate(in);
        if (problems.isEmpty()) {
            return from(in);
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> fixed = (Map<String, Object>) deepCopy(in);
        for (DynamicConfigValidator.Problem p : problems) {
            replace(fixed, p.path(), previous == null ? null : previous.valueAt(p.path()));
            rejected.accept(p);
        }
        // a previous value that was never checked (a builder's bootstrap config) is left out too
        for (DynamicConfigValidator.Problem p : DynamicConfigValidator.validate(fixed)) {
            replace(fixed, p.path(), null);
        }
        return from(fixed);
    }

    /** The value at a key path ({@code [postgresql, use_slots]}) of {@link #raw()}; null if absent. */
    public Object valueAt(List<String> path) {
        Object v = raw;
        for (String key : path) {
            if (!(v instanceof Map<?, ?> m)) {
                return null;
            }
            v = m.get(key);
        }
        return v;
    }

    @SuppressWarnings("unchecked")
    private static void replace(Map<String, Object> root, List<String> path, Object value) {
        Map<String, Object> parent = root;
        for (String key : path.subList(0, path.size() - 1)) {
            if (!(parent.get(key) instanceof Map<?, ?> m)) {
                return;
            }
            parent = (Map<String, Object>) m;
        }
        String last = path.get(path.size() - 1);
        if (value == null) {
            parent.remove(last);
        } else {
            parent.put(last, deepCopy(value));
        }
    }

    private static Object deepCopy(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put(String.valueOf(k), deepCopy(x)));
            return out;
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            l.forEach(x -> out.add(deepCopy(x)));
            return out;
        }
        return v;
    }

    /** The JSON object, as stored. */
    public Map<String, Object> raw() {
        return raw;
    }

    public Duration ttl() {
        return Duration.ofSeconds(ttl);
    }

    public Duration loopWait() {
        return Duration.ofSeconds(loopWait);
    }

    public Duration retryTimeout() {
        return Duration.ofSeconds(retryTimeout);
    }

    public long maximumLagOnFailover() {
        return longValue("maximum_lag_on_failover", DEFAULT_MAXIMUM_LAG_ON_FAILOVER);
    }

    public long maximumLagOnSyncnode() {
        return longValue("maximum_lag_on_syncnode", -1L);
    }

    /** 0 means: never restart a crashed primary in place when a failover is possible. */
    public Duration primaryStartTimeout() {
        Object v = raw.containsKey("primary_start_timeout")
                ? raw.get("primary_start_timeout")
                : raw.get("master_start_timeout");
        return Duration.ofSeconds(
                boundedSeconds(v == null ? DEFAULT_PRIMARY_START_TIMEOUT : toLong(v, DEFAULT_PRIMARY_START_TIMEOUT)));
    }

    public Duration primaryStopTimeout() {
        return Duration.ofSeconds(boundedSeconds(longValue("primary_stop_timeout", 0L)));
    }

    /** Backoff before a leader race when the lock just vanished (Patroni 4's primary_race_backoff, seconds). */
    public Duration primaryRaceBackoff() {
        Object v = raw.get("primary_race_backoff");
        if (v == null) {
            return Duration.ZERO;
        }
        double seconds;
        try {
            seconds = v instanceof Number n ? n.doubleValue() : Double.parseDouble(v.toString());
        } catch (NumberFormatException e) {
            return Duration.ZERO;
        }
        if (Double.isNaN(seconds) || seconds <= 0) {
            return Duration.ZERO;
        }
        return Duration.ofMillis((long) (Math.min(seconds, DynamicConfigValidator.MAX_SECONDS) * 1000));
    }

    public boolean isPaused() {
        return Tags.isTrue(raw.get("pause"));
    }

    /** "off", "on" (true) or "quorum". */
    public String synchronousMode() {
        Object v = raw.get("synchronous_mode");
        if (v == null) {
            return "off";
        }
        if ("quorum".equalsIgnoreCase(v.toString())) {
            return "quorum";
        }
        return Tags.isTrue(v) ? "on" : "off";
    }

    public boolean isSynchronousMode() {
        return !"off".equals(synchronousMode());
    }

    public boolean isSynchronousModeStrict() {
        return Tags.isTrue(raw.get("synchronous_mode_strict"));
    }

    public int synchronousNodeCount() {
        return intValue("synchronous_node_count", 1);
    }

    public boolean isFailsafeMode() {
        return Tags.isTrue(raw.get("failsafe_mode"));
    }

    public boolean checkTimeline() {
        return Tags.isTrue(raw.get("check_timeline"));
    }

    /** Patroni's {@code max_timelines_history}: how many entries the {@code history} key keeps (0: all). */
    public long maxTimelinesHistory() {
        return longValue("max_timelines_history", 0L);
    }

    @SuppressWarnings("unchecked")
    public Map<String, Object> postgresql() {
        Object pg = raw.get("postgresql");
        return pg instanceof Map ? (Map<String, Object>) pg : Map.of();
    }

    /**
     * postgresql.use_pg_rewind. pgha defaults it to true (Patroni: false) so that a former primary
     * rejoins without a hand; pgha's initdb turns data checksums on, which pg_rewind needs.
     */
    public boolean usePgRewind() {
        Object v = postgresql().get("use_pg_rewind");
        return v == null || Tags.isTrue(v);
    }

    /** postgresql.remove_data_directory_on_rewind_failure */
    public boolean removeDataDirectoryOnRewindFailure() {
        return Tags.isTrue(postgresql().get("remove_data_directory_on_rewind_failure"));
    }

    /** postgresql.remove_data_directory_on_diverged_timelines */
    public boolean removeDataDirectoryOnDivergedTimelines() {
        return Tags.isTrue(postgresql().get("remove_data_directory_on_diverged_timelines"));
    }

    /** postgresql.use_slots, default true. */
    public boolean useSlots() {
        Object v = postgresql().get("use_slots");
        return v == null || Tags.isTrue(v);
    }

    /**
     * Patroni's {@code standby_cluster} section when it makes this a standby cluster (a
     * {@code host}, {@code port} or {@code restore_command} set, as Patroni's
     * {@code is_standby_cluster}); null otherwise. While it is, no member runs as a writable
     * primary: the lock holder is the standby leader, replicating from the remote primary.
     */
    @SuppressWarnings("unchecked")
    public Map<String, Object> standbyCluster() {
        Object sc = raw.get("standby_cluster");
        if (!(sc instanceof Map<?, ?> m)) {
            return null;
        }
        for (String key : List.of("host", "port", "restore_command")) {
            Object v = m.get(key);
            if (v != null
                    && !"".equals(v)
                    && !Boolean.FALSE.equals(v)
                    && !Integer.valueOf(0).equals(v)) {
                return (Map<String, Object>) m;
            }
        }
        return null;
    }

    /** Whether {@link #standbyCluster()} makes this a standby cluster. */
    public boolean isStandbyCluster() {
        return standbyCluster() != null;
    }

    /**
     * The permanent replication slots ({@code slots}, or Patroni's older names {@code permanent_slots}
     * and {@code permanent_replication_slots}), by name, each as written (null for a bare name, which
     * is a physical slot).
     */
    @SuppressWarnings("unchecked")
    public Map<String, Object> permanentSlots() {
        for (String key : List.of("permanent_replication_slots", "permanent_slots", "slots")) {
            if (raw.get(key) instanceof Map<?, ?> m && !m.isEmpty()) {
                return Collections.unmodifiableMap((Map<String, Object>) m);
            }
        }
        return Map.of();
    }

    /** {@code ignore_slots}: the matchers ({@code name}, {@code type}, {@code database}, {@code plugin}). */
    @SuppressWarnings("unchecked")
    public List<Map<String, Object>> ignoreSlots() {
        List<Map<String, Object>> out = new ArrayList<>();
        if (raw.get("ignore_slots") instanceof List<?> l) {
            for (Object o : l) {
                if (o instanceof Map<?, ?> m) {
                    out.add((Map<String, Object>) m);
                }
            }
        }
        return out;
    }

    /**
     * {@code member_slots_ttl} (Patroni 4): how long the slot of a member whose key is gone is kept;
     * also, above 0, every member that may lead keeps a slot for every other member. Default 30 min.
     */
    public Duration memberSlotsTtl() {
        return Duration.ofSeconds(boundedSeconds(longValue("member_slots_ttl", 1800L)));
    }

    /** Seconds within 0 and {@link DynamicConfigValidator#MAX_SECONDS}, so that their milliseconds never overflow. */
    private static long boundedSeconds(long seconds) {
        return Math.max(0, Math.min(DynamicConfigValidator.MAX_SECONDS, seconds));
    }

    /** The value as an int, saturated at the int range (never wrapped: 2147483648 is not -2147483648). */
    public int intValue(String key, int fallback) {
        long v = toLong(raw.get(key), fallback);
        return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, v));
    }

    public long longValue(String key, long fallback) {
        return toLong(raw.get(key), fallback);
    }

    /** A number or a string holding an integer, saturated at the long range; the fallback otherwise. */
    private static long toLong(Object v, long fallback) {
        if (v instanceof java.math.BigInteger b) {
            return b.bitLength() < 64 ? b.longValue() : b.signum() > 0 ? Long.MAX_VALUE : Long.MIN_VALUE;
        }
        if (v instanceof java.math.BigDecimal || v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            // a double's longValue saturates; NaN has no value
            return Double.isNaN(d) ? fallback : (long) d;
        }
        if (v instanceof Number n) {
            return n.longValue();
        }
        if (v instanceof String s) {
            String t = s.trim();
            if (!t.matches("[+-]?\\d{1,30}")) {
                return fallback;
            }
            return toLong(new java.math.BigInteger(t), fallback);
        }
        return fallback;
    }

    @Override
    public String toString() {
        return "DynamicConfig{ttl=" + ttl + ", loop_wait=" + loopWait + ", retry_timeout=" + retryTimeout + ", " + raw
                + "}";
    }
}
