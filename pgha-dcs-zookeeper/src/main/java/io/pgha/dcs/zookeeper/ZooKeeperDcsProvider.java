package io.pgha.dcs.zookeeper;

import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsProvider;
import io.pgha.dcs.DcsSettings;
import io.pgha.dcs.spi.PatroniDcs;
import io.pgha.dcs.spi.PatroniLayout;

/**
 * The {@code zookeeper} DCS type: Patroni's {@code zookeeper:} configuration section over Apache
 * Curator. See {@code docs/dcs-zookeeper.md} for the options and how the ttl and compare-and-set
 * map onto ZooKeeper. The {@link Dcs} is {@link PatroniDcs} (Patroni's keys and values, the
 * wake-up rules) over {@link ZooKeeperStore} (ephemeral znodes, versions, the watch). Thread-safe;
 * each {@link #create} opens its own ZooKeeper session.
 */
public final class ZooKeeperDcsProvider implements DcsProvider {

    @Override
    public String type() {
        return "zookeeper";
    }

    /**
     * Checks the options and starts connecting in the background; the returned {@link Dcs} throws
     * {@link DcsException} from its calls until the ensemble answers.
     *
     * @throws IllegalArgumentException naming the option when the configuration is invalid
     */
    @Override
    public Dcs create(DcsSettings settings) throws DcsException {
        ZooKeeperOptions options = ZooKeeperOptions.parse(settings.options());
        PatroniLayout layout = PatroniLayout.of(settings);
        return new PatroniDcs(settings.name(), layout, new ZooKeeperStore(settings, options));
    }
}
