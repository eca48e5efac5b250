package io.pgha.examples;

/** The differential scenarios run by Patroni 3.0.2 (Debian's package): the reference; a failure here is a wrong test. */
class SideBySidePatroniIT extends SideBySideScenarios {
    @Override
    SideBySide.Implementation implementation() {
        return SideBySide.Implementation.PATRONI;
    }
}
