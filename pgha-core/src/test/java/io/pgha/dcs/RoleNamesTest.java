package io.pgha.dcs;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class RoleNamesTest {

    private static ClusterState cluster(Map<String, String> versions) {
        ClusterState.Builder b = ClusterState.builder("batman");
        versions.forEach((name, version) -> b.member(new Member(name, 1, Map.of("version", version))));
        return b.build();
    }

    @Test
    void aPrimaryIsMasterAsPatroni3NamesItUnlessOnlyPatroni4MembersAreThere() {
        assertThat(RoleNames.wire("primary", null, "me")).isEqualTo("master");
        assertThat(RoleNames.wire("primary", cluster(Map.of("me", "0.1.0", "b", "0.1.0")), "me"))
                .as("pgha only: Patroni 3.0.2's name")
                .isEqualTo("master");
        assertThat(RoleNames.wire("primary", cluster(Map.of("me", "0.1.0", "b", "3.0.2")), "me"))
                .isEqualTo("master");
        assertThat(RoleNames.wire("primary", cluster(Map.of("me", "0.1.0", "b", "4.0.4")), "me"))
                .isEqualTo("primary");
        assertThat(RoleNames.wire("primary", cluster(Map.of("b", "4.0.4", "c", "3.3.2")), "me"))
                .as("a Patroni rolling upgrade: the older members must still read it")
                .isEqualTo("master");
        assertThat(RoleNames.wire("replica", cluster(Map.of("b", "3.0.2")), "me"))
                .isEqualTo("replica");
        assertThat(RoleNames.wire("standby_leader", null, "me")).isEqualTo("standby_leader");
        assertThat(RoleNames.normalize("master")).isEqualTo("primary");
        assertThat(RoleNames.normalize("replica")).isEqualTo("replica");
    }
}
