package io.pgha.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.DcsJson;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BackupChooserTest {

    private static String leader(long lsn) {
        return DcsJson.write(Map.of("state", "running", "role", "primary", "xlog_location", lsn, "timeline", 1));
    }

    private static String replica(long lsn, String replication, Map<String, Object> tags) {
        Map<String, Object> m = new LinkedHashMap<>(Map.of(
                "state",
                "running",
                "role",
                "replica",
                "xlog_location",
                lsn,
                "replay_lsn",
                lsn,
                "receive_lsn",
                lsn,
                "timeline",
                1));
        if (replication != null) {
            m.put("replication_state", replication);
        }
        if (!tags.isEmpty()) {
            m.put("tags", tags);
        }
        return DcsJson.write(m);
    }

    @Test
    void picksTheLeastLaggingStreamingReplicaThenByName() {
        ClusterState c = ClusterState.builder("s")
                .leader("a", 1)
                .member("a", leader(1000), 1)
                .member("b", replica(900, "streaming", Map.of()), 1)
                .member("c", replica(990, "streaming", Map.of()), 1)
                .member("d", replica(990, "streaming", Map.of()), 1)
                .build();
        assertThat(BackupChooser.choose(c)).contains("c");
        assertThat(BackupChooser.isChosen(c, "c")).isTrue();
        assertThat(BackupChooser.isChosen(c, "a")).isFalse();
    }

    @Test
    void skipsNofailoverNobackupStoppedAndNonStreamingReplicas() {
        ClusterState c = ClusterState.builder("s")
                .leader("a", 1)
                .member("a", leader(1000), 1)
                .member("b", replica(1000, "streaming", Map.of("nofailover", true)), 1)
                .member("c", replica(1000, "streaming", Map.of("nobackup", true)), 1)
                .member("d", replica(1000, "in archive recovery", Map.of()), 1)
                .member("e", DcsJson.write(Map.of("state", "stopped", "role", "replica")), 1)
                .build();
        assertThat(BackupChooser.choose(c)).contains("a");
    }

    @Test
    void movesToAnotherMemberWhenTheSnapshotChanges() {
        ClusterState before = ClusterState.builder("s")
                .leader("a", 1)
                .member("a", leader(1000), 1)
                .member("b", replica(1000, "streaming", Map.of()), 1)
                .member("c", replica(800, "streaming", Map.of()), 1)
                .build();
        assertThat(BackupChooser.choose(before)).contains("b");
        // b was promoted after a's failure: b leads, c is the only replica left
        ClusterState after = ClusterState.builder("s")
                .leader("b", 2)
                .member("b", leader(2000), 2)
                .member("c", replica(1900, "streaming", Map.of()), 2)
                .build();
        assertThat(BackupChooser.choose(after)).contains("c");
        // c falls behind on another timeline: the leader backs up itself
        ClusterState lonely = ClusterState.builder("s")
                .leader("b", 2)
                .member(
                        "b",
                        DcsJson.write(
                                Map.of("state", "running", "role", "primary", "xlog_location", 2000, "timeline", 2)),
                        2)
                .member(
                        "c",
                        DcsJson.write(Map.of(
                                "state",
                                "running",
                                "role",
                                "replica",
                                "timeline",
                                1,
                                "replication_state",
                                "streaming",
                                "xlog_location",
                                1900)),
                        2)
                .build();
        assertThat(BackupChooser.choose(lonely)).contains("b");
    }

    @Test
    void noLeaderOrPausedMeansNoBackup() {
        ClusterState none = ClusterState.builder("s")
                .member("b", replica(1, "streaming", Map.of()), 1)
                .build();
        assertThat(BackupChooser.choose(none)).isEmpty();
        assertThat(BackupChooser.choose(null)).isEmpty();
        ClusterState paused = ClusterState.builder("s")
                .leader("a", 1)
                .member("a", leader(1), 1)
                .config("{\"pause\": true}", 1)
                .build();
        assertThat(BackupChooser.choose(paused)).isEmpty();
    }
}
