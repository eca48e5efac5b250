package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Patroni's keys of the custom methods and hooks as {@link PatroniPostgresSection} reads them:
 * {@code postgresql.basebackup} in its list and map forms, {@code pre_promote} / {@code before_stop},
 * and a {@code bootstrap.method} without a command, which must not fall back to initdb.
 */
class PatroniPostgresSectionTest {

    private static Map<String, Object> postgresql() {
        Map<String, Object> pg = new LinkedHashMap<>();
        pg.put("listen", "127.0.0.1:5432");
        pg.put("data_dir", "/tmp/pgha-section-test/data");
        pg.put(
                "authentication",
                Map.of(
                        "superuser", Map.of("username", "postgres", "password", "su"),
                        "replication", Map.of("username", "replicator", "password", "rep")));
        return pg;
    }

    @Test
    void basebackupOptionsInTheListForm() {
        Map<String, Object> pg = postgresql();
        pg.put("basebackup", List.of("verbose", Map.of("max-rate", "100M"), Map.of("checkpoint", "spread")));
        LocalPostgresConfig c = PatroniPostgresSection.read("s", "n", pg, null);
        assertThat(c.basebackupOptions()).containsExactly("--verbose", "--max-rate=100M", "--checkpoint=spread");
    }

    @Test
    void basebackupOptionsInTheMapFormSkipEmptyValuesAsPatroni() {
        Map<String, Object> bb = new LinkedHashMap<>();
        bb.put("max-rate", "10M");
        bb.put("checkpoint", "fast");
        bb.put("label", "");
        bb.put("progress", false);
        Map<String, Object> pg = postgresql();
        pg.put("basebackup", bb);
        assertThat(PatroniPostgresSection.read("s", "n", pg, null).basebackupOptions())
                .containsExactly("--max-rate=10M", "--checkpoint=fast");
    }

    @Test
    void optionsPghaSetsItselfAreRefused() {
        for (Object bad :
                List.<Object>of(List.of("pgdata"), List.of(Map.of("wal-method", "fetch")), Map.of("host", "x"))) {
            Map<String, Object> pg = postgresql();
            pg.put("basebackup", bad);
            assertThatThrownBy(() -> PatroniPostgresSection.read("s", "n", pg, null))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("postgresql.basebackup: option")
                    .hasMessageContaining("is not allowed");
        }
        Map<String, Object> pg = postgresql();
        pg.put("basebackup", List.of(Map.of("a", "1", "b", "2")));
        assertThatThrownBy(() -> PatroniPostgresSection.read("s", "n", pg, null))
                .hasMessageContaining("exactly one key");
        pg.put("basebackup", "max-rate=1M");
        assertThatThrownBy(() -> PatroniPostgresSection.read("s", "n", pg, null))
                .hasMessageContaining("postgresql.basebackup must be a list or a mapping");
    }

    @Test
    void pgBasebackupGetsTheOptionsAndAFastCheckpointUnlessOneIsChosen() throws Exception {
        Map<String, Object> pg = postgresql();
        pg.put("basebackup", List.of(Map.of("max-rate", "100M")));
        Clone fast = new Clone(PatroniPostgresSection.read("s", "n", pg, null), null, null, null, null);
        assertThat(String.join(" ", fast.basebackupCommandFor("/bin/pg_basebackup", "/d", "host=h")))
                .isEqualTo("/bin/pg_basebackup -D /d -X stream --no-password -d host=h --checkpoint=fast"
                        + " --progress --max-rate=100M");
        pg.put("basebackup", Map.of("checkpoint", "spread"));
        Clone spread = new Clone(PatroniPostgresSection.read("s", "n", pg, null), null, null, null, null);
        assertThat(spread.basebackupCommandFor("/bin/pg_basebackup", "/d", "host=h"))
                .contains("--checkpoint=spread")
                .doesNotContain("--checkpoint=fast");
    }

    @Test
    void hooksAreRead() {
        Map<String, Object> pg = postgresql();
        pg.put("pre_promote", "/usr/local/bin/fence.sh --really");
        pg.put("before_stop", "/usr/local/bin/drain.sh");
        LocalPostgresConfig c = PatroniPostgresSection.read("s", "n", pg, null);
        assertThat(c.prePromote()).isEqualTo("/usr/local/bin/fence.sh --really");
        assertThat(c.beforeStop()).isEqualTo("/usr/local/bin/drain.sh");
    }

    @Test
    void aBootstrapMethodWithoutACommandIsAnErrorNotAnInitdb() {
        Map<String, Object> bootstrap = new LinkedHashMap<>();
        bootstrap.put("method", "restore");
        bootstrap.put("restore", Map.of("recovery_conf", Map.of("restore_command", "cp /a/%f %p")));
        assertThatThrownBy(() -> PatroniPostgresSection.read("s", "n", postgresql(), bootstrap))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bootstrap.method is 'restore' but bootstrap.restore.command is missing")
                .hasMessageContaining("does not fall back to initdb");
        bootstrap.remove("restore");
        assertThatThrownBy(() -> PatroniPostgresSection.read("s", "n", postgresql(), bootstrap))
                .hasMessageContaining("bootstrap.restore.command is missing");
        bootstrap.put("method", "initdb");
        assertThat(PatroniPostgresSection.read("s", "n", postgresql(), bootstrap)
                        .bootstrapMethod())
                .isNull();
    }
}
