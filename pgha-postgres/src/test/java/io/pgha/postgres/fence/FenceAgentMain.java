package io.pgha.postgres.fence;

import io.pgha.config.WatchdogConfig;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A stand-in for the pgha agent in its own JVM, for {@link ShellFenceIT}: it arms a {@link ShellFence}
 * every 500 ms with a deadline of {@code args[2]} ms, as a leader renewing its lock does, and prints
 * "fed" after the first arm. The test kills it (kill -9) or freezes it (SIGSTOP). With a fourth
 * argument, the fence also drives a watchdog at that path: a stand-in device (a regular file) whose
 * timeout is "set" by a stand-in for wdctl that touches nothing; never a real watchdog device.
 */
public final class FenceAgentMain {
    private FenceAgentMain() {}

    public static void main(String[] args) throws Exception {
        ShellFence fence = args.length > 3
                ? new ShellFence(
                        Path.of(args[0]),
                        Path.of(args[1]),
                        new WatchdogConfig(WatchdogConfig.Mode.REQUIRED, args[3], 5),
                        (device, seconds) -> seconds)
                : new ShellFence(Path.of(args[0]), Path.of(args[1]));
        Duration within = Duration.ofMillis(Long.parseLong(args[2]));
        boolean first = true;
        while (true) {
            fence.arm(within);
            if (first) {
                System.out.println("fed " + fence.pid());
                System.out.flush();
                first = false;
            }
            Thread.sleep(500);
        }
    }
}
