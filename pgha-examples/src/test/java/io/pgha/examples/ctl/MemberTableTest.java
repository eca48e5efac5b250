package io.pgha.examples.ctl;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.dcs.ClusterState;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** {@code pgha ctl list} prints DCS-sourced strings with their control characters escaped. */
class MemberTableTest {

    private static final String ESC = "\u001b";

    private static ClusterState hostile() {
        String name = "pg1" + ESC + "[2J" + ESC + "]0;owned\u0007";
        String member = "{\"conn_url\":\"postgres://10.0.0.1:5432/postgres\",\"state\":\"running" + "\\u001b[31m"
                + "\\r\\nfake line\",\"role\":\"replica\",\"timeline\":\"1\\u001b[5m\","
                + "\"tags\":{\"note\":\"a\\u001b[8mhidden\\u202e\"},"
                + "\"scheduled_restart\":{\"schedule\":\"2026-12-03T10:00:00+00:00\\u009b1m\"}}";
        return ClusterState.builder("batman")
                .initialize("7000000000000000001", 1)
                .member(name, member, 1)
                .build();
    }

    private static String print(String fmt) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        MemberTable.print(new PrintStream(bytes, true, StandardCharsets.UTF_8), hostile(), "batman", true, fmt);
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void tablesAndTsvShowNoRawControlCharacters() {
        for (String fmt : new String[] {"pretty", "topology", "tsv"}) {
            String out = print(fmt);
            assertThat(out).as(fmt).doesNotContain(ESC, "\u0007", "\r", "\u009b", "\u202e");
            assertThat(out).as(fmt).contains("pg1\\e[2J\\e]0;owned\\u0007").contains("running\\e[31m\\r\\nfake line");
            assertThat(out.lines().filter(l -> l.startsWith("fake line")))
                    .as(fmt)
                    .isEmpty();
        }
    }

    @Test
    void jsonAndYamlEscapeByThemselves() {
        assertThat(print("json")).doesNotContain(ESC).contains("\\u001B[2J");
        assertThat(print("yaml")).doesNotContain(ESC);
    }

    @Test
    void visibleEscapesWhatATerminalWouldInterpret() {
        assertThat(Output.visible("a\\b\te\u001b[0m\u0000\u007f\u0085\u200f", false))
                .isEqualTo("a\\\\b\\te\\e[0m\\u0000\\u007f\\u0085\\u200f");
        assertThat(Output.visible("line1\nline2", true)).isEqualTo("line1\nline2");
        assertThat(Output.visible("line1\nline2", false)).isEqualTo("line1\\nline2");
        assertThat(Output.visible("plain ünïcode 🙂", false)).isEqualTo("plain ünïcode 🙂");
    }
}
