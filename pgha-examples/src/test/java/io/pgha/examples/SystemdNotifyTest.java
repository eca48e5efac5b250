package io.pgha.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The readiness datagram reaches a NOTIFY_SOCKET as systemd would read it: a Unix datagram socket
 * bound by Debian's python3 stands in for the service manager (no systemd runs here).
 */
class SystemdNotifyTest {

    @Test
    void outsideSystemdNothingIsSent() {
        assertThat(SystemdNotify.ready(Map.of(), "x")).isFalse();
    }

    @Test
    void readyAndStoppingReachTheNotifySocket(@TempDir Path tmp) throws Exception {
        assumeTrue(
                Files.isExecutable(Path.of("/usr/bin/systemd-notify"))
                        && Files.isExecutable(Path.of("/usr/bin/python3")),
                "systemd-notify or python3 is missing (skipped)");
        Path socket = tmp.resolve("notify.sock");
        Path received = tmp.resolve("received");
        Process listener = new ProcessBuilder(
                        "/usr/bin/python3",
                        "-c",
                        "import socket,sys\n"
                                + "s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(20)\n"
                                + "out=open(sys.argv[2],'w')\n"
                                + "for i in range(2):\n"
                                + "  out.write(s.recv(4096).decode()+'|'); out.flush()\n",
                        socket.toString(),
                        received.toString())
                .redirectErrorStream(true)
                .start();
        try {
            for (int i = 0; i < 100 && !Files.exists(socket); i++) {
                Thread.sleep(50);
            }
            Map<String, String> env = Map.of("NOTIFY_SOCKET", socket.toString());
            SystemdNotify.ready(env, "member pg0 of cluster demo running");
            SystemdNotify.stopping(env);
            assertThat(listener.waitFor(20, TimeUnit.SECONDS)).isTrue();
            assertThat(Files.readString(received, StandardCharsets.UTF_8))
                    .contains("READY=1")
                    .contains("STATUS=member pg0 of cluster demo running")
                    .contains("STOPPING=1");
        } finally {
            listener.destroyForcibly();
        }
    }
}
