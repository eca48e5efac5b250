package io.pgha.examples;

import io.pgha.examples.SideBySide.Implementation;
import java.util.List;

/**
 * The rolling migration's middle on etcd: member 0 (Patroni) bootstraps, member 1 runs Patroni,
 * member 2 pgha; switchovers and failovers go between Patroni and pgha both ways.
 */
class MixedClusterEtcdIT extends MixedClusterScenarios {
    @Override
    List<Implementation> implementations() {
        return List.of(Implementation.PATRONI, Implementation.PATRONI, Implementation.PGHA);
    }

    @Override
    String dcs() {
        return "etcd3";
    }
}
