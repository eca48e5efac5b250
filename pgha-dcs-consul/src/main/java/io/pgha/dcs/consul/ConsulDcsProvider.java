package io.pgha.dcs.consul;

import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsProvider;
import io.pgha.dcs.DcsSettings;
import io.pgha.dcs.spi.PatroniDcs;
import io.pgha.dcs.spi.PatroniLayout;

/**
 * The {@code consul} DCS: Patroni's {@code consul:} section ({@code host}, {@code url},
 * {@code scheme}, {@code token}, {@code verify}, {@code cacert}, {@code cert}, {@code key},
 * {@code dc}, {@code consistency}, {@code checks}, {@code register_service}) over the Consul agent's
 * HTTP API. See {@code docs/dcs-consul.md}. The {@link Dcs} is {@link PatroniDcs} (Patroni's keys,
 * here without the leading slash, their values and the wake-up rules) over {@link ConsulStore}
 * (sessions, acquire, cas, blocking queries).
 *
 * <p>{@link #create} checks the options and builds the clients but does not contact the agent: an
 * agent that is down shows up as a {@link DcsException} from the first call, naming its URL.
 */
public final class ConsulDcsProvider implements DcsProvider {

    public static final String TYPE = "consul";

    @Override
    public String type() {
        return TYPE;
    }

    /**
     * @throws IllegalArgumentException when an option is wrong, naming the key
     */
    @Override
    public Dcs create(DcsSettings settings) throws DcsException {
        ConsulOptions options = ConsulOptions.parse(settings.options());
        String warning = options.cleartextCredentialsWarning();
        if (warning != null) {
            org.slf4j.LoggerFactory.getLogger(ConsulDcsProvider.class).warn("{}", warning);
        }
        PatroniLayout layout = PatroniLayout.withoutLeadingSlash(settings);
        return new PatroniDcs(settings.name(), layout, new ConsulStore(settings, options));
    }
}
