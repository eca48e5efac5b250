package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DynamicPostgresTest {

    private static LocalPostgresConfig.Builder member() {
        return LocalPostgresConfig.builder()
                .name("n")
                .dataDir(Path.of("/d"))
                .superuser("postgres", "x")
                .replication("rep", "y");
    }

    @Test
    void theMembersOwnParametersWinExceptTheClusterWideOnes() {
        DynamicPostgres d = DynamicPostgres.from(Map.of(
                "parameters",
                Map.of("work_mem", "8MB", "max_connections", 200, "hot_standby_feedback", true, "ssl", false)));
        assertThat(d.parameters())
                .containsEntry("max_connections", "200")
                .containsEntry("hot_standby_feedback", "on")
                .containsEntry("ssl", "off");
        LocalPostgresConfig local = member().parameter("work_mem", "16MB")
                .parameter("max_connections", "50")
                .parameter("max_wal_senders", "7")
                .build();
        assertThat(d.effectiveParameters(local))
                .containsEntry("work_mem", "16MB")
                .containsEntry("max_connections", "200")
                .containsEntry("max_wal_senders", "7");
    }

    @Test
    void theMembersOwnPgHbaWinsOverTheDynamicOne() {
        DynamicPostgres d = DynamicPostgres.from(Map.of("pg_hba", List.of("host all all 0.0.0.0/0 md5")));
        assertThat(d.effectivePgHba(member().build())).containsExactly("host all all 0.0.0.0/0 md5");
        assertThat(d.effectivePgHba(
                        member().pgHba(List.of("local all all trust")).build()))
                .containsExactly("local all all trust");
    }

    @Test
    void refusesWhatCannotBeWrittenNamingTheKey() {
        assertThatThrownBy(() -> DynamicPostgres.from(Map.of("parameters", "work_mem=1MB")))
                .hasMessageContaining("postgresql.parameters");
        assertThatThrownBy(() -> DynamicPostgres.from(Map.of("parameters", Map.of("work_mem", "1MB\nfsync=off"))))
                .hasMessageContaining("postgresql.parameters.work_mem");
        assertThatThrownBy(() -> DynamicPostgres.from(Map.of("parameters", Map.of("primary_conninfo", "host=x"))))
                .hasMessageContaining("primary_conninfo");
        assertThatThrownBy(() -> DynamicPostgres.from(Map.of("pg_hba", List.of("local all all trust\nhost all"))))
                .hasMessageContaining("postgresql.pg_hba");
        assertThat(DynamicPostgres.from(null).parameters()).isEmpty();
    }
}
