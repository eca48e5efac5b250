package io.pgha.postgres.fence;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sets a watchdog's timeout with util-linux's {@code wdctl --settimeout <s> <device>}. wdctl opens
 * the device (which starts its countdown), writes the magic close character at once, issues
 * {@code WDIOC_SETTIMEOUT} and closes it: a driver with magic close stops again, and the kernel keeps
 * the new timeout for the next opener (the fence, a moment later). It prints the timeout the driver
 * accepted ({@code Timeout has been set to N seconds.}), which is what the ioctl returns.
 *
 * <p>Without wdctl, or when it fails (a driver without {@code WDIOF_SETTIMEOUT}), the device's
 * current timeout is read from {@code /sys/class/watchdog/<name>/timeout}, as Patroni falls back to
 * {@code WDIOC_GETTIMEOUT}; when that is unknown too, activation fails. Thread-safe (stateless).
 */
final class WdctlTimeout implements WatchdogTimeout {
    private static final Logger LOG = LoggerFactory.getLogger(WdctlTimeout.class);
    private static final Pattern SET = Pattern.compile("Timeout has been set to (\\d+) second");

    private final Path wdctl;
    private final Path sysfs;

    /**
     * @param wdctl the wdctl binary, or null when the host has none
     * @param sysfs {@code /sys/class/watchdog}, or a stand-in for tests
     */
    WdctlTimeout(Path wdctl, Path sysfs) {
        this.wdctl = wdctl;
        this.sysfs = sysfs;
    }

    /** The host's wdctl ({@code /usr/bin/wdctl}, ...) and sysfs. */
    static WdctlTimeout system() {
        Path found = null;
        for (String p : List.of("/usr/bin/wdctl", "/bin/wdctl", "/usr/sbin/wdctl", "/sbin/wdctl")) {
            if (Files.isExecutable(Path.of(p))) {
                found = Path.of(p);
                break;
            }
        }
        return new WdctlTimeout(found, Path.of("/sys/class/watchdog"));
    }

    @Override
    public int set(String device, int seconds) throws IOException {
        String why;
        if (wdctl == null) {
            why = "cannot set its timeout: wdctl (util-linux) is not installed";
        } else {
            Outcome o = runWdctl(device, seconds);
            if (o.timeout() != null) {
                return o.timeout();
            }
            why = o.why();
        }
        Integer current = readSysfs(device);
        if (current == null) {
            throw new IOException(why + "; its current timeout is not readable from " + sysfs + " either");
        }
        LOG.warn("watchdog {}: {}; its timeout is {} s ({})", device, why, current, sysfs);
        return current;
    }

    /** What wdctl did: the timeout in force, or why it failed. */
    private record Outcome(Integer timeout, String why) {}

    private Outcome runWdctl(String device, int seconds) throws IOException {
        // output to a file, not a pipe: a wdctl that hangs must not hang the HA loop past the timeout
        Path output = Files.createTempFile("pgha-wdctl-", ".out");
        try {
            ProcessBuilder pb = new ProcessBuilder(wdctl.toString(), "--settimeout", Integer.toString(seconds), device)
                    .redirectErrorStream(true)
                    .redirectOutput(output.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            pb.environment().put("LC_ALL", "C"); // the line parsed below is translated otherwise
            Process p = pb.start();
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    return new Outcome(null, "wdctl --settimeout did not finish within 10 s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
                throw new IOException("interrupted while setting the watchdog timeout", e);
            }
            return parse(
                    p.exitValue(),
                    Files.readString(output, StandardCharsets.UTF_8).trim(),
                    seconds);
        } finally {
            Files.deleteIfExists(output);
        }
    }

    private static Outcome parse(int exit, String out, int seconds) {
        Matcher m = SET.matcher(out);
        if (exit == 0 && m.find()) {
            return new Outcome(Integer.parseInt(m.group(1)), null);
        }
        String last =
                out.isEmpty() ? "no output" : out.lines().reduce((a, b) -> b).orElse(out);
        return new Outcome(null, "wdctl --settimeout " + seconds + " failed (exit " + exit + "): " + last);
    }

    /** The device's timeout from sysfs ({@code /dev/watchdog} is {@code watchdog0}), or null. */
    Integer readSysfs(String device) {
        try {
            Path dev = Path.of(device);
            String name =
                    (Files.exists(dev) ? dev.toRealPath() : dev).getFileName().toString();
            if (name.equals("watchdog")) {
                name = "watchdog0";
            }
            Path file = sysfs.resolve(name).resolve("timeout");
            if (!Files.isReadable(file)) {
                return null;
            }
            return Integer.parseInt(Files.readString(file).trim());
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
