package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The first start after a custom bootstrap: never below what the restored copy's pg_control recorded. */
class ManagedFilesTest {

    private static final ControlData RESTORED = ControlData.parse("""
            max_connections setting:              200
            max_worker_processes setting:         8
            max_wal_senders setting:              5
            max_prepared_xacts setting:           0
            max_locks_per_xact setting:           64
            """);

    @Test
    void eachFloorIsTheLargerOfPgControlAndTheFileIncludingPatronisDefaults() {
        Map<String, String> file = ManagedConfig.fileParameters(
                Map.of("max_connections", "100", "max_worker_processes", "16", "max_locks_per_transaction", "many"),
                new ServerFacts(15, true),
                Path.of("/run/pgha"));

        assertThat(ManagedFiles.pgControlFloors(RESTORED, file))
                .containsExactly(
                        Map.entry("max_connections", "200"), // pg_control's is larger
                        Map.entry("max_worker_processes", "16"), // the file's is larger
                        Map.entry("max_wal_senders", "10"), // Patroni's default in the file
                        Map.entry("max_prepared_transactions", "0"),
                        Map.entry("max_locks_per_transaction", "64")); // the file's is not a number
    }

    @Test
    void aFieldPgControlHasNoNumberForIsLeftOut() {
        ControlData partial = ControlData.parse("max_connections setting: 100\nmax_wal_senders setting: ?\n");
        assertThat(ManagedFiles.pgControlFloors(partial, Map.of()))
                .containsExactly(Map.entry("max_connections", "100"));
    }
}
