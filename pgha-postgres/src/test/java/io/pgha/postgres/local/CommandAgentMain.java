package io.pgha.postgres.local;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A JVM that runs one command the way the controller runs its tools, for {@link OsCommandIT}:
 * arguments are the OS user to run it as (when root), a PGPASSFILE (or "-") and the command. It
 * prints "running" and then waits for the command; the test kills it (-9) meanwhile.
 */
public final class CommandAgentMain {
    private CommandAgentMain() {}

    public static void main(String[] args) throws Exception {
        OsCommand exec = OsCommand.forUser(args[0]);
        Map<String, String> env = "-".equals(args[1]) ? Map.of() : Map.of("PGPASSFILE", args[1]);
        List<String> command = Arrays.asList(args).subList(2, args.length);
        System.out.println("running");
        System.out.flush();
        OsCommand.Result r = exec.run(command, Duration.ofHours(1), env);
        System.out.println("exited " + r.exitCode() + ": " + r.tail());
    }
}
