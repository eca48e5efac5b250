package io.pgha.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;

/**
 * The runner jar as packaged (an IT because the shade plugin builds it after the unit tests): the
 * version {@code pgha --version} prints comes from its manifest, and it passes on pgha's licence
 * and the notices of the libraries it bundles (NOTICE at the root of the tree). Reads the jar only.
 */
class RunnerJarIT {
    private static final String BUILT = System.getProperty("pgha.project.version");

    @Test
    void theRunnerJarCarriesItsVersionLicenceAndNotices() throws IOException {
        Path jar = Path.of("target/pgha.jar");
        assertThat(jar).as("the package phase builds it").exists();
        try (JarFile f = new JarFile(jar.toFile())) {
            Attributes main = f.getManifest().getMainAttributes();
            assertThat(main.getValue("Main-Class")).isEqualTo("io.pgha.examples.Main");
            assertThat(main.getValue("Implementation-Version")).isEqualTo(BUILT);
            assertThat(main.getValue("Automatic-Module-Name")).isEqualTo("io.pgha.runner");
            assertThat(read(f, "META-INF/LICENSE")).contains("Apache License", "Version 2.0, January 2004");
            // merged from every bundled NOTICE: pgha's and, e.g., Curator's and Jackson's
            assertThat(read(f, "META-INF/NOTICE"))
                    .contains(
                            Files.readString(Path.of(System.getProperty("pgha.root", ".."), "NOTICE"))
                                    .lines()
                                    .skip(1) // "Copyright ... The pgha authors"
                                    .findFirst()
                                    .orElseThrow(),
                            "Curator Framework",
                            "Jackson");
        }
    }

    /**
     * Issue 20: no test library in the runner (the demo's ZooKeeper is ZooKeeper's own server) and
     * no netty-tcnative OpenSSL builds (ZooKeeper's TLS here is the JDK's); the ZooKeeper server
     * classes the demo needs are there.
     */
    @Test
    void theRunnerJarHoldsNoTestLibraryAndNoTcnativeBuilds() throws IOException {
        try (JarFile f = new JarFile(Path.of("target/pgha.jar").toFile())) {
            java.util.List<String> names = f.stream().map(ZipEntry::getName).toList();
            assertThat(names).noneMatch(n -> n.startsWith("org/apache/curator/test/"));
            assertThat(names).noneMatch(n -> n.contains("netty_tcnative"));
            assertThat(names).contains("org/apache/zookeeper/server/ZooKeeperServer.class");
        }
    }

    private static String read(JarFile f, String name) throws IOException {
        ZipEntry e = f.getEntry(name);
        assertThat(e).as(name).isNotNull();
        try (InputStream in = f.getInputStream(e)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
