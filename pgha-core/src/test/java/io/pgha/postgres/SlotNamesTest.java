package io.pgha.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SlotNamesTest {

    @Test
    void sanitizesLikePatroni() {
        assertThat(SlotNames.fromMemberName("node1")).isEqualTo("node1");
        assertThat(SlotNames.fromMemberName("Node-1.Example.COM")).isEqualTo("node_1_example_com");
        assertThat(SlotNames.fromMemberName("a_b")).isEqualTo("a_b");
        assertThat(SlotNames.fromMemberName("a b")).isEqualTo("au0032b");
        assertThat(SlotNames.fromMemberName("pg@1")).isEqualTo("pgu00641");
        assertThat(SlotNames.fromMemberName("é")).isEqualTo("u0233");
    }

    @Test
    void cutsTo63Characters() {
        String name = "x".repeat(80);
        assertThat(SlotNames.fromMemberName(name)).hasSize(63);
        assertThat(SlotNames.isValid(SlotNames.fromMemberName(name))).isTrue();
    }

    @Test
    void sanitizingASlotNameChangesNothing() {
        assertThat(SlotNames.fromMemberName("c_1_example")).isEqualTo("c_1_example");
        assertThat(SlotNames.isValid("c_1_example")).isTrue();
        assertThat(SlotNames.isValid("C-1")).isFalse();
        assertThat(SlotNames.isValid("")).isFalse();
    }

    @Test
    void anEmptyNameIsAnError() {
        assertThatThrownBy(() -> SlotNames.fromMemberName("")).isInstanceOf(IllegalArgumentException.class);
    }
}
