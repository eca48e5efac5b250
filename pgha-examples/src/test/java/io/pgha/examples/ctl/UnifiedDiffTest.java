package io.pgha.examples.ctl;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UnifiedDiffTest {
    @Test
    void matchesDifflibsUnifiedFormat() {
        // six equal lines between two changes stay in one hunk (difflib splits at more than 2 * 3)
        String a = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n";
        String b = "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\n";
        assertThat(UnifiedDiff.diff(a, b))
                .containsExactly(
                        "---",
                        "+++",
                        "@@ -1,10 +1,11 @@",
                        " a",
                        " b",
                        " c",
                        "-d",
                        "+D",
                        " e",
                        " f",
                        " g",
                        " h",
                        " i",
                        " j",
                        "+k");
        // seven split it: outputs checked against Python's difflib.unified_diff
        String a2 = a + "k\n";
        String b2 = "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\nL\n";
        assertThat(UnifiedDiff.diff(a2, b2))
                .containsExactly(
                        "---",
                        "+++",
                        "@@ -1,7 +1,7 @@",
                        " a",
                        " b",
                        " c",
                        "-d",
                        "+D",
                        " e",
                        " f",
                        " g",
                        "@@ -9,3 +9,4 @@",
                        " i",
                        " j",
                        " k",
                        "+L");
        assertThat(UnifiedDiff.diff(a, a)).isEmpty();
        assertThat(UnifiedDiff.diff("x\n", "y\n")).containsExactly("---", "+++", "@@ -1 +1 @@", "-x", "+y");
        assertThat(UnifiedDiff.diff("", "y\n")).containsExactly("---", "+++", "@@ -0,0 +1 @@", "+y");
    }

    @Test
    void setPathsKeepGucDotsAndDeleteEmptyParents() {
        Map<String, Object> config = Map.of("postgresql", Map.of("parameters", Map.of("a", 1)), "ttl", 30);
        Map<String, Object> changed = ConfigEdit.applyPairs(
                config, List.of("postgresql.parameters.a=", "postgresql.parameters.x.y=on", "ttl=null", "loop_wait=5"));
        assertThat(changed).doesNotContainKey("ttl").containsEntry("loop_wait", 5);
        assertThat(changed.get("postgresql")).isEqualTo(Map.of("parameters", Map.of("x.y", true)));
        assertThat(config).containsEntry("ttl", 30); // the input is untouched
        Map<String, Object> merged =
                ConfigEdit.merge(config, Map.of("postgresql", Map.of("parameters", Map.of("b", 2))));
        assertThat(merged.get("postgresql")).isEqualTo(Map.of("parameters", Map.of("a", 1, "b", 2)));
    }
}
