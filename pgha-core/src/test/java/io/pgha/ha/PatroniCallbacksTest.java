package io.pgha.ha;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How a callback's command line becomes its arguments: split as Patroni's shlex.split splits it. */
class PatroniCallbacksTest {

    @Test
    void quotedWordsStayOneArgumentAndNothingIsExpanded(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("args.txt");
        Path script = dir.resolve("call back.sh"); // a space in the path: quoted on the command line
        Files.writeString(script, "#!/bin/sh\nfor a in \"$@\"; do echo \"<$a>\" >> '" + out + "'; done\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        PatroniCallbacks callbacks = new PatroniCallbacks(
                Map.of("on_start", "'" + script + "' --label=\"two words\" it\\'s $HOME"), "demo", 10);

        assertThat(callbacks.run("on_start", "replica")).isZero();

        assertThat(Files.readAllLines(out))
                .containsExactly("<--label=two words>", "<it's>", "<$HOME>", "<on_start>", "<replica>", "<demo>");
    }

    @Test
    void aCommandLineThatCannotBeSplitIsAClearErrorNamingTheCallback() {
        assertThatThrownBy(() -> new PatroniCallbacks(Map.of("on_role_change", "notify 'unclosed"), "demo", 5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("postgresql.callbacks.on_role_change")
                .hasMessageContaining("unclosed single quote");
    }

    @Test
    void reconfigureRunsTheNewCommandsFromTheNextEventAndKeepsTheOldOnesWhenTheNewOnesAreBad(@TempDir Path dir)
            throws Exception {
        Path out = dir.resolve("calls.txt");
        Path first = script(dir, "first.sh", out);
        Path second = script(dir, "second.sh", out);
        PatroniCallbacks callbacks = new PatroniCallbacks(Map.of("on_restart", first.toString()), "demo", 10);

        assertThat(callbacks.reconfigure(Map.of("on_restart", second.toString())))
                .isTrue();
        assertThat(callbacks.reconfigure(Map.of("on_restart", second.toString())))
                .isFalse();
        callbacks.postgresRestarted("replica");
        assertThatThrownBy(() -> callbacks.reconfigure(Map.of("on_restart", "'unclosed")))
                .hasMessageContaining("postgresql.callbacks.on_restart");
        callbacks.postgresRestarted("replica");
        assertThat(callbacks.reconfigure(Map.of())).isTrue();
        callbacks.postgresRestarted("replica");

        assertThat(Files.readAllLines(out)).containsExactly("second.sh on_restart", "second.sh on_restart");
    }

    private static Path script(Path dir, String name, Path out) throws Exception {
        Path script = dir.resolve(name);
        Files.writeString(script, "#!/bin/sh\necho \"$(basename \"$0\") $1\" >> '" + out + "'\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        return script;
    }
}
