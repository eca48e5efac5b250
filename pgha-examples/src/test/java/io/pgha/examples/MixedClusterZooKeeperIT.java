package io.pgha.examples;

import io.pgha.examples.SideBySide.Implementation;
import java.util.List;

/**
 * The rolling migration further on, on ZooKeeper: member 0 (pgha) bootstraps, member 1 runs
 * Patroni, member 2 pgha; switchovers and failovers go between Patroni and pgha both ways.
 */
class MixedClusterZooKeeperIT extends MixedClusterScenarios {
    @Override
    List<Implementation> implementations() {
        return List.of(Implementation.PGHA, Implementation.PATRONI, Implementation.PGHA);
    }

    @Override
    String dcs() {
        return "zookeeper";
    }
}
