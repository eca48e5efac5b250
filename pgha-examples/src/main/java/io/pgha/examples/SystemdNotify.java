package io.pgha.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * systemd's readiness protocol for a unit with {@code Type=notify} (and {@code NotifyAccess=all}):
 * when the service manager set {@code NOTIFY_SOCKET}, the runner tells it it is ready once the
 * member runs, and that it is stopping when it shuts down. The JDK cannot send the datagram on a
 * Unix socket itself, so {@code systemd-notify --no-block} does. Outside systemd nothing happens.
 */
final class SystemdNotify {

    private static final List<Path> BINARIES =
            List.of(Path.of("/usr/bin/systemd-notify"), Path.of("/bin/systemd-notify"));

    private SystemdNotify() {}

    /** READY=1 with a status line; false when not under systemd or when it could not be sent. */
    static boolean ready(Map<String, String> env, String status) {
        return send(env, List.of("--ready", "--status=" + status.replace('\n', ' ')));
    }

    /** STOPPING=1: the runner is shutting down (the member stops PostgreSQL first). */
    static boolean stopping(Map<String, String> env) {
        return send(env, List.of("STOPPING=1"));
    }

    private static boolean send(Map<String, String> env, List<String> args) {
        String socket = env.get("NOTIFY_SOCKET");
        if (socket == null || socket.isEmpty()) {
            return false;
        }
        Path bin = BINARIES.stream().filter(Files::isExecutable).findFirst().orElse(null);
        if (bin == null) {
            System.err.println("pgha: NOTIFY_SOCKET is set but systemd-notify is missing: cannot signal readiness");
            return false;
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(bin.toString());
        cmd.add("--no-block");
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("NOTIFY_SOCKET", socket);
        try {
            Process p = pb.start();
            p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            System.err.println("pgha: cannot run " + bin + ": " + e.getMessage());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
