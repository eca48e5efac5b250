package io.pgha.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return Main.run(
                args,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void usageAndUnknownCommands() {
        assertThat(run()).isEqualTo(2);
        assertThat(err()).contains("usage: pgha <command>");
        assertThat(run("frobnicate")).isEqualTo(2);
        assertThat(err()).contains("unknown command 'frobnicate'");
        assertThat(run("--help")).isZero();
        assertThat(run("version")).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("pgha ");
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Issue 20: every command parses with picocli and has --help (exit 0, on stdout). */
    @Test
    void everyCommandHasHelp() {
        for (String command : new String[] {"run", "demo", "bench", "ctl", "version"}) {
            out.reset();
            assertThat(run("help", command)).as(command).isZero();
            assertThat(out()).as(command).contains("pgha " + command);
        }
        for (String command : new String[] {"run", "demo", "bench", "ctl"}) {
            out.reset();
            assertThat(run(command, "--help")).as(command).isZero();
            assertThat(out()).as(command).containsIgnoringCase("usage: pgha " + command);
        }
        out.reset();
        assertThat(run("bench", "--help")).isZero();
        assertThat(out())
                .contains(
                        "--trials",
                        "--ttl",
                        "--loop-wait",
                        "--retry-timeout",
                        "--idle-seconds",
                        "--interval-ms",
                        "--dcs",
                        "--dir");
        out.reset();
        assertThat(run("demo", "--help")).isZero();
        assertThat(out()).contains("--dir", "--dcs", "--nodes");
        out.reset();
        assertThat(run("--version")).isZero();
        assertThat(out().strip()).isEqualTo("pgha " + Main.version());
    }

    /** A bad value: one line naming it on stderr, exit 2 (click's usage error), nothing started. */
    @Test
    void badValuesAreOneLineUsageErrors(@TempDir Path dir) {
        String[][] cases = {
            {"demo", "--nodes", "three"},
            {"demo", "--nodes", "0"},
            {"demo", "--dcs", "consul"},
            {"demo", "--frobnicate"},
            {"demo", "--dir"},
            {"bench", "--trials", "x"},
            {"bench", "--trials", "-1"},
            {"bench", "--impl", "pgbouncer"},
            {"bench", "--cases", "switchover,earthquake"},
            {"bench", "--ttl", "1"},
            {"bench", "--interval-ms", "-5"},
            {"bench", "--dcs", "memory"},
            {"run"},
            {"run", "a.yml", "b.yml"},
            {"run", "--frobnicate", "a.yml"},
            {"--frobnicate"},
        };
        for (String[] c : cases) {
            err.reset();
            String what = String.join(" ", c);
            assertThat(run(c)).as(what).isEqualTo(2);
            assertThat(err().strip().lines()).as(what + ": " + err()).hasSize(1);
            assertThat(err()).as(what).startsWith("Error: ").contains("--help").doesNotContain("Exception", "\tat ");
        }
        err.reset();
        run("demo", "--nodes", "three");
        assertThat(err()).contains("--nodes", "three");
        err.reset();
        run("bench", "--ttl", "1");
        assertThat(err()).contains("ttl");
        assertThat(dir).isEmptyDirectory();
    }

    @Test
    void runRefusesABrokenFileBeforeStartingAnythingNamingKeyAndLine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("node.yml");
        Files.writeString(file, """
                scope: s
                name: n
                restapi:
                  listen: 127.0.0.1:8008
                etcd3:
                  hosts: 127.0.0.1:1
                postgresql:
                  listen: 127.0.0.1:5432
                  data_dir: [not, a, path]
                """);
        assertThat(run("run", file.toString())).isEqualTo(2);
        assertThat(err()).contains("postgresql.data_dir must be a single value").contains("line 9");
    }

    /** Issue 19 item 4: "authentication:" with nothing under it protects nothing; pgha refuses it. */
    @Test
    void runRefusesAnEmptyRestapiAuthenticationSection(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("node.yml");
        Files.writeString(file, """
                scope: s
                name: n
                restapi:
                  listen: 127.0.0.1:8008
                  authentication:
                memory: {}
                postgresql:
                  listen: 127.0.0.1:5432
                  data_dir: /tmp/pgha-maintest-never-created
                  authentication:
                    superuser: {username: postgres, password: su}
                    replication: {username: replicator, password: re}
                """);
        assertThat(run("run", file.toString())).isEqualTo(2);
        assertThat(err()).contains("restapi.authentication is empty");
        assertThat(err().strip().lines()).hasSize(1);
        assertThat(Path.of("/tmp/pgha-maintest-never-created")).doesNotExist();
    }

    @Test
    void runLocatesAnErrorFoundByAModule(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("node.yml");
        Files.writeString(file, """
                scope: s
                name: n
                restapi:
                  listen: 127.0.0.1:8008
                memory: {}
                postgresql:
                  listen: 127.0.0.1:5432
                  data_dir: /tmp/pgha-maintest-never-created
                  authentication:
                    superuser:
                      username: postgres
                """);
        assertThat(run("run", file.toString())).isEqualTo(2);
        assertThat(err())
                .contains("postgresql.authentication.superuser.password is required")
                .contains("line 10");
        assertThat(Path.of("/tmp/pgha-maintest-never-created")).doesNotExist();
    }

    @Test
    void runNamesAMissingFile() {
        assertThat(run("run", "/nonexistent/node.yml")).isEqualTo(2);
        assertThat(err()).contains("no such file: /nonexistent/node.yml");
    }

    private static final String VALID = """
            scope: s
            name: n
            restapi:
              listen: 127.0.0.1:8008
            memory: {}
            bootstrap:
              dcs:
                ttl: 30
                loop_wait: 10
            postgresql:
              listen: 127.0.0.1:5432
              data_dir: /tmp/pgha-maintest-never-created
              authentication:
                superuser:
                  username: postgres
                  password: pw
                replication:
                  username: replicator
                  password: rpw
            """;

    @Test
    void runRefusesABadBootstrapDcsValueInOneLineWithKeyValueAndLine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("node.yml");
        Files.writeString(file, VALID.replace("ttl: 30", "ttl: \"abc\""));
        assertThat(run("run", file.toString())).isEqualTo(2);
        assertThat(err().lines().toList())
                .containsExactly(
                        "pgha: " + file + ": bootstrap.dcs.ttl must be an integer >= 10, found \"abc\" (line 8)");
        assertThat(Path.of("/tmp/pgha-maintest-never-created")).doesNotExist();
    }

    @Test
    void validateConfigPrintsNothingForAValidFileAndExitsZero(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("node.yml");
        Files.writeString(file, VALID);
        assertThat(run("run", "--validate-config", file.toString())).isZero();
        assertThat(err()).isEmpty();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
        assertThat(Path.of("/tmp/pgha-maintest-never-created")).doesNotExist();
    }

    @Test
    void validateConfigPrintsEachProblemOnALineAndExitsOne(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("node.yml");
        Files.writeString(
                file,
                VALID.replace("ttl: 30", "ttl: \"abc\"").replace("loop_wait: 10", "loop_wait: 0")
                        + "tags:\n  nofailover: maybe\n");
        assertThat(run("run", "--validate-config", file.toString())).isEqualTo(1);
        assertThat(err().lines().toList())
                .containsExactlyInAnyOrder(
                        file + ": bootstrap.dcs.ttl must be an integer >= 10, found \"abc\" (line 8)",
                        file + ": bootstrap.dcs.loop_wait must be an integer >= 1, found 0 (line 9)",
                        file + ": tags.nofailover must be true or false, found a string (line 21)");
    }

    @Test
    void validateConfigReportsWhatAModuleFindsAndWarnings(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("node.yml");
        Files.writeString(file, VALID.replace("      password: pw\n", "") + "frobnicate: 1\n");
        assertThat(run("run", "--validate-config", file.toString())).isEqualTo(1);
        assertThat(err().lines().toList())
                .containsExactly(
                        file + ": warning: unknown key frobnicate (line 19) is ignored",
                        file + ": postgresql.authentication.superuser.password is required"
                                + " (postgresql.authentication.superuser: line 14)");
        assertThat(run("run", "--validate-config", "/nonexistent/node.yml")).isEqualTo(1);
        assertThat(run("run", "--validate-config")).isEqualTo(2);
    }
}
