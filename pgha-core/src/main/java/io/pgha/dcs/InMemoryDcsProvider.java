package io.pgha.dcs;

import java.time.Clock;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The {@code memory} DCS type: members of one JVM that name the same store share it. Options:
 * {@code store} (default {@code "default"}), the name of a store in a process-wide registry; each
 * named store runs on the system clock and lives as long as the JVM.
 *
 * <pre>
 * memory:
 *   store: demo
 * </pre>
 *
 * Thread-safe.
 */
public final class InMemoryDcsProvider implements DcsProvider {
    /** The option naming the shared store. */
    public static final String STORE = "store";

    private static final Set<String> OPTIONS = Set.of(STORE);
    private static final ConcurrentMap<String, InMemoryDcs.Store> STORES = new ConcurrentHashMap<>();

    @Override
    public String type() {
        return "memory";
    }

    @Override
    public Dcs create(DcsSettings settings) throws DcsException {
        for (String key : settings.options().keySet()) {
            if (!OPTIONS.contains(key)) {
                throw new IllegalArgumentException(
                        "unknown option '" + key + "' in the memory DCS section (known: " + OPTIONS + ")");
            }
        }
        return store(settings.option(STORE, "default"))
                .connect(settings.namespace(), settings.scope(), settings.name(), settings.ttl());
    }

    /**
     * The process-wide store of that name, created on first use: a demo reaches it to inject
     * faults ({@link InMemoryDcs.Store#setAvailable}, {@link InMemoryDcs.Store#partition}).
     */
    public static InMemoryDcs.Store store(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("the memory DCS option 'store' must name a store, got '" + name + "'");
        }
        return STORES.computeIfAbsent(name, n -> new InMemoryDcs.Store(Clock.systemUTC()));
    }
}
