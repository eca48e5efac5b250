package io.pgha.dcs.spi;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The hosts whose credentials over plain http draw no warning from the DCS adapters. */
class LoopbackHostsTest {

    @Test
    void literalLoopbackNamesAndAddresses() {
        assertThat(LoopbackHosts.isLoopback("localhost")).isTrue();
        assertThat(LoopbackHosts.isLoopback(" LocalHost ")).isTrue();
        assertThat(LoopbackHosts.isLoopback("127.0.0.1")).isTrue();
        assertThat(LoopbackHosts.isLoopback("127.10.20.30")).isTrue();
        assertThat(LoopbackHosts.isLoopback("::1")).isTrue();
        assertThat(LoopbackHosts.isLoopback("[::1]")).isTrue();
        assertThat(LoopbackHosts.isLoopback("0:0:0:0:0:0:0:1")).isTrue();
    }

    @Test
    void anythingElseIsNotLoopbackAndNothingIsLookedUp() {
        assertThat(LoopbackHosts.isLoopback(null)).isFalse();
        assertThat(LoopbackHosts.isLoopback("")).isFalse();
        assertThat(LoopbackHosts.isLoopback("10.0.0.1")).isFalse();
        assertThat(LoopbackHosts.isLoopback("127.0.0.1.example.com")).isFalse();
        assertThat(LoopbackHosts.isLoopback("128.0.0.1")).isFalse();
        assertThat(LoopbackHosts.isLoopback("::2")).isFalse();
        // a name is not resolved, even one that would resolve to loopback
        assertThat(LoopbackHosts.isLoopback("ip6-localhost")).isFalse();
    }
}
