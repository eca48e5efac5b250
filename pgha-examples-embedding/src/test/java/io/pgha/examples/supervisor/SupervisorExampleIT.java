package io.pgha.examples.supervisor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pgha.examples.TestDirs;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The custom supervisor over a real PostgreSQL: the decorator sees every action the HA loop takes. */
class SupervisorExampleIT {
    private Path base;

    @AfterEach
    void cleanup() {
        TestDirs.deleteQuietly(base);
    }

    @Test
    void recordsTheActionsOfANodesLife() throws Exception {
        base = TestDirs.traversableTempDir("pgha-supervisor-it-");
        Supervisor s = Supervisor.start("node1", base.resolve("data"), TestDirs.freePort());
        try {
            await().atMost(Duration.ofSeconds(90))
                    .until(() -> s.node().state().holdsLock()
                            && s.node().state().postgres().isPrimary());
            assertThat(s.postgres().actions()).startsWith("bootstrap");
        } finally {
            s.close();
        }
        assertThat(s.postgres().actions()).contains("stop fast");
        assertThat(s.postgres().status().isRunning()).isFalse();
        assertThat(s.postgres().entries()).allMatch(RecordingPostgresController.Entry::ok);
    }
}
