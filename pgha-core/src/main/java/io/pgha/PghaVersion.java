package io.pgha;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The version of pgha that is running, from one place: the {@code Implementation-Version} of the
 * jar this class was loaded from (the build writes it into every pgha jar's manifest, and into the
 * runner jar's), else {@code io/pgha/pgha-version.properties}, which the build fills in, for classes
 * run without their jar (from {@code target/classes}, in an IDE). Nothing else in the tree spells a
 * version out. Stateless; read once.
 */
public final class PghaVersion {
    /** Returned when neither the manifest nor the version file says (classes compiled by hand). */
    static final String UNKNOWN = "0.0.0-unknown";

    private static final Pattern LEADING_NUMBERS = Pattern.compile("^\\d+(\\.\\d+)*");
    private static final String VERSION = read();

    private PghaVersion() {}

    /** The full version, as built: {@code 0.1.0}, {@code 0.1.0-SNAPSHOT}. */
    public static String version() {
        return VERSION;
    }

    /**
     * The version where Patroni and its tools read one: the {@code version} of the member key and
     * {@code patroni.version} of {@code GET /patroni}. Only its leading numbers ({@code 0.1.0} for
     * {@code 0.1.0-SNAPSHOT}): Patroni parses that field as integers separated by dots, and a field
     * it cannot parse makes a pgha member drop out of what Patroni compares versions for (its
     * cluster's oldest member, which decides whether it still writes the leader's optime key for
     * members older than 2.1). A snapshot build therefore answers as the release it leads to.
     */
    public static String patroniVersion() {
        return patroniVersion(VERSION);
    }

    static String patroniVersion(String version) {
        Matcher m = LEADING_NUMBERS.matcher(version);
        return m.find() ? m.group() : "0";
    }

    private static String read() {
        Package p = PghaVersion.class.getPackage();
        String v = p == null ? null : p.getImplementationVersion();
        return v != null && !v.isBlank() ? v : fromVersionFile();
    }

    static String fromVersionFile() {
        try (InputStream in = PghaVersion.class.getResourceAsStream("pgha-version.properties")) {
            if (in == null) {
                return UNKNOWN;
            }
            Properties props = new Properties();
            props.load(in);
            String v = props.getProperty("version", "").trim();
            // an unfiltered copy (a build that skipped filtering) still says ${project.version}
            return v.isEmpty() || v.startsWith("${") ? UNKNOWN : v;
        } catch (IOException e) {
            return UNKNOWN;
        }
    }
}
