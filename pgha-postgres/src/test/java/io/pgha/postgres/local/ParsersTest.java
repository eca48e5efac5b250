package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** pg_controldata, timeline history, pg_waldump and postmaster.pid parsing, and the divergence rule. */
class ParsersTest {

    private static final String CONTROLDATA = """
            pg_control version number:            1300
            Database system identifier:           7311122334455667788
            Database cluster state:               shut down
            Latest checkpoint location:           0/4000028
            Latest checkpoint's REDO location:    0/4000028
            Latest checkpoint's TimeLineID:       2
            Minimum recovery ending location:     0/0
            Min recovery ending loc's timeline:   0
            """;

    @Test
    void readsControlData() {
        ControlData cd = ControlData.parse(CONTROLDATA);
        assertThat(cd.systemIdentifier()).isEqualTo("7311122334455667788");
        assertThat(cd.state()).isEqualTo("shut down");
        assertThat(cd.cleanlyShutDown()).isTrue();
        assertThat(cd.localTimelineLsn()).containsExactly(2, 0x4000028, 0);

        ControlData replica = ControlData.parse(CONTROLDATA
                .replace("shut down", "shut down in recovery")
                .replace("location:     0/0", "location:     0/5000100")
                .replace("timeline:   0", "timeline:   3"));
        assertThat(replica.localTimelineLsn()).containsExactly(3, 0x5000100, 1);

        // in recovery but never reached a minimum recovery point: it was a primary when it crashed
        ControlData wasPrimary = ControlData.parse(CONTROLDATA.replace("shut down", "in archive recovery"));
        assertThat(wasPrimary.localTimelineLsn()).containsExactly(2, 0x4000028, 0);

        ControlData crashed = ControlData.parse(CONTROLDATA.replace("shut down", "in production"));
        assertThat(crashed.cleanlyShutDown()).isFalse();
        assertThat(crashed.localTimelineLsn()).containsExactly(0, 0, 0);
    }

    @Test
    void readsTimelineHistory() {
        List<TimelineHistory.Entry> h = TimelineHistory.parse("""
                1\t0/3000060\tno recovery target specified

                2\t0/50000A0\tno recovery target specified
                """);
        assertThat(h).containsExactly(new TimelineHistory.Entry(1, 0x3000060), new TimelineHistory.Entry(2, 0x50000A0));
    }

    @Test
    void decidesDivergenceLikePatroni() {
        List<TimelineHistory.Entry> h =
                List.of(new TimelineHistory.Entry(1, 0x3000060), new TimelineHistory.Entry(2, 0x50000A0));
        // same timeline: nothing to rewind; ahead of the leader: always
        assertThat(TimelineHistory.diverged(3, 0x6000000, false, 0, 3, h)).isFalse();
        assertThat(TimelineHistory.diverged(4, 0x1000000, true, 0, 3, h)).isTrue();
        // a replica that replayed no further than the switchpoint can follow
        assertThat(TimelineHistory.diverged(2, 0x50000A0, true, 0, 3, h)).isFalse();
        assertThat(TimelineHistory.diverged(2, 0x50000A8, true, 0, 3, h)).isTrue();
        // a former primary whose shutdown checkpoint ends exactly at the switchpoint can follow
        assertThat(TimelineHistory.diverged(2, 0x5000028, false, 0x50000A0, 3, h))
                .isFalse();
        assertThat(TimelineHistory.diverged(2, 0x5000028, false, 0, 3, h)).isTrue();
        assertThat(TimelineHistory.diverged(2, 0x50000A0, false, 0x5000100, 3, h))
                .isTrue();
        // a timeline the leader's history does not know
        assertThat(TimelineHistory.diverged(
                        2,
                        0x100,
                        false,
                        0,
                        3,
                        List.of(new TimelineHistory.Entry(1, 0x10), new TimelineHistory.Entry(5, 0x20))))
                .isTrue();
        assertThat(TimelineHistory.diverged(1, 0x100, true, 0, 3, List.of())).isTrue();
    }

    @Test
    void findsTheEndOfTheShutdownCheckpoint() {
        String out =
                "rmgr: XLOG        len (rec/tot):    114/   114, tx:          0, lsn: 0/04000028, prev 0/03000110, "
                        + "desc: CHECKPOINT_SHUTDOWN redo 0/4000028; tli 1\n"
                        + "pg_waldump: error: error in WAL record at 0/4000028: invalid record length at 0/40000A0: wanted 24, got 0\n";
        assertThat(Rewind.parseCheckpointEnd(out, 0x4000028)).isEqualTo(0x40000A0);
        // the checkpoint is followed by another record: not the end of WAL
        String two = out.replace(
                "pg_waldump: error:", "rmgr: XLOG len (rec/tot): 30/30, tx: 0, lsn: 0/040000A0, prev 0/04000028\n");
        assertThat(Rewind.parseCheckpointEnd(two, 0x4000028)).isZero();
        assertThat(Rewind.parseCheckpointEnd(out, 0x5000028)).isZero();
        assertThat(Rewind.parseCheckpointEnd("", 0x4000028)).isZero();
    }

    @Test
    void readsPostmasterPid() {
        PidFile p = PidFile.parse(
                "12345\n/var/lib/pg/data\n1700000000\n5432\n/tmp\n127.0.0.1\n  5432001  65538\nready   \n");
        assertThat(p.pid()).isEqualTo(12345);
        assertThat(p.startTime()).isEqualTo(Instant.ofEpochSecond(1700000000));
        assertThat(p.status()).isEqualTo("ready");
        assertThat(p.socketDir()).isEqualTo("/tmp");
        assertThat(PidFile.parse("12345\n").status()).isEmpty();
        assertThat(PidFile.parse("12345\n").socketDir()).isEmpty();
        assertThat(PidFile.parse("garbage")).isNull();
        assertThat(PidFile.isAlive(ProcessHandle.current().pid())).isTrue();
    }
}
