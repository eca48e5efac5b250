package io.pgha.examples.ctl;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The config file and the command line: clear one-line errors, no DCS touched. */
class CtlConfigTest {
    @TempDir
    Path dir;

    private CtlRunner.Result run(String yaml, String... args) throws Exception {
        Path file = dir.resolve("ctl.yaml");
        Files.writeString(file, yaml);
        return new CtlRunner(file).run(args);
    }

    @Test
    void aBrokenConfigFileNamesTheLine() throws Exception {
        CtlRunner.Result r = run("scope: demo\nmemory:\n  store: x\n  bad: [unclosed\nother: 1\n", "list");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err().strip())
                .startsWith("Error: config file ")
                .contains("is not valid YAML at line 5")
                .doesNotContain("\n");
        assertThat(r.out()).isEmpty();

        CtlRunner.Result tabs = run("scope: demo\n\tmemory: {}\n", "list");
        assertThat(tabs.exitCode()).isEqualTo(1);
        assertThat(tabs.err()).contains("at line 2, column 1");
    }

    @Test
    void wrongShapesAreNamed() throws Exception {
        assertThat(run("- a\n- b\n", "list").err()).contains("must be a YAML mapping");
        assertThat(run("scope: demo\nmemory: store\n", "list").err())
                .contains("'memory' in config file")
                .contains("must be a mapping");
        assertThat(run("scope: demo\n", "list").err()).contains("no DCS configured");
        assertThat(run("memory:\n  store: x\n", "list").err()).contains("no cluster name");
        assertThat(run("scope: demo\nmemory:\n  nosuch: 1\n", "list").err()).contains("unknown option 'nosuch'");
    }

    @Test
    void aMissingExplicitConfigFileIsAnError() {
        CtlRunner.Result r = new CtlRunner(dir.resolve("nope.yaml")).run("list");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("nope.yaml does not exist or is not readable");
    }

    @Test
    void dcsUrlOverridesTheConfigFile() {
        CtlConfig c = CtlConfig.parse("t", "scope: demo\nmemory:\n  store: a\n", "etcd3://10.0.0.1:2380/ns", false);
        assertThat(c.dcsType()).isEqualTo("etcd3");
        assertThat(c.dcsOptions()).containsEntry("host", "10.0.0.1:2380");
        assertThat(c.namespace()).isEqualTo("/ns");
        assertThat(CtlConfig.parse("t", "", "zookeeper://zk", false).dcsOptions())
                .containsEntry("hosts", java.util.List.of("zk:2181"));
        assertThat(CtlConfig.parse("t", "", "consul://c", false).dcsOptions()).containsEntry("host", "c:8500");
        assertThat(CtlConfig.parse("t", "", "memory://demo", false).dcsOptions())
                .containsEntry("store", "demo");
        assertThat(CtlConfig.parse("t", "", "10.0.0.2:2181", false).dcsType()).isEqualTo("zookeeper");
        assertThat(CtlConfig.parse("t", "", "10.0.0.2", false).dcsType()).isEqualTo("etcd3");
        CtlRunner.Result r = new CtlRunner(null).run("--dcs-url", "redis://x", "list", "demo");
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.err()).contains("unknown DCS scheme 'redis'");
    }

    @Test
    void credentialsComeFromCtlThenRestapi() {
        CtlConfig ctl = CtlConfig.parse("t", """
                ctl:
                  authentication:
                    username: a
                    password: b
                restapi:
                  authentication:
                    username: c
                    password: d
                """, null, false);
        assertThat(ctl.username()).isEqualTo("a");
        CtlConfig rest =
                CtlConfig.parse("t", "restapi:\n  authentication:\n    username: c\n    password: d\n", null, false);
        assertThat(rest.username()).isEqualTo("c");
        assertThat(rest.password()).isEqualTo("d");
    }

    @Test
    void usageErrorsExitWithTwo() throws Exception {
        CtlRunner.Result r = run("scope: demo\nmemory:\n  store: x\n", "list", "--nosuch");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err().strip()).contains("Unknown option: '--nosuch'").doesNotContain("\n");
        CtlRunner.Result fmt = run("scope: demo\nmemory:\n  store: x\n", "list", "-f", "xml");
        assertThat(fmt.exitCode()).isEqualTo(2);
        assertThat(fmt.err()).contains("unknown format 'xml'");
        CtlRunner.Result help = run("", "--help");
        assertThat(help.exitCode()).isZero();
        assertThat(help.out()).contains("switchover").contains("edit-config");
        CtlRunner.Result verbHelp = run("", "switchover", "--help");
        assertThat(verbHelp.exitCode()).isZero();
        assertThat(verbHelp.out()).contains("--candidate=NAME").contains("--scheduled=TIME");
        CtlRunner.Result version = run("", "version");
        assertThat(version.out()).startsWith("pgha ctl version ");
    }
}
