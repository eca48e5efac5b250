package io.pgha.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The words Python's shlex.split makes of the command lines Patroni's users write. */
class ShellWordsTest {

    @Test
    void splitsAsAShellWithoutExpandingAnything() {
        assertThat(ShellWords.split("/usr/bin/pgbackrest --stanza=main --delta restore"))
                .containsExactly("/usr/bin/pgbackrest", "--stanza=main", "--delta", "restore");
        assertThat(ShellWords.split("  python3 'features/backup restore.py'  --dbname=\"host=a port=5\" $HOME "))
                .containsExactly("python3", "features/backup restore.py", "--dbname=host=a port=5", "$HOME");
        assertThat(ShellWords.split("a\\ b \"x\\\"y\" 'it''s' \"\"")).containsExactly("a b", "x\"y", "its", "");
        assertThat(ShellWords.split("")).isEmpty();
    }

    @Test
    void unclosedQuotesAreErrors() {
        assertThatThrownBy(() -> ShellWords.split("cmd 'open")).hasMessageContaining("single quote");
        assertThatThrownBy(() -> ShellWords.split("cmd \"open")).hasMessageContaining("double quote");
        assertThatThrownBy(() -> ShellWords.split("cmd \\")).hasMessageContaining("backslash");
    }
}
