package io.pgha;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PghaVersionTest {
    /** The build's version, passed by surefire (pgha-parent's pom). */
    private static final String BUILT = System.getProperty("pgha.project.version");

    @Test
    void theVersionIsTheBuildsWhetherReadFromTheManifestOrTheVersionFile() {
        assertThat(BUILT).as("surefire passes pgha.project.version").isNotBlank();
        assertThat(PghaVersion.version()).isEqualTo(BUILT);
        // the fallback for classes run without their jar, which is what a test in this module runs on
        assertThat(PghaVersion.fromVersionFile()).isEqualTo(BUILT);
    }

    @Test
    void patroniReadsOnlyTheLeadingNumbers() {
        assertThat(PghaVersion.patroniVersion("0.1.0-SNAPSHOT")).isEqualTo("0.1.0");
        assertThat(PghaVersion.patroniVersion("1.2.3")).isEqualTo("1.2.3");
        assertThat(PghaVersion.patroniVersion("2.0.0-rc.1")).isEqualTo("2.0.0");
        assertThat(PghaVersion.patroniVersion("3")).isEqualTo("3");
        assertThat(PghaVersion.patroniVersion(PghaVersion.UNKNOWN)).isEqualTo("0.0.0");
        assertThat(PghaVersion.patroniVersion("garbage")).isEqualTo("0");
        assertThat(PghaVersion.patroniVersion()).matches("\\d+(\\.\\d+)*");
        assertThat(BUILT).startsWith(PghaVersion.patroniVersion());
    }
}
