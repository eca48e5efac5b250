package io.pgha.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 19 items 3 and 4: where the runner puts the fence's directory; its warning on open writes. */
class NodeRunnerSafetyTest {

    @Test
    void asRootUnderRunWhereNoOtherUserCanMakeItFirst() {
        assertThat(NodeRunner.fenceDir("demo", "m1", true)).isEqualTo(Path.of("/run/pgha/pgha-fence-demo-m1"));
    }

    @Test
    void otherwiseUnderTheUsersRuntimeDirectoryThenTheTempDirectory(@TempDir Path xdg) {
        assertThat(NodeRunner.fenceDir("demo", "m1", false, xdg.toString()))
                .isEqualTo(xdg.resolve("pgha-fence-demo-m1"));
        assertThat(NodeRunner.fenceDir("demo", "m1", false, null, xdg.toString()))
                .isEqualTo(xdg.resolve("pgha-fence-demo-m1"));
        assertThat(NodeRunner.fenceDir("demo", "m1", false, xdg + ":/elsewhere", "/nonexistent"))
                .isEqualTo(xdg.resolve("pgha-fence-demo-m1"));
        assertThat(NodeRunner.fenceDir("demo", "m1", false, null, null))
                .isEqualTo(Path.of(System.getProperty("java.io.tmpdir"), "pgha-fence-demo-m1"));
    }

    @Test
    void scopeAndNameCannotLeadOutOfTheDirectory() {
        Path dir = NodeRunner.fenceDir("../../etc", "a/b", true);
        assertThat(dir.getParent()).isEqualTo(Path.of("/run/pgha"));
        assertThat(dir.getFileName().toString()).doesNotContain("/");
    }
}
