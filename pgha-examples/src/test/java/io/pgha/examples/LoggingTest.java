package io.pgha.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

class LoggingTest {

    @AfterEach
    void back() {
        Logging.configure("WARNING", false);
    }

    @Test
    void translatesPatronisPythonFormat() {
        assertThat(Logging.pythonFormat("%(asctime)s %(levelname)s: %(message)s", null))
                .isEqualTo("%d{\"yyyy-MM-dd HH:mm:ss,SSS\"} %level: %msg%n");
        assertThat(Logging.pythonFormat("%(asctime)s [%(threadName)s] %(name)s 100%%", "%Y-%m-%dT%H:%M:%S"))
                .isEqualTo("%d{\"yyyy-MM-ddTHH:mm:ss\"} [%thread] %logger 100\\%%n");
    }

    @Test
    void writesARotatedPatroniLogInLogDirWithPatronisFormat(@TempDir Path dir) throws Exception {
        Logging.configure(Map.of(
                "level",
                "INFO",
                "dir",
                dir.toString(),
                "file_size",
                2000,
                "file_num",
                2,
                "format",
                "%(asctime)s %(levelname)s: %(message)s"));
        org.slf4j.Logger log = LoggerFactory.getLogger("io.pgha.test");
        for (int i = 0; i < 200; i++) {
            log.info("line {} of a log that rotates", i);
        }
        log.debug("not at INFO");
        assertThat(dir.resolve("patroni.log")).exists();
        assertThat(dir.resolve("patroni.log.1")).exists();
        assertThat(dir.resolve("patroni.log.3")).doesNotExist();
        String current = Files.readString(dir.resolve("patroni.log"));
        assertThat(current).contains(" INFO: line 199 of a log that rotates").doesNotContain("not at INFO");
        assertThat(current.lines().findFirst().orElseThrow())
                .matches("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d,\\d{3} INFO: line \\d+ of a log that rotates");
    }

    @Test
    void writesJsonLinesWithTypeJson(@TempDir Path dir) throws Exception {
        Logging.configure(Map.of("type", "json", "dir", dir.toString(), "loggers", Map.of("io.pgha.quiet", "ERROR")));
        LoggerFactory.getLogger("io.pgha.test").warn("a json line");
        LoggerFactory.getLogger("io.pgha.quiet").warn("not shown");
        String text = Files.readString(dir.resolve("patroni.log"));
        assertThat(text).contains("\"message\":\"a json line\"").contains("\"level\":\"WARN\"");
        assertThat(text).doesNotContain("not shown");
    }

    @Test
    void refusesBadValuesNamingTheKey() {
        assertThatThrownBy(() -> Logging.configure(Map.of("level", "LOUD"))).hasMessageContaining("log.level");
        assertThatThrownBy(() -> Logging.configure(Map.of("type", "xml"))).hasMessageContaining("log.type");
        assertThatThrownBy(() -> Logging.configure(Map.of("file_num", "many"))).hasMessageContaining("log.file_num");
    }
}
