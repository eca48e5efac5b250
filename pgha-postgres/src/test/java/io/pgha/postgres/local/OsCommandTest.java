package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgha.postgres.PostgresException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The command lines of the user's configuration (replica methods, bootstrap methods, post_bootstrap). */
class OsCommandTest {

    @Test
    void aUserCommandIsSplitAsPatroniSplitsItIntoAListThatTakesMoreArguments() throws Exception {
        List<String> words =
                OsCommand.userCommandWords("postgresql.restore.command", "/usr/bin/restore --label='two words'");
        words.add("--scope=demo");
        assertThat(words).containsExactly("/usr/bin/restore", "--label=two words", "--scope=demo");
    }

    @Test
    void aLineThatCannotBeSplitIsAnErrorNamingItsKey() {
        assertThatThrownBy(() -> OsCommand.userCommandWords("bootstrap.post_bootstrap", "setup \"unclosed"))
                .isInstanceOf(PostgresException.class)
                .hasMessage("bootstrap.post_bootstrap: unclosed double quote in: setup \"unclosed");
    }
}
