package io.pgha.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DynamicConfigFallbackTest {

    @Test
    void aBadValueKeepsThePreviousConfigsValueOfThatKeyNotTheDefault() {
        DynamicConfig previous = DynamicConfig.from(Map.of("ttl", 20, "loop_wait", 2, "retry_timeout", 3));
        List<String> rejected = new ArrayList<>();
        Map<String, Object> raw = new LinkedHashMap<>();
        raw.put("ttl", "abc");
        raw.put("loop_wait", 0);
        raw.put("retry_timeout", 4);
        DynamicConfig next = DynamicConfig.from(raw, previous, p -> rejected.add(p.message()));
        assertThat(next.ttl()).isEqualTo(Duration.ofSeconds(20));
        assertThat(next.loopWait()).isEqualTo(Duration.ofSeconds(2));
        assertThat(next.retryTimeout()).isEqualTo(Duration.ofSeconds(4)); // the good value is taken
        assertThat(rejected)
                .containsExactly(
                        "ttl must be an integer >= 10, found \"abc\"", "loop_wait must be an integer >= 1, found 0");
        assertThat(raw).containsEntry("ttl", "abc"); // the caller's map is not touched
    }

    @Test
    void aKeyWithoutAPreviousValueFallsBackToTheDefault() {
        DynamicConfig next = DynamicConfig.from(Map.of("ttl", "abc"), DynamicConfig.DEFAULTS, p -> {});
        assertThat(next.ttl()).isEqualTo(Duration.ofSeconds(DynamicConfig.DEFAULT_TTL));
        assertThat(next.raw()).doesNotContainKey("ttl");
        assertThat(DynamicConfig.from(Map.of("ttl", "abc"), null, p -> {}).ttl())
                .isEqualTo(Duration.ofSeconds(DynamicConfig.DEFAULT_TTL));
    }

    @Test
    void nestedKeysFallBackOneByOne() {
        DynamicConfig previous =
                DynamicConfig.from(Map.of("postgresql", Map.of("use_pg_rewind", false, "use_slots", false)));
        Map<String, Object> raw =
                Map.of("postgresql", Map.of("use_pg_rewind", "sometimes", "use_slots", true, "parameters", Map.of()));
        DynamicConfig next = DynamicConfig.from(raw, previous, p -> {});
        assertThat(next.usePgRewind()).isFalse();
        assertThat(next.useSlots()).isTrue();
        // a whole section of the wrong type: the previous section
        assertThat(DynamicConfig.from(Map.of("postgresql", "x"), previous, p -> {})
                        .useSlots())
                .isFalse();
    }

    @Test
    void aValidConfigIsTakenAsItIs() {
        Map<String, Object> raw = Map.of("ttl", 40, "loop_wait", 5);
        List<String> rejected = new ArrayList<>();
        DynamicConfig next = DynamicConfig.from(raw, DynamicConfig.DEFAULTS, p -> rejected.add(p.key()));
        assertThat(next.raw()).isEqualTo(raw);
        assertThat(rejected).isEmpty();
    }
}
