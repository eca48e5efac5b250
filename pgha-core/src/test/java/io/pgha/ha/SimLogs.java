package io.pgha.ha;

import java.lang.reflect.Field;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Quiets the HA code's own logging while thousands of seeds run: every cycle logs its decision,
 * which would write hundreds of thousands of lines; the simulation keeps its own trace instead
 * and prints it for a failing seed. Works with slf4j-simple (the test binding) by raising the
 * level of the loggers involved; any other binding is left as it is.
 */
final class SimLogs {
    private static final List<Class<?>> NOISY = List.of(
            HaNode.class,
            HaCycle.class,
            LeaderWatch.class,
            CycleInputs.class,
            Inquiries.class,
            ActionRunner.class,
            PostgresActions.class,
            Lease.class,
            OperatorRequests.class,
            NodeEvents.class,
            MemberRecord.class,
            LockGuard.class,
            io.pgha.dcs.InMemoryDcs.class,
            io.pgha.config.DynamicConfig.class,
            io.pgha.dcs.ClusterState.class);
    private static final int OFF = 50; // SimpleLogger's LOG_LEVEL_OFF

    private SimLogs() {}

    /** Silences the noisy loggers; returns what {@link #restore} needs. */
    static Object silence() {
        Map<Logger, Integer> before = new LinkedHashMap<>();
        for (Class<?> c : NOISY) {
            System.setProperty("org.slf4j.simpleLogger.log." + c.getName(), "off");
            Logger l = LoggerFactory.getLogger(c);
            Field f = levelField(l);
            if (f != null) {
                try {
                    before.put(l, f.getInt(l));
                    f.setInt(l, OFF);
                } catch (IllegalAccessException e) {
                    // leave it logging
                }
            }
        }
        return before;
    }

    @SuppressWarnings("unchecked")
    static void restore(Object token) {
        for (Map.Entry<Logger, Integer> e : ((Map<Logger, Integer>) token).entrySet()) {
            Field f = levelField(e.getKey());
            try {
                f.setInt(e.getKey(), e.getValue());
            } catch (IllegalAccessException ex) {
                // nothing to restore
            }
        }
        for (Class<?> c : NOISY) {
            System.clearProperty("org.slf4j.simpleLogger.log." + c.getName());
        }
    }

    private static Field levelField(Logger l) {
        for (Class<?> c = l.getClass(); c != null; c = c.getSuperclass()) {
            try {
                Field f = c.getDeclaredField("currentLogLevel");
                f.setAccessible(true);
                return f;
            } catch (NoSuchFieldException | RuntimeException e) {
                // look further up
            }
        }
        return null;
    }
}
