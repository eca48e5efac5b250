package io.pgha.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code pgha run} refuses a bad {@code watchdog:} section before starting anything, naming the key and line. */
class RunnerWatchdogConfigTest {
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private static final String BASE = """
            scope: s
            name: n
            restapi:
              listen: 127.0.0.1:8008
            memory: {}
            postgresql:
              listen: 127.0.0.1:5432
              data_dir: /tmp/pgha-watchdog-runner-never-created
              authentication:
                superuser: {username: postgres, password: secret}
            """;

    private int run(Path file) {
        return Main.run(
                new String[] {"run", file.toString()},
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void aMistypedModeIsRefusedWithItsLine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("node.yml");
        Files.writeString(file, BASE + "watchdog:\n  mode: requried\n");
        assertThat(run(file)).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8))
                .contains("watchdog.mode must be off, automatic or required")
                .contains("line 12");
        assertThat(Path.of("/tmp/pgha-watchdog-runner-never-created")).doesNotExist();
    }

    @Test
    void anEmptyDeviceIsRefusedWithItsLine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("node.yml");
        Files.writeString(file, BASE + "watchdog:\n  mode: required\n  device: ''\n");
        assertThat(run(file)).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8))
                .contains("watchdog.device must be")
                .contains("line 13");
    }
}
