package io.pgha.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The log's lines, each parsed as one JSON object (keys in written order). */
    private static List<JsonNode> jsonLines(Path dir) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("patroni.log"))) {
            out.add(JSON.readTree(line));
        }
        return out;
    }

    private static List<String> keys(JsonNode node) {
        List<String> out = new ArrayList<>();
        node.fieldNames().forEachRemaining(out::add);
        return out;
    }

    @Test
    void writesPatronisJsonKeysWithTypeJson(@TempDir Path dir) throws Exception {
        Logging.configure(Map.of("type", "json", "dir", dir.toString(), "loggers", Map.of("io.pgha.quiet", "ERROR")));
        LoggerFactory.getLogger("io.pgha.test").warn("a json line");
        LoggerFactory.getLogger("io.pgha.quiet").warn("not shown");
        String text = Files.readString(dir.resolve("patroni.log"));
        // Patroni's default format, serialized as Python's json.dumps
        assertThat(text)
                .matches("\\{\"asctime\": \"\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d,\\d{3}\", "
                        + "\"levelname\": \"WARNING\", \"message\": \"a json line\"\\}\n");
        List<JsonNode> lines = jsonLines(dir);
        assertThat(lines).hasSize(1);
        assertThat(keys(lines.get(0))).containsExactly("asctime", "levelname", "message");
    }

    @Test
    void mapsPythonAttributesToTheEvent(@TempDir Path dir) throws Exception {
        Logging.configure(Map.of(
                "type",
                "json",
                "dir",
                dir.toString(),
                "format",
                "%(name)s %(levelno)d %(process)d %(processName)s %(thread)d %(threadName)s %(filename)s"
                        + " %(funcName)s %(lineno)d %(module)s %(created)f %(msecs)d %(relativeCreated)d %(msg)s"
                        + " %(nosuch)s %(args)s %(exc_info)s %(name)s"));
        long before = System.currentTimeMillis();
        LoggerFactory.getLogger("io.pgha.test").info("hello {}", "there");
        JsonNode line = jsonLines(dir).get(0);
        assertThat(keys(line))
                .containsExactly(
                        "name",
                        "levelno",
                        "process",
                        "processName",
                        "thread",
                        "threadName",
                        "filename",
                        "funcName",
                        "lineno",
                        "module",
                        "created",
                        "msecs",
                        "relativeCreated",
                        "msg",
                        "nosuch",
                        "args",
                        "exc_info");
        assertThat(line.get("name").asText()).isEqualTo("io.pgha.test");
        assertThat(line.get("levelno").asInt()).isEqualTo(20);
        assertThat(line.get("process").asLong())
                .isEqualTo(ProcessHandle.current().pid());
        assertThat(line.get("processName").asText()).isEqualTo("MainProcess");
        assertThat(line.get("thread").asLong()).isEqualTo(Thread.currentThread().getId());
        assertThat(line.get("threadName").asText())
                .isEqualTo(Thread.currentThread().getName());
        assertThat(line.get("filename").asText()).isEqualTo("LoggingTest.java");
        assertThat(line.get("funcName").asText()).isEqualTo("mapsPythonAttributesToTheEvent");
        assertThat(line.get("lineno").asInt()).isPositive();
        assertThat(line.get("module").asText()).isEqualTo("LoggingTest");
        assertThat(line.get("created").isDouble()).isTrue();
        assertThat(line.get("created").asDouble() * 1000).isBetween(before - 1.0, System.currentTimeMillis() + 1.0);
        assertThat(line.get("msecs").isDouble()).isTrue();
        assertThat(line.get("msecs").asDouble()).isBetween(0.0, 999.0);
        assertThat(line.get("relativeCreated").asDouble()).isPositive();
        assertThat(line.get("msg").asText()).isEqualTo("hello there");
        // not on Patroni's record or None there: python-json-logger writes null
        assertThat(line.get("nosuch").isNull()).isTrue();
        assertThat(line.get("args").isNull()).isTrue();
        assertThat(line.get("exc_info").isNull()).isTrue();
    }

    @Test
    void escapesAsPythonsJsonDumps(@TempDir Path dir) throws Exception {
        Logging.configure(Map.of("type", "json", "dir", dir.toString(), "format", "%(message)s"));
        String message = "quote \" backslash \\ line\nbreak\ttab \u0001 del\u007f caf\u00e9 \ud83d\ude00 </x>";
        LoggerFactory.getLogger("io.pgha.test").info(message);
        String text = Files.readString(dir.resolve("patroni.log"));
        assertThat(text.lines()).hasSize(1);
        assertThat(text)
                .isEqualTo("{\"message\": \"quote \\\" backslash \\\\ line\\nbreak\\ttab \\u0001 del\\u007f"
                        + " caf\\u00e9 \\ud83d\\ude00 </x>\"}\n");
        assertThat(jsonLines(dir).get(0).get("message").asText()).isEqualTo(message);
    }

    @Test
    void listFormatRenamesStaticFieldsAndTheException(@TempDir Path dir) throws Exception {
        Map<String, Object> statics = new LinkedHashMap<>();
        statics.put("app", "pgha");
        statics.put("levelname", "overridden in place");
        statics.put("dc", 1);
        statics.put("tags", List.of("a", Map.of("b", true)));
        Logging.configure(Map.of(
                "type",
                "json",
                "dir",
                dir.toString(),
                "dateformat",
                "%Y-%m-%dT%H:%M:%S%z",
                "format",
                List.of(
                        Map.of("asctime", "@timestamp"),
                        "levelname",
                        "message",
                        Map.of("levelname", "level"),
                        Map.of("exc_info", "error")),
                "static_fields",
                statics));
        LoggerFactory.getLogger("io.pgha.test").error("failed", new IllegalStateException("boom \"quoted\""));
        LoggerFactory.getLogger("io.pgha.test").info("fine");
        List<JsonNode> lines = jsonLines(dir);
        assertThat(lines).hasSize(2);
        JsonNode failed = lines.get(0);
        // a rename applies wherever the attribute appears; a static key overrides in its place
        assertThat(keys(failed)).containsExactly("@timestamp", "level", "message", "error", "app", "dc", "tags");
        assertThat(failed.get("@timestamp").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d[+-]\\d{4}");
        // static_fields' keys are renamed too: levelname -> level, over the event's
        assertThat(failed.get("level").asText()).isEqualTo("overridden in place");
        assertThat(failed.get("message").asText()).isEqualTo("failed");
        assertThat(failed.get("error").asText())
                .startsWith("java.lang.IllegalStateException: boom \"quoted\"")
                .contains("\tat io.pgha.examples.LoggingTest.listFormatRenamesStaticFieldsAndTheException")
                .doesNotEndWith("\n");
        assertThat(failed.get("app").asText()).isEqualTo("pgha");
        assertThat(failed.get("dc").asInt()).isEqualTo(1);
        assertThat(failed.get("tags").toString()).isEqualTo("[\"a\",{\"b\":true}]");
        // no exception: no exception key, as python-json-logger
        assertThat(keys(lines.get(1))).containsExactly("@timestamp", "level", "message", "error", "app", "dc", "tags");
    }

    @Test
    void strftimeAsPython() {
        java.time.ZonedDateTime t =
                java.time.ZonedDateTime.of(2024, 3, 5, 14, 7, 9, 0, java.time.ZoneOffset.ofHours(2));
        assertThat(PatroniJsonLayout.strftime("%Y-%m-%d %H:%M:%S %z %a %b %I%p %j %% %q", t))
                .isEqualTo("2024-03-05 14:07:09 +0200 Tue Mar 02PM 065 % %q");
    }

    @Test
    void refusesBadJsonFormatAndStaticFields() {
        assertThatThrownBy(() -> Logging.configure(Map.of("type", "json", "format", "no attributes")))
                .hasMessageStartingWith("log.format");
        assertThatThrownBy(() -> Logging.configure(Map.of("type", "json", "format", List.of("message", 3))))
                .hasMessageStartingWith("log.format");
        assertThatThrownBy(() -> Logging.configure(Map.of("type", "json", "format", List.of(Map.of("message", 1)))))
                .hasMessageStartingWith("log.format");
        assertThatThrownBy(() -> Logging.configure(Map.of("type", "json", "format", Map.of("message", "m"))))
                .hasMessageStartingWith("log.format");
        assertThatThrownBy(() -> Logging.configure(Map.of("format", List.of("message"))))
                .hasMessageStartingWith("log.format");
        assertThatThrownBy(() -> Logging.configure(Map.of("type", "json", "static_fields", "app=pgha")))
                .hasMessageStartingWith("log.static_fields");
        assertThatThrownBy(() -> Logging.configure(Map.of("type", "json", "static_fields", List.of("app"))))
                .hasMessageStartingWith("log.static_fields");
    }

    @Test
    void anEmptyListFormatIsPatronisDefault() {
        assertThat(PatroniJsonLayout.fields(List.of()))
                .extracting(PatroniJsonLayout.Field::key)
                .containsExactly("asctime", "levelname", "message");
    }

    @Test
    void refusesBadValuesNamingTheKey() {
        assertThatThrownBy(() -> Logging.configure(Map.of("level", "LOUD"))).hasMessageContaining("log.level");
        assertThatThrownBy(() -> Logging.configure(Map.of("type", "xml"))).hasMessageContaining("log.type");
        assertThatThrownBy(() -> Logging.configure(Map.of("file_num", "many"))).hasMessageContaining("log.file_num");
    }
}
