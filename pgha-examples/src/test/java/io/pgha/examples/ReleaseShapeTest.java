package io.pgha.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.PghaVersion;
import io.pgha.dcs.consul.ConsulDcsProvider;
import io.pgha.dcs.etcd.EtcdDcsProvider;
import io.pgha.dcs.zookeeper.ZooKeeperDcsProvider;
import io.pgha.postgres.local.LocalPostgresController;
import java.io.IOException;
import java.lang.module.ModuleDescriptor;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * What a team adopting pgha relies on (issue 20): every library jar names its module and its
 * version in its manifest and carries the licence, the version the code reports is the build's,
 * and the BOM lists every published module. The runner's tests see the other modules as jars when
 * the reactor got as far as packaging them ({@code mvn verify}, ./scripts/test), as class
 * directories otherwise ({@code mvn test}), where only the version file can be checked.
 */
class ReleaseShapeTest {
    private static final String BUILT = System.getProperty("pgha.project.version");
    private static final Path ROOT = Path.of(System.getProperty("pgha.root", ".."));

    /** A class of each library module, and the module name its jar declares. */
    private static final Map<Class<?>, String> MODULES = new LinkedHashMap<>();

    static {
        MODULES.put(PghaVersion.class, "io.pgha.core");
        MODULES.put(LocalPostgresController.class, "io.pgha.postgres");
        MODULES.put(io.pgha.backup.BackupConfig.class, "io.pgha.backup");
        MODULES.put(EtcdDcsProvider.class, "io.pgha.dcs.etcd");
        MODULES.put(ZooKeeperDcsProvider.class, "io.pgha.dcs.zookeeper");
        MODULES.put(ConsulDcsProvider.class, "io.pgha.dcs.consul");
    }

    @Test
    void theRunnerReportsTheBuildsVersion() {
        assertThat(Main.version()).isEqualTo(BUILT).isEqualTo(PghaVersion.version());
    }

    @Test
    void everyLibraryJarNamesItsModuleVersionAndLicence() throws IOException, URISyntaxException {
        for (Map.Entry<Class<?>, String> e : MODULES.entrySet()) {
            Path where = Path.of(e.getKey()
                    .getProtectionDomain()
                    .getCodeSource()
                    .getLocation()
                    .toURI());
            String name = e.getValue();
            // a valid module name: newAutomaticModule throws on anything else
            assertThat(ModuleDescriptor.newAutomaticModule(name).build().name()).isEqualTo(name);
            if (Files.isDirectory(where)) {
                // run on target/classes: no manifest yet; the licence files are copied all the same
                assertThat(where.resolve("META-INF/LICENSE")).as(name).exists();
                assertThat(where.resolve("META-INF/NOTICE")).as(name).exists();
                continue;
            }
            try (JarFile jar = new JarFile(where.toFile())) {
                Attributes main = jar.getManifest().getMainAttributes();
                assertThat(main.getValue("Automatic-Module-Name"))
                        .as(where.toString())
                        .isEqualTo(name);
                assertThat(main.getValue("Implementation-Version"))
                        .as(where.toString())
                        .isEqualTo(BUILT);
                assertThat(main.getValue("Implementation-Title"))
                        .as(where.toString())
                        .startsWith("pgha-");
                assertThat(jar.getEntry("META-INF/LICENSE"))
                        .as(where + " META-INF/LICENSE")
                        .isNotNull();
                assertThat(jar.getEntry("META-INF/NOTICE"))
                        .as(where + " META-INF/NOTICE")
                        .isNotNull();
            }
        }
    }

    @Test
    void theBomListsEveryPublishedModuleAtTheProjectVersion() throws IOException {
        String parent = Files.readString(ROOT.resolve("pom.xml"));
        String bom = Files.readString(ROOT.resolve("pgha-bom/pom.xml"));
        List<String> modules = all(Pattern.compile("<module>([^<]+)</module>"), parent);
        assertThat(modules).contains("pgha-bom", "pgha-core");
        for (String module : modules) {
            if (module.equals("pgha-bom")) {
                continue;
            }
            String pom = Files.readString(ROOT.resolve(module).resolve("pom.xml"));
            boolean published = !pom.contains("<maven.deploy.skip>true</maven.deploy.skip>");
            assertThat(bom.contains("<artifactId>" + module + "</artifactId>"))
                    .as("pgha-bom manages %s (published: %s)", module, published)
                    .isEqualTo(published);
        }
        // the BOM has no parent (it would manage pgha-parent's pins too), so it repeats the version
        assertThat(bom).doesNotContain("<parent>").contains("<version>" + BUILT + "</version>");
        String managed = bom.substring(bom.indexOf("<dependencyManagement>"), bom.indexOf("</dependencyManagement>"));
        assertThat(all(Pattern.compile("<version>([^<]+)</version>"), managed))
                .isNotEmpty()
                .allMatch(v -> v.equals("${project.version}"));
        // and the plugins that build and release it are the parent's
        for (String plugin :
                List.of("install-plugin", "deploy-plugin", "spotless", "gpg-plugin", "central-publishing-plugin")) {
            String version = all(Pattern.compile("<" + plugin + ".version>([^<]+)<"), parent)
                    .get(0);
            String artifact = plugin.equals("spotless")
                    ? "spotless-maven-plugin"
                    : plugin.replace("install-plugin", "maven-install-plugin")
                            .replace("deploy-plugin", "maven-deploy-plugin")
                            .replace("gpg-plugin", "maven-gpg-plugin")
                            .replace("central-publishing-plugin", "central-publishing-maven-plugin");
            assertThat(bom)
                    .as("pgha-bom's %s is pgha-parent's", artifact)
                    .containsPattern("<artifactId>" + artifact + "</artifactId>\\s*<version>" + Pattern.quote(version)
                            + "</version>");
        }
        assertThat(ROOT.resolve("LICENSE")).content().contains("Apache License", "Version 2.0");
        assertThat(ROOT.resolve("NOTICE")).content().startsWith("pgha\n");
    }

    private static List<String> all(Pattern p, String s) {
        Matcher m = p.matcher(s);
        List<String> out = new java.util.ArrayList<>();
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }
}
