package io.pgha.postgres.fence;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.config.DynamicConfig;
import io.pgha.config.WatchdogConfig;
import io.pgha.config.WatchdogConfig.Mode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The required / automatic decisions of Patroni's watchdog facade, with a stand-in device (a regular
 * file in a temporary directory: only its existence and writability are looked at here) and a
 * stand-in for wdctl that returns the timeout the test chooses. No real watchdog is opened.
 */
class LinuxWatchdogTest {
    private static final DynamicConfig DEFAULTS = DynamicConfig.DEFAULTS; // ttl 30, loop_wait 10

    @TempDir
    Path dir;

    private final List<String> calls = new ArrayList<>();

    private Path standInDevice() throws IOException {
        return Files.createFile(dir.resolve("watchdog-stand-in"));
    }

    private LinuxWatchdog watchdog(Mode mode, String device, int margin, int deviceTimeout) {
        return new LinuxWatchdog(new WatchdogConfig(mode, device, margin), (dev, seconds) -> {
            calls.add(dev + " " + seconds);
            return deviceTimeout < 0 ? seconds : deviceTimeout;
        });
    }

    @Test
    void requiredIsHealthyOnlyWithAWritableDeviceAndAutomaticAlways() throws Exception {
        String missing = dir.resolve("no-such-device").toString();
        assertThat(watchdog(Mode.REQUIRED, missing, 5, -1).isHealthy(DEFAULTS)).isFalse();
        assertThat(watchdog(Mode.AUTOMATIC, missing, 5, -1).isHealthy(DEFAULTS)).isTrue();
        String dev = standInDevice().toString();
        assertThat(watchdog(Mode.REQUIRED, dev, 5, -1).isHealthy(DEFAULTS)).isTrue();
    }

    @Test
    void activationSetsTtlMinusSafetyMarginAndTracksTheTimeoutInForce() throws Exception {
        String dev = standInDevice().toString();
        LinuxWatchdog w = watchdog(Mode.REQUIRED, dev, 5, -1);
        assertThat(w.prepare(DEFAULTS)).isEqualTo(25);
        assertThat(calls).containsExactly(dev + " 25");
        w.opened(25, DEFAULTS);
        assertThat(w.isActive()).isTrue();
        assertThat(w.isHealthy(DEFAULTS)).isTrue();
        assertThat(w.needsNewTimeout(DEFAULTS)).isFalse();
        DynamicConfig longer = DynamicConfig.from(Map.of("ttl", 40, "loop_wait", 10, "retry_timeout", 10));
        assertThat(w.needsNewTimeout(longer)).isTrue();
        w.closed();
        assertThat(w.isActive()).isFalse();
        assertThat(w.mayActivate()).isTrue();
        LinuxWatchdog half = watchdog(Mode.AUTOMATIC, dev, -1, -1);
        assertThat(half.prepare(DEFAULTS)).isEqualTo(15);
    }

    @Test
    void aNegativeTimingSlackMakesTheWatchdogUnusableForGood() throws Exception {
        String dev = standInDevice().toString();
        DynamicConfig tight = DynamicConfig.from(Map.of("ttl", 20, "loop_wait", 10, "retry_timeout", 5));
        LinuxWatchdog required = watchdog(Mode.REQUIRED, dev, 15, -1); // timeout 5 < loop_wait 10
        assertThat(required.isHealthy(tight)).isFalse();
        assertThat(required.prepare(tight)).isNull();
        assertThat(calls).isEmpty();
        assertThat(required.hasFailed()).isTrue();
        assertThat(required.isHealthy(DEFAULTS))
                .as("sticky, as Patroni's null watchdog")
                .isFalse();
        LinuxWatchdog automatic = watchdog(Mode.AUTOMATIC, dev, 15, -1);
        assertThat(automatic.prepare(tight)).isNull();
        assertThat(automatic.mayActivate()).isFalse();
        assertThat(automatic.isHealthy(tight)).isTrue();
    }

    @Test
    void aDeviceTimeoutLongerThanWantedIsRefusedWhenRequiredAndUsedWhenAutomatic() throws Exception {
        String dev = standInDevice().toString();
        LinuxWatchdog required = watchdog(Mode.REQUIRED, dev, 5, 60);
        assertThat(required.prepare(DEFAULTS)).isNull();
        assertThat(required.isHealthy(DEFAULTS)).isFalse();
        LinuxWatchdog automatic = watchdog(Mode.AUTOMATIC, dev, 5, 60);
        assertThat(automatic.prepare(DEFAULTS)).isEqualTo(60);
        assertThat(automatic.hasFailed()).isFalse();
        automatic.opened(60, DEFAULTS);
        assertThat(automatic.needsNewTimeout(DEFAULTS))
                .as("not reopened every cycle for a timeout it cannot have")
                .isFalse();
    }

    @Test
    void aDeviceTimeoutShorterThanLoopWaitIsUnsafe() throws Exception {
        LinuxWatchdog w = watchdog(Mode.AUTOMATIC, standInDevice().toString(), 5, 8);
        assertThat(w.prepare(DEFAULTS)).isNull();
        assertThat(w.mayActivate()).isFalse();
    }

    @Test
    void aTimeoutThatCannotBeSetOrAnOpenThatFailsIsAFailedActivation() throws Exception {
        String dev = standInDevice().toString();
        LinuxWatchdog cannotSet = new LinuxWatchdog(new WatchdogConfig(Mode.REQUIRED, dev, 5), (d, s) -> {
            throw new IOException("wdctl --settimeout 25 failed (exit 1)");
        });
        assertThat(cannotSet.prepare(DEFAULTS)).isNull();
        assertThat(cannotSet.isHealthy(DEFAULTS)).isFalse();

        LinuxWatchdog busy = watchdog(Mode.REQUIRED, dev, 5, -1);
        assertThat(busy.prepare(DEFAULTS)).isEqualTo(25);
        busy.openFailed("cannot open " + dev + " (in use by another program?)");
        assertThat(busy.isActive()).isFalse();
        assertThat(busy.isHealthy(DEFAULTS)).isFalse();

        DynamicConfig zero = DynamicConfig.from(Map.of("ttl", 5, "loop_wait", 0, "retry_timeout", 1));
        LinuxWatchdog invalid = watchdog(Mode.REQUIRED, dev, 5, -1); // ttl 5 - 5 = 0: no such timeout
        assertThat(invalid.prepare(zero)).isNull();
        assertThat(invalid.hasFailed()).isTrue();
    }

    @Test
    void describesTheDeviceAsPatroniDoes() {
        assertThat(watchdog(Mode.AUTOMATIC, "/dev/watchdog", 5, -1).describe()).isEqualTo("Linux watchdog device");
        assertThat(watchdog(Mode.AUTOMATIC, "/dev/watchdog1", 5, -1).describe())
                .isEqualTo("Linux watchdog device at /dev/watchdog1");
    }
}
