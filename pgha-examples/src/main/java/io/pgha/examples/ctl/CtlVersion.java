package io.pgha.examples.ctl;

import io.pgha.PghaVersion;
import picocli.CommandLine.IVersionProvider;

/** The version {@code pgha ctl --version} and {@code pgha ctl version} print. */
final class CtlVersion implements IVersionProvider {
    static String version() {
        return PghaVersion.version();
    }

    @Override
    public String[] getVersion() {
        return new String[] {"pgha ctl version " + version()};
    }
}
