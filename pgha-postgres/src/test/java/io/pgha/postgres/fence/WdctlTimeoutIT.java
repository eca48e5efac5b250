package io.pgha.postgres.fence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Setting a watchdog's timeout through wdctl, with a <b>stand-in wdctl</b> (a shell script that
 * records its arguments and prints what util-linux's wdctl prints) and a stand-in
 * {@code /sys/class/watchdog} directory: the real wdctl would open a real device, which a test must
 * never do. Checks the command line, the parsed timeout (the driver's, which wdctl prints), and the
 * fallback to sysfs when wdctl fails or is missing.
 */
class WdctlTimeoutIT {
    @TempDir
    Path dir;

    private Path fakeWdctl(String body) throws IOException {
        Path script = dir.resolve("wdctl");
        Files.writeString(script, "#!/bin/sh\necho \"$LC_ALL $*\" > " + dir.resolve("args") + "\n" + body + "\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        return script;
    }

    private Path sysfs(String name, int timeout) throws IOException {
        Path sys = dir.resolve("sys-class-watchdog");
        Files.createDirectories(sys.resolve(name));
        Files.writeString(sys.resolve(name).resolve("timeout"), timeout + "\n");
        return sys;
    }

    @Test
    void runsWdctlSettimeoutAndTakesTheTimeoutItReports() throws Exception {
        // a driver rounds 25 up to 26: wdctl prints what the ioctl returned
        Path wdctl = fakeWdctl("echo 'Timeout has been set to 26 seconds.'");
        WdctlTimeout t = new WdctlTimeout(wdctl, dir.resolve("no-sysfs"));
        assertThat(t.set("/dev/watchdog-stand-in", 25)).isEqualTo(26);
        assertThat(Files.readString(dir.resolve("args")).trim()).isEqualTo("C --settimeout 25 /dev/watchdog-stand-in");
    }

    @Test
    void whenWdctlFailsTheDevicesTimeoutIsReadFromSysfs() throws Exception {
        Path wdctl =
                fakeWdctl("echo 'wdctl: cannot set timeout for /dev/watchdog: Operation not supported' >&2; exit 1");
        WdctlTimeout t = new WdctlTimeout(wdctl, sysfs("watchdog0", 60));
        assertThat(t.set("/dev/watchdog", 25)).as("/dev/watchdog is watchdog0").isEqualTo(60);
        WdctlTimeout none = new WdctlTimeout(null, sysfs("watchdog0", 60));
        assertThat(none.set("/dev/watchdog", 25)).isEqualTo(60);
    }

    @Test
    void withoutWdctlOrSysfsTheTimeoutIsUnknownAndActivationFails() throws Exception {
        Path wdctl = fakeWdctl("echo 'wdctl: cannot open /dev/watchdog: Device or resource busy' >&2; exit 1");
        assertThatThrownBy(() -> new WdctlTimeout(wdctl, dir.resolve("no-sysfs")).set("/dev/watchdog", 25))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("wdctl --settimeout 25 failed (exit 1): wdctl: cannot open /dev/watchdog")
                .hasMessageContaining("not readable from");
        assertThatThrownBy(() -> new WdctlTimeout(null, dir.resolve("no-sysfs")).set("/dev/watchdog", 25))
                .hasMessageContaining("wdctl (util-linux) is not installed");
        Path silent = fakeWdctl("exit 0");
        assertThatThrownBy(() -> new WdctlTimeout(silent, dir.resolve("no-sysfs")).set("/dev/watchdog", 25))
                .hasMessageContaining("failed (exit 0): no output");
    }
}
