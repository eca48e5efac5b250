package io.pgha.ha;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.postgres.PostgresStatus;
import io.pgha.postgres.ReplicationSlot;
import io.pgha.postgres.SlotChanges;
import io.pgha.postgres.SlotChanges.NewSlot;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The slot decision ({@link SlotPlan}) from its inputs: configuration, members, status, local slots. */
class SlotPlanTest {

    private static final Map<String, Object> NO_TAGS = Map.of();

    static DynamicConfig config(String json) {
        return DynamicConfig.from(io.pgha.dcs.DcsJson.readObject(json));
    }

    static final DynamicConfig PATRONI3 = config("{\"member_slots_ttl\": 0}");
    static final DynamicConfig DEFAULTS = DynamicConfig.DEFAULTS;

    static final DynamicConfig PERMANENT = config("{\"slots\": {\"barman\": {\"type\": \"physical\"},"
            + " \"cdc\": {\"type\": \"logical\", \"database\": \"app\", \"plugin\": \"pgoutput\"},"
            + " \"bare\": null, \"Bad-Name\": {\"type\": \"physical\"}}}");

    /** pg0 leads, pg1 and pg2 replicate; the status key as given. */
    static ClusterState cluster(String status) {
        HaEngineTest.C c =
                new HaEngineTest.C().leader("pg0").primaryMember("pg0").member("pg1", "running", 900, null);
        c.member("pg2", "running", 800, null);
        if (status != null) {
            c.b.status(status);
        }
        return c.build();
    }

    static PostgresStatus pg(boolean primary, long lsn, ReplicationSlot... slots) {
        return new PostgresStatus(
                "running",
                primary ? PostgresStatus.Role.PRIMARY : PostgresStatus.Role.REPLICA,
                2,
                primary ? lsn : 0,
                primary ? 0 : lsn,
                primary ? 0 : lsn,
                null,
                false,
                primary ? null : "streaming",
                "7000000000000000001",
                150000,
                null,
                List.of(),
                List.of(slots),
                false,
                null);
    }

    static ReplicationSlot logical(String name, String db, String plugin, long confirmed, boolean managed) {
        return new ReplicationSlot(name, "logical", plugin, db, false, confirmed - 100, confirmed, managed);
    }

    static ReplicationSlot active(ReplicationSlot s) {
        return new ReplicationSlot(
                s.name(), s.type(), s.plugin(), s.database(), true, s.restartLsn(), s.confirmedFlushLsn(), s.managed());
    }

    static List<String> names(List<NewSlot> created) {
        List<String> out = new ArrayList<>();
        created.forEach(n -> out.add(n.name()));
        return out;
    }

    @Nested
    class OnThePrimary {
        @Test
        void createsAMemberSlotForEveryReplicaAndThePermanentOnes() {
            SlotPlan.Plan p = SlotPlan.plan("pg0", NO_TAGS, true, cluster(null), PERMANENT, pg(true, 5000));
            assertThat(names(p.changes().create())).containsExactlyInAnyOrder("pg1", "pg2", "barman", "bare", "cdc");
            assertThat(p.changes().create()).contains(new NewSlot("cdc", "logical", "app", "pgoutput"));
            // an invalid permanent name is never created (Patroni logs it)
            assertThat(names(p.changes().create())).doesNotContain("Bad-Name");
            assertThat(p.changes().drop()).isEmpty();
            assertThat(p.copy()).isEmpty();
        }

        @Test
        void aSlotMadeByHandSurvivesAndAManagedOneOfAGoneMemberIsDropped() {
            SlotPlan.Plan p = SlotPlan.plan(
                    "pg0",
                    NO_TAGS,
                    true,
                    cluster(null),
                    DEFAULTS,
                    pg(
                            true,
                            5000,
                            ReplicationSlot.physical("pg1", 4000, true),
                            ReplicationSlot.physical("pg2", 4000, true),
                            ReplicationSlot.physical("barman_by_hand", 3000, false),
                            logical("debezium", "app", "pgoutput", 3000, false),
                            ReplicationSlot.physical("pg9_gone", 3000, true)));
            assertThat(p.changes().drop()).containsExactly("pg9_gone");
            assertThat(p.changes().create()).isEmpty();
        }

        @Test
        void aPermanentSlotRemovedFromTheConfigurationIsDroppedUnlessIgnored() {
            PostgresStatus local = pg(
                    true,
                    5000,
                    ReplicationSlot.physical("pg1", 4000, true),
                    ReplicationSlot.physical("pg2", 4000, true),
                    ReplicationSlot.physical("barman", 3000, true));
            assertThat(SlotPlan.plan("pg0", NO_TAGS, true, cluster(null), DEFAULTS, local)
                            .changes()
                            .drop())
                    .containsExactly("barman");
            DynamicConfig ignoring = config("{\"ignore_slots\": [{\"name\": \"barman\", \"type\": \"physical\"}]}");
            assertThat(SlotPlan.plan("pg0", NO_TAGS, true, cluster(null), ignoring, local)
                            .changes()
                            .drop())
                    .isEmpty();
            DynamicConfig paused = config("{\"pause\": true}");
            assertThat(SlotPlan.plan("pg0", NO_TAGS, true, cluster(null), paused, local)
                            .changes()
                            .drop())
                    .isEmpty();
        }

        @Test
        void anExistingSlotNamedInTheConfigurationIsClaimedAndAWrongOneReplaced() {
            SlotPlan.Plan p = SlotPlan.plan(
                    "pg0",
                    NO_TAGS,
                    true,
                    cluster(null),
                    PERMANENT,
                    pg(
                            true,
                            5000,
                            ReplicationSlot.physical("barman", 3000, false),
                            logical("cdc", "app", "test_decoding", 3000, true)));
            assertThat(p.changes().claim()).containsExactly("barman");
            // a logical slot of another plugin: dropped now, created as configured next cycle
            assertThat(p.changes().drop()).containsExactly("cdc");
            assertThat(names(p.changes().create())).doesNotContain("barman", "cdc");
        }

        @Test
        void anActiveSlotIsNeverDropped() {
            SlotPlan.Plan p = SlotPlan.plan(
                    "pg0",
                    NO_TAGS,
                    true,
                    cluster(null),
                    DEFAULTS,
                    pg(true, 5000, active(ReplicationSlot.physical("pg9_gone", 3000, true))));
            assertThat(p.changes().drop()).isEmpty();
        }

        @Test
        void publishesItsSlotPositionsAndItsOwn() {
            SlotPlan.Plan p = SlotPlan.plan(
                    "pg0",
                    NO_TAGS,
                    true,
                    cluster(null),
                    PERMANENT,
                    pg(
                            true,
                            5000,
                            ReplicationSlot.physical("pg1", 4000, true),
                            ReplicationSlot.physical("barman", 3000, true),
                            logical("cdc", "app", "pgoutput", 4500, true),
                            ReplicationSlot.physical("by_hand", 100, false)));
            assertThat(p.publish())
                    .containsOnly(
                            Map.entry("pg1", 4000L),
                            Map.entry("barman", 3000L),
                            Map.entry("cdc", 4500L),
                            Map.entry("pg0", 5000L));
        }

        @Test
        void advancesTheSlotOfACascadingMemberFromItsPosition() {
            HaEngineTest.C c =
                    new HaEngineTest.C().leader("pg0").primaryMember("pg0").member("pg1");
            c.member("pg2", "running", 4800, Map.of("replicatefrom", "pg1"));
            SlotPlan.Plan p = SlotPlan.plan(
                    "pg0",
                    NO_TAGS,
                    true,
                    c.build(),
                    DEFAULTS,
                    pg(
                            true,
                            5000,
                            ReplicationSlot.physical("pg1", 4000, true),
                            ReplicationSlot.physical("pg2", 3000, true)));
            assertThat(p.changes().advance()).containsOnly(Map.entry("pg2", 4800L));
        }

        @Test
        void patroniThreeKeepsNoSlotForACascadingMember() {
            HaEngineTest.C c =
                    new HaEngineTest.C().leader("pg0").primaryMember("pg0").member("pg1");
            c.member("pg2", "running", 4800, Map.of("replicatefrom", "pg1"));
            SlotPlan.Plan p = SlotPlan.plan("pg0", NO_TAGS, true, c.build(), PATRONI3, pg(true, 5000));
            assertThat(names(p.changes().create())).containsExactly("pg1");
        }

        @Test
        void noSlotsWithUseSlotsOffAndTheManagedOnesGo() {
            DynamicConfig off = config("{\"postgresql\": {\"use_slots\": false}}");
            SlotPlan.Plan p = SlotPlan.plan(
                    "pg0",
                    NO_TAGS,
                    true,
                    cluster(null),
                    off,
                    pg(
                            true,
                            5000,
                            ReplicationSlot.physical("pg1", 4000, true),
                            ReplicationSlot.physical("x", 1, false)));
            assertThat(p.changes().create()).isEmpty();
            assertThat(p.changes().drop()).containsExactly("pg1");
        }
    }

    @Nested
    class OnAReplica {
        static final String STATUS =
                "{\"optime\": 6000, \"slots\": {\"pg0\": 6000, \"pg2\": 5500, \"barman\": 4200," + " \"cdc\": 5800}}";

        @Test
        void keepsASlotForEveryOtherMemberAndThePhysicalPermanentOnesAndCopiesTheLogical() {
            SlotPlan.Plan p = SlotPlan.plan("pg1", NO_TAGS, false, cluster(STATUS), PERMANENT, pg(false, 5900));
            assertThat(names(p.changes().create())).containsExactlyInAnyOrder("pg0", "pg2", "barman", "bare");
            // a logical slot cannot be created in recovery: copied from the primary, which has it (it is published)
            assertThat(p.copy()).containsOnlyKeys("cdc");
        }

        @Test
        void aLogicalSlotTheLeaderDoesNotPublishIsNotCopiedYet() {
            SlotPlan.Plan p =
                    SlotPlan.plan("pg1", NO_TAGS, false, cluster("{\"optime\": 6000}"), PERMANENT, pg(false, 5900));
            assertThat(p.copy()).isEmpty();
        }

        @Test
        void advancesItsCopiesToThePublishedPositionsNeverPastReplay() {
            SlotPlan.Plan p = SlotPlan.plan(
                    "pg1",
                    NO_TAGS,
                    false,
                    cluster(STATUS),
                    PERMANENT,
                    pg(
                            false,
                            5700,
                            ReplicationSlot.physical("pg0", 5000, true),
                            ReplicationSlot.physical("pg2", 5500, true),
                            ReplicationSlot.physical("barman", 4000, true),
                            ReplicationSlot.physical("bare", 4000, true),
                            logical("cdc", "app", "pgoutput", 5000, true)));
            assertThat(p.changes().advance())
                    .containsOnly(Map.entry("pg0", 6000L), Map.entry("barman", 4200L), Map.entry("cdc", 5700L));
            assertThat(p.changes().create()).isEmpty();
            assertThat(p.copy()).isEmpty();
            assertThat(p.publish()).isEmpty();
        }

        @Test
        void aLogicalSlotNeitherPermanentNorIgnoredIsDroppedAPhysicalOneMadeByHandStays() {
            DynamicConfig ignoring = config("{\"ignore_slots\": [{\"name\": \"kept\"}, {\"plugin\": \"wal2json\"}]}");
            SlotPlan.Plan p = SlotPlan.plan(
                    "pg1",
                    NO_TAGS,
                    false,
                    cluster(STATUS),
                    ignoring,
                    pg(
                            false,
                            5700,
                            logical("kept", "postgres", "test_decoding", 10, false),
                            logical("w2j", "postgres", "wal2json", 10, false),
                            logical("dummy", "postgres", "test_decoding", 10, false),
                            ReplicationSlot.physical("receivewal", 10, false)));
            assertThat(p.changes().drop()).containsExactly("dummy");
        }

        @Test
        void patroniThreeKeepsOnlyTheSlotsOfMembersCascadingFromIt() {
            HaEngineTest.C c =
                    new HaEngineTest.C().leader("pg0").primaryMember("pg0").member("pg1");
            c.member("pg2", "running", 4800, Map.of("replicatefrom", "pg1"));
            SlotPlan.Plan p = SlotPlan.plan("pg1", NO_TAGS, false, c.build(), PATRONI3, pg(false, 5000));
            assertThat(names(p.changes().create())).containsExactly("pg2");
        }

        @Test
        void aNofailoverReplicaKeepsNoPermanentSlotAndNoOtherMembers() {
            SlotPlan.Plan p = SlotPlan.plan(
                    "pg1", Map.of("nofailover", true), false, cluster(STATUS), PERMANENT, pg(false, 5900));
            assertThat(p.changes().create()).isEmpty();
            assertThat(p.copy()).isEmpty();
        }

        @Test
        void keepsTheSlotsTheLeaderRetainsForAbsentMembers() {
            SlotPlan.Plan p = SlotPlan.plan(
                    "pg1",
                    NO_TAGS,
                    false,
                    cluster("{\"optime\": 6000, \"retain_slots\": [\"pg0\", \"pg1\", \"pg7\"]}"),
                    DEFAULTS,
                    pg(false, 5900));
            assertThat(names(p.changes().create())).containsExactlyInAnyOrder("pg0", "pg2", "pg7");
        }
    }

    @Nested
    class IgnoreSlots {
        @Test
        void everyAttributeAMatcherNamesMustMatch() {
            ReplicationSlot s = logical("unmanaged_slot_0", "postgres", "test_decoding", 10, false);
            List<Map<String, Object>> m = new ArrayList<>();
            m.add(Map.of(
                    "name", "unmanaged_slot_0", "database", "postgres", "plugin", "test_decoding", "type", "logical"));
            assertThat(SlotPlan.ignored(m, s)).isTrue();
            assertThat(SlotPlan.ignored(List.of(Map.of("database", "postgres")), s))
                    .isTrue();
            assertThat(SlotPlan.ignored(List.of(Map.of("name", "unmanaged_slot_0", "type", "physical")), s))
                    .isFalse();
            assertThat(SlotPlan.ignored(List.of(Map.of("name", "other")), s)).isFalse();
            Map<String, Object> withNull = new LinkedHashMap<>();
            withNull.put("name", "unmanaged_slot_0");
            withNull.put("plugin", null);
            assertThat(SlotPlan.ignored(List.of(withNull), s)).isTrue();
        }
    }

    @Test
    void theLeaderRetainsTheSlotsOfMembersSeenWithinMemberSlotsTtl() {
        java.time.Instant now = HaEngineTest.NOW;
        Map<String, java.time.Instant> seen =
                Map.of("pg1", now, "pg2", now.minusSeconds(1799), "pg3", now.minusSeconds(1800), "Bad-Name", now);
        assertThat(SlotPlan.retained(seen, now, DEFAULTS)).containsExactly("pg1", "pg2");
        assertThat(SlotPlan.retained(seen, now, config("{\"member_slots_ttl\": 60}")))
                .containsExactly("pg1");
        assertThat(SlotPlan.retained(seen, now, PATRONI3)).isEmpty();
    }

    @Test
    void inFailsafeModeAReplicaAdvancesItsManagedSlotsToThePositionsTheCallCarried() {
        PostgresStatus primary = pg(
                true,
                7000,
                logical("cdc", "postgres", "test_decoding", 6500, true),
                ReplicationSlot.physical("pg1", 6000, true),
                ReplicationSlot.physical("by_hand", 100, false));
        Map<String, Long> sent = SlotPlan.failsafePositions("pg0", primary);
        assertThat(sent).containsOnly(Map.entry("cdc", 6500L), Map.entry("pg1", 6000L), Map.entry("pg0", 7000L));
        PostgresStatus replica = pg(
                false,
                6800,
                logical("cdc", "postgres", "test_decoding", 6000, true),
                ReplicationSlot.physical("pg0", 5000, true),
                ReplicationSlot.physical("by_hand", 100, false));
        assertThat(SlotPlan.failsafeAdvance(replica, sent).advance())
                .containsOnly(Map.entry("cdc", 6500L), Map.entry("pg0", 7000L));
        Decision d = new HaEngine()
                .decide(HaInput.builder("pg1")
                        .postgres(replica)
                        .failsafeSlots(sent)
                        .now(HaEngineTest.NOW)
                        .build());
        assertThat(d.reason()).contains("DCS is not accessible", "advancing slots");
        assertThat(d.actions()).singleElement().isInstanceOf(Action.ChangeSlots.class);
    }

    @Test
    void hotStandbyFeedbackIsNeededWithPermanentLogicalSlots() {
        assertThat(SlotPlan.needsHotStandbyFeedback(PERMANENT, NO_TAGS)).isTrue();
        assertThat(SlotPlan.needsHotStandbyFeedback(PERMANENT, Map.of("nofailover", true)))
                .isFalse();
        assertThat(SlotPlan.needsHotStandbyFeedback(DEFAULTS, NO_TAGS)).isFalse();
    }

    @Test
    void theEngineCarriesThePlanOut() {
        // the leader publishes its positions and changes its slots in the same decision
        Decision d = new HaEngine()
                .decide(HaInput.builder("pg0")
                        .cluster(cluster(null))
                        .postgres(pg(true, 5000, ReplicationSlot.physical("pg1", 4000, true)))
                        .config(PERMANENT)
                        .now(HaEngineTest.NOW)
                        .build());
        Action.WriteStatus status = (Action.WriteStatus) d.actions().stream()
                .filter(a -> a instanceof Action.WriteStatus)
                .findFirst()
                .orElseThrow();
        assertThat(status.slots()).containsEntry("pg1", 4000L).containsEntry("pg0", 5000L);
        SlotChanges changes = ((Action.ChangeSlots) d.actions().stream()
                        .filter(a -> a instanceof Action.ChangeSlots)
                        .findFirst()
                        .orElseThrow())
                .changes();
        assertThat(names(changes.create())).containsExactlyInAnyOrder("pg2", "barman", "bare", "cdc");
        // a replica missing the logical slot copies it from the leader
        Decision r = new HaEngine()
                .decide(HaInput.builder("pg1")
                        .cluster(cluster(OnAReplica.STATUS))
                        .postgres(pg(false, 5900))
                        .config(PERMANENT)
                        .following("pg0")
                        .now(HaEngineTest.NOW)
                        .build());
        assertThat(r.reason()).contains("copying logical slots [cdc]");
        assertThat(r.actions().get(r.actions().size() - 1)).isInstanceOf(Action.CopyLogicalSlots.class);
    }
}
