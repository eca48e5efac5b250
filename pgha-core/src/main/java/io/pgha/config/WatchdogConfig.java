package io.pgha.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Patroni's {@code watchdog:} section: whether the leader keeps a Linux watchdog device fed, which
 * device, and how long before the leader lock's expiry the device must reset the host.
 *
 * <p>Patroni's rules, kept as they are: the watchdog timeout is {@code ttl - safety_margin} seconds
 * ({@code ttl / 2} with {@code safety_margin: -1}), and the <em>timing slack</em>
 * {@code timeout - loop_wait} must not be negative (the leader renews, and feeds the watchdog, once
 * per {@code loop_wait}). In mode {@code required} a member whose watchdog cannot be activated never
 * takes the leader lock; in mode {@code automatic} it runs without one and says so.
 *
 * <p>One deliberate difference from Patroni: with no {@code watchdog} section at all, Patroni tries
 * {@code /dev/watchdog} in automatic mode; pgha leaves the watchdog off (see docs/safety.md: a node
 * run as root would otherwise arm a host's hardware watchdog nobody asked for). An empty section
 * ({@code watchdog:} with no keys) is automatic, as in Patroni.
 *
 * @param mode off, automatic or required
 * @param device the watchdog device, {@code /dev/watchdog} by default
 * @param driver Patroni's {@code watchdog.driver}: {@code default} (a Linux watchdog device) or
 *     {@code testing} (Patroni's test harness: the device is a named pipe, and the timeout is written
 *     to it as {@code Ctimeout=<s>} instead of set with an ioctl)
 * @param safetyMargin seconds between the watchdog's expiry and the lock's; -1 for {@code ttl / 2}
 */
public record WatchdogConfig(Mode mode, String device, int safetyMargin, Driver driver) {

    /** Patroni's default device. */
    public static final String DEFAULT_DEVICE = "/dev/watchdog";

    /** Patroni's default safety margin, in seconds. */
    public static final int DEFAULT_SAFETY_MARGIN = 5;

    /** No watchdog (pgha's default when the section is absent). */
    public static final WatchdogConfig OFF = new WatchdogConfig(Mode.OFF, DEFAULT_DEVICE, DEFAULT_SAFETY_MARGIN);

    /** Patroni's {@code watchdog.mode}. */
    public enum Mode {
        /** Never open a watchdog device. */
        OFF,
        /** Use the device when it can be activated safely; warn and go on without it otherwise. */
        AUTOMATIC,
        /** Never take the leader lock without an active watchdog. */
        REQUIRED;

        /** The name as written in the YAML and in Patroni's logs. */
        public String yamlName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Patroni's {@code watchdog.driver}. */
    public enum Driver {
        /** A Linux watchdog device: its timeout set with an ioctl (util-linux's wdctl here). */
        DEFAULT,
        /**
         * Patroni's test harness ({@code TestingWatchdogDevice}): a named pipe that records what it
         * receives; the timeout is written to it as {@code Ctimeout=<seconds>\n} once it is open.
         */
        TESTING;

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** With the default driver. */
    public WatchdogConfig(Mode mode, String device, int safetyMargin) {
        this(mode, device, safetyMargin, Driver.DEFAULT);
    }

    public WatchdogConfig {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(driver, "driver");
        Objects.requireNonNull(device, "device");
        if (device.isBlank()) {
            throw new IllegalArgumentException("watchdog.device must not be empty");
        }
        if (safetyMargin < -1) {
            throw new IllegalArgumentException("watchdog.safety_margin must be -1 or more, found " + safetyMargin);
        }
    }

    /**
     * Reads the section as a Patroni YAML loader hands it over (an absent section is {@link #OFF}; a
     * present, empty one is automatic with the defaults).
     *
     * @param section the section's keys, or null when the file has no {@code watchdog} key
     * @throws IllegalArgumentException naming every key that is wrong
     */
    public static WatchdogConfig fromPatroni(Map<String, Object> section) {
        if (section == null) {
            return OFF;
        }
        List<String> errors = new ArrayList<>();
        Mode mode = Mode.AUTOMATIC;
        if (section.containsKey("mode") && section.get("mode") != null) {
            mode = parseMode(section.get("mode"));
            if (mode == null) {
                errors.add(modeError());
                mode = Mode.OFF;
            }
        }
        String device = DEFAULT_DEVICE;
        Object d = section.get("device");
        if (d != null) {
            if (d instanceof Map || d instanceof List || d.toString().isBlank()) {
                errors.add(deviceError());
            } else {
                device = d.toString().trim();
            }
        }
        int margin = DEFAULT_SAFETY_MARGIN;
        Object m = section.get("safety_margin");
        if (m != null) {
            Integer parsed = parseMargin(m);
            if (parsed == null) {
                errors.add(marginError());
            } else {
                margin = parsed;
            }
        }
        Driver driver = Driver.DEFAULT;
        if (section.get("driver") != null) {
            driver = parseDriver(section.get("driver"));
            if (driver == null) {
                errors.add(driverError());
                driver = Driver.DEFAULT;
            }
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", errors));
        }
        return new WatchdogConfig(mode, device, margin, driver);
    }

    /**
     * Patroni's {@code parse_mode}: {@code false}, {@code off}, {@code disable(d)} are off;
     * {@code auto(matic)} automatic; {@code require(d)} required (any case). Null for anything else:
     * Patroni turns the watchdog off with a warning there, pgha refuses the file (a mistyped
     * {@code requried} must not silently run without the watchdog the operator asked for).
     */
    public static Mode parseMode(Object value) {
        if (value instanceof Boolean b) {
            return b ? null : Mode.OFF;
        }
        if (value == null) {
            return null;
        }
        return switch (value.toString().trim().toLowerCase(Locale.ROOT)) {
            case "off", "false", "no", "disable", "disabled" -> Mode.OFF;
            case "auto", "automatic" -> Mode.AUTOMATIC;
            case "require", "required" -> Mode.REQUIRED;
            default -> null;
        };
    }

    /**
     * {@code driver}: {@code default} or {@code testing}; null for anything else (Patroni falls back
     * to no watchdog there; pgha refuses the file, as for a mistyped mode).
     */
    public static Driver parseDriver(Object value) {
        if (value == null || value instanceof Map || value instanceof List) {
            return null;
        }
        return switch (value.toString().trim().toLowerCase(Locale.ROOT)) {
            case "default" -> Driver.DEFAULT;
            case "testing" -> Driver.TESTING;
            default -> null;
        };
    }

    static String driverError() {
        return "watchdog.driver must be default or testing";
    }

    /** {@code safety_margin}: a whole number, -1 or more; null when it is not. */
    public static Integer parseMargin(Object value) {
        long v;
        if (value instanceof Integer || value instanceof Long) {
            v = ((Number) value).longValue();
        } else if (value instanceof String s && s.trim().matches("-?\\d{1,9}")) {
            v = Long.parseLong(s.trim());
        } else {
            return null;
        }
        return v < -1 || v > Integer.MAX_VALUE ? null : (int) v;
    }

    static String modeError() {
        return "watchdog.mode must be off, automatic or required";
    }

    static String deviceError() {
        return "watchdog.device must be a device path such as /dev/watchdog";
    }

    static String marginError() {
        return "watchdog.safety_margin must be a whole number of seconds, -1 (ttl / 2) or more";
    }

    /** Whether a watchdog is to be used at all. */
    public boolean enabled() {
        return mode != Mode.OFF;
    }

    /** Patroni's watchdog timeout in seconds: {@code ttl - safety_margin}, or {@code ttl // 2} with -1. */
    public int timeoutSeconds(DynamicConfig config) {
        int ttl = (int) config.ttl().toSeconds();
        return safetyMargin == -1 ? ttl / 2 : ttl - safetyMargin;
    }

    /** Patroni's timing slack: the timeout minus loop_wait, in seconds; negative is unsafe. */
    public int timingSlack(DynamicConfig config) {
        return timeoutSeconds(config) - (int) config.loopWait().toSeconds();
    }

    @Override
    public String toString() {
        return "watchdog[mode=" + mode.yamlName() + ", device=" + device + ", safety_margin=" + safetyMargin + "]";
    }
}
