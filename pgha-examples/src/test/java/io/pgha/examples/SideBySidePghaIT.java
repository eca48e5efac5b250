package io.pgha.examples;

/** The differential scenarios run by Pgha run: a failure here that passes on Patroni is a pgha bug. */
class SideBySidePghaIT extends SideBySideScenarios {
    @Override
    SideBySide.Implementation implementation() {
        return SideBySide.Implementation.PGHA;
    }
}
