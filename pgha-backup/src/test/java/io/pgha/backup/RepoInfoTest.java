package io.pgha.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class RepoInfoTest {

    private static final String JSON = """
            [{"archive":[{"database":{"id":1},"id":"15-1","max":"000000010000000000000009","min":"000000010000000000000001"}],
              "backup":[
                {"archive":{"start":"000000010000000000000003","stop":"000000010000000000000003"},
                 "info":{"delta":100,"repository":{"delta":2000,"size":2000},"size":30000000},
                 "label":"20261122-223000F","lsn":{"start":"0/3000028","stop":"0/3000100"},
                 "timestamp":{"start":1795386600,"stop":1795386610},"type":"full"},
                {"archive":{"start":"000000010000000000000006","stop":"000000010000000000000006"},
                 "info":{"repository":{"delta":300}},"label":"20261122-223000F_20261122-233000D",
                 "timestamp":{"start":1795390200,"stop":1795390205},"type":"diff"}],
              "name":"main","status":{"code":0,"message":"ok"}},
             {"name":"other","backup":[],"status":{"code":2,"message":"no valid backups"}}]
            """;

    @Test
    void parsesBackupsAndWalRange() throws Exception {
        RepoInfo info = RepoInfo.parse(JSON, "main");
        assertThat(info.backups()).hasSize(2);
        assertThat(info.latest().type()).isEqualTo("diff");
        BackupSet full = info.latest("full");
        assertThat(full.label()).isEqualTo("20261122-223000F");
        assertThat(full.stop()).isEqualTo(Instant.ofEpochSecond(1795386610));
        assertThat(full.repoSize()).isEqualTo(2000);
        assertThat(full.size()).isEqualTo(30000000);
        assertThat(full.lsnStop()).isEqualTo("0/3000100");
        assertThat(info.walMin()).isEqualTo("000000010000000000000001");
        assertThat(info.walMax()).isEqualTo("000000010000000000000009");
        assertThat(info.statusCode()).isZero();
    }

    @Test
    void otherStanzasAndGarbage() throws Exception {
        assertThat(RepoInfo.parse(JSON, "other").backups()).isEmpty();
        assertThat(RepoInfo.parse(JSON, "missing").statusMessage()).contains("missing");
        assertThatThrownBy(() -> RepoInfo.parse("ERROR: [055]: unable to load info file", "main"))
                .isInstanceOf(BackupException.class)
                .hasMessageContaining("unable to load info file");
    }
}
