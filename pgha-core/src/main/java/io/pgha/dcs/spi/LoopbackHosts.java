package io.pgha.dcs.spi;

import java.util.Locale;

/**
 * Whether a DCS host names this machine's loopback interface, for the adapters' warning about
 * credentials sent over plain http: a token or password that never leaves the machine cannot be
 * read on the network path.
 *
 * <p>Only literal names count ({@code localhost}, {@code 127.0.0.0/8}, {@code ::1} with or
 * without brackets, in any case): nothing is looked up, so the answer never waits on a resolver
 * and a name that some resolver maps to loopback still gets the warning.
 */
public final class LoopbackHosts {

    private LoopbackHosts() {}

    /** Whether {@code host} (null allowed, surrounding white space ignored) is a literal loopback host. */
    public static boolean isLoopback(String host) {
        String h = host == null ? "" : host.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        return h.equals("localhost")
                || h.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}")
                || h.equals("::1")
                || h.equals("0:0:0:0:0:0:0:1");
    }
}
