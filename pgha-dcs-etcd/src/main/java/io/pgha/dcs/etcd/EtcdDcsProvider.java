package io.pgha.dcs.etcd;

import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsProvider;
import io.pgha.dcs.DcsSettings;
import io.pgha.dcs.spi.PatroniDcs;
import io.pgha.dcs.spi.PatroniLayout;

/**
 * The {@code etcd3} {@link DcsProvider}: Patroni's {@code etcd3:} configuration section, over etcd
 * v3's gRPC API (jetcd). Registered for {@link java.util.ServiceLoader}.
 *
 * <p>Options (Patroni's names): {@code host}, {@code hosts}, {@code url}, {@code urls},
 * {@code protocol}, {@code username}, {@code password}, {@code cacert}, {@code cert}, {@code key}.
 * An unknown or unsupported key is an {@link IllegalArgumentException} naming it.
 *
 * <p>The {@link Dcs} is {@link PatroniDcs} (Patroni's keys and values, the wake-up rules) over
 * {@link EtcdStore} (leases, transactions, the watch).
 *
 * <p>{@link #create} does not wait for etcd: the first operation connects, and an unreachable etcd
 * shows as a {@link DcsException} from that operation, the way the HA loop expects.
 */
public final class EtcdDcsProvider implements DcsProvider {

    public static final String TYPE = "etcd3";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public Dcs create(DcsSettings settings) throws DcsException {
        EtcdOptions options = EtcdOptions.parse(settings.options());
        String warning = options.cleartextCredentialsWarning();
        if (warning != null) {
            org.slf4j.LoggerFactory.getLogger(EtcdDcsProvider.class).warn("{}", warning);
        }
        PatroniLayout layout = PatroniLayout.of(settings);
        return new PatroniDcs(settings.name(), layout, new EtcdStore(settings, options));
    }
}
