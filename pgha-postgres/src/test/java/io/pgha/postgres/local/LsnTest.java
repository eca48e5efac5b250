package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LsnTest {

    @Test
    void parsesAndFormatsBothWays() {
        assertThat(Lsn.parse("0/3000060")).isEqualTo(0x3000060L);
        assertThat(Lsn.format(0x3000060L)).isEqualTo("0/3000060");
        assertThat(Lsn.parse("16/B374D848")).isEqualTo((0x16L << 32) | 0xB374D848L);
        assertThat(Lsn.format((0x16L << 32) | 0xB374D848L)).isEqualTo("16/B374D848");
        assertThat(Lsn.parse("0/0")).isZero();
        assertThat(Lsn.format(0)).isEqualTo("0/0");
        assertThat(Lsn.parse("FFFFFFFF/FFFFFFFF")).isEqualTo(-1L);
        assertThat(Lsn.format(-1L)).isEqualTo("FFFFFFFF/FFFFFFFF");
        assertThat(Lsn.parse(" 0/03000028 ")).isEqualTo(0x3000028L);
        assertThat(Lsn.parse("a/b")).isEqualTo((10L << 32) | 11);
    }

    @Test
    void rejectsWhatIsNotAnLsn() {
        for (String bad : new String[] {"", "0", "/1", "1/", "x/1", "1/2/3", "123456789/0", "0/123456789"}) {
            assertThatThrownBy(() -> Lsn.parse(bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("not an LSN");
        }
        assertThatThrownBy(() -> Lsn.parse(null)).isInstanceOf(IllegalArgumentException.class);
    }
}
