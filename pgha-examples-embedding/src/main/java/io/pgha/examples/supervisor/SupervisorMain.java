package io.pgha.examples.supervisor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CountDownLatch;

/**
 * Runs the custom-supervisor example: {@code SupervisorMain [data-dir] [port]}. Prints the node's
 * role and the actions it took every few seconds; Ctrl-C stops it (and PostgreSQL).
 */
public final class SupervisorMain {
    private SupervisorMain() {}

    public static void main(String[] args) throws Exception {
        Path base = args.length > 0
                ? Path.of(args[0])
                : Files.createTempDirectory(
                        "pgha-supervisor-",
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        int port = args.length > 1 ? Integer.parseInt(args[1]) : 54329;
        Supervisor supervisor = Supervisor.start("node1", base.resolve("data"), port);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            supervisor.close();
                            stopped.countDown();
                        },
                        "supervisor-shutdown"));
        System.out.println(
                "supervising node1, data in " + base + ", PostgreSQL on 127.0.0.1:" + port + " (Ctrl-C stops)");
        while (stopped.getCount() > 0) {
            System.out.println("role=" + supervisor.node().state().role() + " state="
                    + supervisor.node().state().postgres().state() + " actions="
                    + supervisor.postgres().actions());
            stopped.await(5, java.util.concurrent.TimeUnit.SECONDS);
        }
    }
}
