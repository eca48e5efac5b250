package io.pgha.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.config.WatchdogConfig.Mode;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Patroni's {@code watchdog:} section as pgha reads it: Patroni's modes and their aliases (YAML 1.1
 * reads {@code off} as a boolean), its defaults, its timeout rule ({@code ttl - safety_margin},
 * {@code ttl // 2} for -1) and timing slack ({@code timeout - loop_wait}); bad values are errors
 * naming the key and line. The one difference from Patroni: no section is off, not automatic.
 */
class WatchdogConfigTest {
    private static final String BASE = """
            scope: s
            name: n
            restapi: {listen: '127.0.0.1:8008'}
            memory: {}
            postgresql: {listen: '127.0.0.1:5433', data_dir: /tmp/d}
            """;

    private static PatroniYaml yaml(String extra) {
        return PatroniYaml.parse(BASE + extra, "w.yml", Map.of());
    }

    @Test
    void noSectionIsOffAndAnEmptySectionIsAutomaticWithPatronisDefaults() {
        assertThat(yaml("").watchdogConfig()).isEqualTo(WatchdogConfig.OFF);
        WatchdogConfig empty = yaml("watchdog:\n").watchdogConfig();
        assertThat(empty.mode()).isEqualTo(Mode.AUTOMATIC);
        assertThat(empty.device()).isEqualTo("/dev/watchdog");
        assertThat(empty.safetyMargin()).isEqualTo(5);
        assertThat(yaml("watchdog: {device: /dev/watchdog1}\n").watchdogConfig().mode())
                .isEqualTo(Mode.AUTOMATIC);
    }

    @Test
    void readsPatronisModesAndAliases() {
        Map<String, Mode> cases = new LinkedHashMap<>();
        cases.put("off", Mode.OFF);
        cases.put("'off'", Mode.OFF);
        cases.put("false", Mode.OFF);
        cases.put("disabled", Mode.OFF);
        cases.put("automatic", Mode.AUTOMATIC);
        cases.put("auto", Mode.AUTOMATIC);
        cases.put("required", Mode.REQUIRED);
        cases.put("Require", Mode.REQUIRED);
        cases.forEach((text, mode) -> assertThat(yaml("watchdog:\n  mode: " + text + "\n")
                        .watchdogConfig()
                        .mode())
                .as(text)
                .isEqualTo(mode));
        WatchdogConfig w = yaml("watchdog:\n  mode: required\n  device: /dev/watchdog1\n  safety_margin: -1\n")
                .watchdogConfig();
        assertThat(w).isEqualTo(new WatchdogConfig(Mode.REQUIRED, "/dev/watchdog1", -1));
    }

    @Test
    void aModeThatIsNoneOfPatronisIsAnErrorNamingTheKeyAndLine() {
        assertThatThrownBy(() -> yaml("watchdog:\n  mode: requried\n"))
                .isInstanceOf(PatroniYamlException.class)
                .hasMessageContaining("watchdog.mode must be off, automatic or required")
                .hasMessageContaining("line 7");
        // YAML's `on` is true: Patroni would switch the watchdog off with a warning; pgha refuses it
        assertThatThrownBy(() -> yaml("watchdog:\n  mode: on\n")).hasMessageContaining("watchdog.mode");
        assertThatThrownBy(() -> yaml("watchdog:\n  mode: [required]\n")).hasMessageContaining("watchdog.mode");
    }

    /** Patroni's acceptance harness configures {@code driver: testing}; anything else but default is refused. */
    @Test
    void readsPatronisDriverAndRefusesAnUnknownOne() {
        assertThat(yaml("watchdog:\n  mode: required\n  device: /tmp/wd.fifo\n  driver: testing\n")
                        .watchdogConfig())
                .isEqualTo(new WatchdogConfig(Mode.REQUIRED, "/tmp/wd.fifo", 5, WatchdogConfig.Driver.TESTING));
        assertThat(yaml("watchdog:\n  driver: default\n").watchdogConfig().driver())
                .isEqualTo(WatchdogConfig.Driver.DEFAULT);
        assertThat(yaml("watchdog:\n  mode: automatic\n").watchdogConfig().driver())
                .isEqualTo(WatchdogConfig.Driver.DEFAULT);
        assertThatThrownBy(() -> yaml("watchdog:\n  driver: softdog\n"))
                .isInstanceOf(PatroniYamlException.class)
                .hasMessageContaining("watchdog.driver must be default or testing")
                .hasMessageContaining("line 7");
    }

    @Test
    void aSafetyMarginBelowMinusOneOrNotAWholeNumberIsAnError() {
        assertThatThrownBy(() -> yaml("watchdog:\n  mode: automatic\n  safety_margin: -2\n"))
                .hasMessageContaining("watchdog.safety_margin must be a whole number of seconds")
                .hasMessageContaining("line 8");
        assertThatThrownBy(() -> yaml("watchdog:\n  safety_margin: 2.5\n"))
                .hasMessageContaining("watchdog.safety_margin");
        assertThatThrownBy(() -> yaml("watchdog:\n  safety_margin: soon\n"))
                .hasMessageContaining("watchdog.safety_margin");
        assertThatThrownBy(() -> yaml("watchdog:\n  device: ''\n"))
                .hasMessageContaining("watchdog.device must be")
                .hasMessageContaining("line 7");
        assertThatThrownBy(() -> WatchdogConfig.fromPatroni(Map.of("device", " ")))
                .hasMessageContaining("watchdog.device");
    }

    @Test
    void timeoutIsTtlMinusSafetyMarginOrHalfTheTtlAndSlackSubtractsLoopWait() {
        DynamicConfig defaults = DynamicConfig.DEFAULTS; // ttl 30, loop_wait 10
        WatchdogConfig w = new WatchdogConfig(Mode.AUTOMATIC, "/dev/watchdog", 5);
        assertThat(w.timeoutSeconds(defaults)).isEqualTo(25);
        assertThat(w.timingSlack(defaults)).isEqualTo(15);
        WatchdogConfig half = new WatchdogConfig(Mode.AUTOMATIC, "/dev/watchdog", -1);
        DynamicConfig odd = DynamicConfig.from(Map.of("ttl", 31, "loop_wait", 10, "retry_timeout", 10));
        assertThat(half.timeoutSeconds(odd)).isEqualTo(15);
        assertThat(half.timingSlack(odd)).isEqualTo(5);
        DynamicConfig tight = DynamicConfig.from(Map.of("ttl", 20, "loop_wait", 10, "retry_timeout", 5));
        assertThat(new WatchdogConfig(Mode.REQUIRED, "/dev/watchdog", 15).timingSlack(tight))
                .isEqualTo(-5);
    }
}
