package io.pgha.dcs;

import java.util.Locale;
import java.util.Map;

/** Patroni's member tags and how it reads them (a tag is "true" for true, "true", "on", "yes", 1). */
public final class Tags {
    public static final String NOFAILOVER = "nofailover";
    public static final String FAILOVER_PRIORITY = "failover_priority";
    public static final String NOLOADBALANCE = "noloadbalance";
    public static final String CLONEFROM = "clonefrom";
    public static final String NOSYNC = "nosync";
    public static final String NOSTREAM = "nostream";

    private Tags() {}

    /** The boolean tags Patroni leaves out of what it publishes while false. */
    private static final java.util.Set<String> FLAGS =
            java.util.Set.of(CLONEFROM, NOFAILOVER, NOLOADBALANCE, NOSYNC, NOSTREAM);

    /**
     * The tags as Patroni publishes them (member key, {@code GET /patroni}): the boolean tags
     * ({@code clonefrom}, {@code nofailover}, {@code noloadbalance}, {@code nosync},
     * {@code nostream}) only when true; every other tag as it is.
     */
    public static Map<String, Object> published(Map<String, Object> tags) {
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        tags.forEach((k, v) -> {
            if (!FLAGS.contains(k) || isTrue(v)) {
                out.put(k, v);
            }
        });
        return java.util.Collections.unmodifiableMap(out);
    }

    public static boolean isTrue(Object value) {
        if (value instanceof Boolean b) {
            return b;
        }
        if (value instanceof Number n) {
            return n.intValue() != 0;
        }
        if (value instanceof String s) {
            String v = s.trim().toLowerCase(Locale.ROOT);
            return v.equals("true") || v.equals("on") || v.equals("yes") || v.equals("1");
        }
        return false;
    }

    /** As Patroni 3.2+: an explicit nofailover wins; otherwise {@code failover_priority <= 0} means no failover. */
    public static boolean noFailover(Map<String, Object> tags) {
        if (tags.containsKey(NOFAILOVER)) {
            return isTrue(tags.get(NOFAILOVER));
        }
        return tags.containsKey(FAILOVER_PRIORITY) && failoverPriority(tags) <= 0;
    }

    public static int failoverPriority(Map<String, Object> tags) {
        if (tags.containsKey(NOFAILOVER) && isTrue(tags.get(NOFAILOVER))) {
            return 0;
        }
        Object v = tags.get(FAILOVER_PRIORITY);
        if (v instanceof Number n) {
            return n.intValue();
        }
        if (v instanceof String s) {
            try {
                return Integer.parseInt(s.trim());
            } catch (NumberFormatException e) {
                return 1;
            }
        }
        return 1;
    }
}
