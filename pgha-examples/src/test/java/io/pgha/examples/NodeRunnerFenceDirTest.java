package io.pgha.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 19 item 3: where the runner puts the fence's directory. */
class NodeRunnerFenceDirTest {

    @Test
    void asRootUnderRunWhereNoOtherUserCanMakeItFirst() {
        assertThat(NodeRunner.fenceDir("demo", "m1", true, null)).isEqualTo(Path.of("/run/pgha/pgha-fence-demo-m1"));
    }

    @Test
    void otherwiseUnderTheUsersRuntimeDirectoryThenTheTempDirectory(@TempDir Path xdg) {
        assertThat(NodeRunner.fenceDir("demo", "m1", false, xdg.toString()))
                .isEqualTo(xdg.resolve("pgha-fence-demo-m1"));
        assertThat(NodeRunner.fenceDir("demo", "m1", false, null))
                .isEqualTo(Path.of(System.getProperty("java.io.tmpdir"), "pgha-fence-demo-m1"));
    }

    @Test
    void scopeAndNameCannotLeadOutOfTheDirectory() {
        Path dir = NodeRunner.fenceDir("../../etc", "a/b", true, null);
        assertThat(dir.getParent()).isEqualTo(Path.of("/run/pgha"));
        assertThat(dir.getFileName().toString()).doesNotContain("/");
    }
}
