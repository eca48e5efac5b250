package io.pgha.postgres.fence;

import java.io.IOException;

/**
 * Sets a watchdog device's timeout. Linux does it with an ioctl ({@code WDIOC_SETTIMEOUT}) that
 * neither bash nor Java 17 can issue; {@link WdctlTimeout} runs util-linux's {@code wdctl}. Called
 * only while the fence does not hold the device open (a watchdog device admits one opener).
 */
interface WatchdogTimeout {

    /**
     * Sets the timeout of a watchdog device.
     *
     * @param device the device path
     * @param seconds the timeout wanted
     * @return the timeout in force afterwards (the driver may round it), in seconds
     * @throws IOException why the timeout is neither set nor known
     */
    int set(String device, int seconds) throws IOException;
}
