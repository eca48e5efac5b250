package io.pgha.postgres.fence;

import io.pgha.config.DynamicConfig;
import io.pgha.config.WatchdogConfig;
import io.pgha.config.WatchdogConfig.Mode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's half of Patroni's watchdog: the decisions of Patroni's {@code Watchdog} facade
 * ({@code patroni/watchdog/base.py}), with the device itself held by the fence process. It decides
 * whether the device may be used under the dynamic configuration in force, sets its timeout (through
 * {@link WatchdogTimeout}, before the fence opens it), and remembers the outcome:
 *
 * <ul>
 *   <li>timeout {@code ttl - safety_margin} ({@code ttl / 2} with -1), timing slack
 *       {@code timeout - loop_wait}; a negative slack, a timeout the device cannot take, a device
 *       timeout shorter than {@code loop_wait} make the watchdog unusable;</li>
 *   <li>a device timeout longer than wanted is refused in mode {@code required} and used with a
 *       warning in mode {@code automatic};</li>
 *   <li>an activation that failed is not tried again (Patroni switches to its null watchdog until
 *       the configuration is reloaded; pgha until the node restarts), which avoids a log line per
 *       cycle; in mode {@code required} the node then stays out of the race
 *       ({@link #isHealthy}).</li>
 * </ul>
 *
 * <p>Log lines are Patroni's, so that an operator's searches still find them. Not thread-safe: its
 * owner ({@link ShellFence}) serializes every call.
 */
final class LinuxWatchdog {
    private static final Logger LOG = LoggerFactory.getLogger(LinuxWatchdog.class);

    private final WatchdogConfig config;
    private final WatchdogTimeout timeout;
    private boolean failed;
    private Integer activeTimeout;
    /** The timeout asked for when it was opened (the device's may differ: automatic mode takes a longer one). */
    private int wantedAtOpen;

    LinuxWatchdog(WatchdogConfig config, WatchdogTimeout timeout) {
        this.config = Objects.requireNonNull(config, "config");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
    }

    WatchdogConfig config() {
        return config;
    }

    String device() {
        return config.device();
    }

    /** A watchdog is configured and its activation has not failed: worth trying to open. */
    boolean mayActivate() {
        return config.enabled() && !failed;
    }

    /** The device is open in the fence, with this timeout. */
    boolean isActive() {
        return activeTimeout != null;
    }

    /** An activation failed (sticky until the node restarts). */
    boolean hasFailed() {
        return failed;
    }

    /**
     * Patroni's {@code is_healthy}: always true unless mode is {@code required}; then false when the
     * timing slack is negative, the device is missing or not writable, or an activation failed. An
     * active watchdog is healthy (Patroni keeps a running one whatever happens to the device file).
     */
    boolean isHealthy(DynamicConfig dynamic) {
        if (config.mode() != Mode.REQUIRED || isActive()) {
            return true;
        }
        if (failed || config.timingSlack(dynamic) < 0) {
            return false;
        }
        Path dev = Path.of(config.device());
        return Files.exists(dev) && Files.isWritable(dev);
    }

    /** The device is open with a timeout other than {@code dynamic} asks for (ttl, loop_wait or margin changed). */
    boolean needsNewTimeout(DynamicConfig dynamic) {
        return isActive() && wantedAtOpen != config.timeoutSeconds(dynamic);
    }

    /**
     * Before the fence opens the device: checks the timing and sets the device's timeout (Patroni's
     * {@code _activate} up to the open).
     *
     * @return the device's timeout in seconds, to open it with; null when it must not be opened (the
     *     reason is logged; in mode required the watchdog has failed)
     */
    Integer prepare(DynamicConfig dynamic) {
        int ttl = (int) dynamic.ttl().toSeconds();
        int loopWait = (int) dynamic.loopWait().toSeconds();
        int wanted = config.timeoutSeconds(dynamic);
        if (config.timingSlack(dynamic) < 0) {
            LOG.warn("Watchdog not supported because leader TTL {} is less than 2x loop_wait {}", ttl, loopWait);
            return fail(null);
        }
        if (wanted <= 0 || wanted >= 0xFFFF) {
            return fail("Could not activate " + describe() + ": Invalid timeout " + wanted
                    + ". Supported values are between 1 and 65535");
        }
        int actual;
        try {
            actual = timeout.set(config.device(), wanted);
        } catch (IOException e) {
            return fail("Could not activate " + describe() + ": " + e.getMessage());
        }
        if (actual < loopWait) {
            LOG.error("loop_wait of {} seconds is too long for watchdog {} second timeout", loopWait, actual);
            LOG.info("Disabling watchdog due to unsafe timeout.");
            return fail(null);
        }
        if (actual > wanted) {
            if (config.mode() == Mode.REQUIRED) {
                LOG.error(
                        "Configuration requires watchdog, but a safe watchdog timeout {} could not be configured."
                                + " Watchdog timeout is {}.",
                        wanted,
                        actual);
                failed = true;
                return null;
            }
            LOG.warn("Watchdog timeout {} seconds does not ensure safe termination within {} seconds", actual, wanted);
        }
        return actual;
    }

    /** The fence opened the device, whose timeout {@link #prepare} returned. */
    void opened(int actualTimeout, DynamicConfig dynamic) {
        activeTimeout = actualTimeout;
        wantedAtOpen = config.timeoutSeconds(dynamic);
        LOG.info(
                "{} activated with {} second timeout, timing slack {} seconds",
                describe(),
                actualTimeout,
                config.timingSlack(dynamic));
    }

    /** The fence could not open the device. */
    void openFailed(String why) {
        fail("Could not activate " + describe() + ": " + why);
    }

    /** The fence closed the device (orderly), or the fence process is gone. */
    void closed() {
        activeTimeout = null;
    }

    private Integer fail(String why) {
        failed = true;
        activeTimeout = null;
        if (config.mode() == Mode.REQUIRED) {
            if (why != null) {
                LOG.warn(why);
            }
            LOG.error("Configuration requires watchdog, but watchdog could not be activated");
        } else if (why != null) {
            LOG.info("{}; going on without a watchdog (watchdog.mode is automatic)", why);
        }
        return null;
    }

    /** Patroni's {@code describe()} of a Linux device. */
    String describe() {
        return "Linux watchdog device"
                + (WatchdogConfig.DEFAULT_DEVICE.equals(config.device()) ? "" : " at " + config.device());
    }
}
