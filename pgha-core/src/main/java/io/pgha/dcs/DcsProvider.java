package io.pgha.dcs;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Creates {@link Dcs} instances of one backend type. Implementations are registered for
 * {@link ServiceLoader} in {@code META-INF/services/io.pgha.dcs.DcsProvider} and named after
 * Patroni's config section: {@code etcd3}, {@code zookeeper}, {@code consul}, or {@code memory}
 * for the in-process store.
 */
public interface DcsProvider {

    /** The backend name, as in Patroni's config file. */
    String type();

    /** Connects a member to a cluster. */
    Dcs create(DcsSettings settings) throws DcsException;

    /** The provider of the given type on the class path, or an error listing the known ones. */
    static DcsProvider find(String type) {
        List<String> known = new ArrayList<>();
        for (DcsProvider p : ServiceLoader.load(DcsProvider.class, DcsProvider.class.getClassLoader())) {
            if (p.type().equals(type)) {
                return p;
            }
            known.add(p.type());
        }
        throw new IllegalArgumentException("no DCS provider of type '" + type + "' on the class path (known: " + known
                + "); add the pgha-dcs-" + ("etcd3".equals(type) ? "etcd" : type) + " module");
    }
}
