package io.pgha.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DynamicConfigValidatorTest {

    /** key path, a good value, a value of the wrong type, a value out of range (null: the rule has no range). */
    static Stream<Arguments> keys() {
        return Stream.of(
                Arguments.of("ttl", 30, "abc", 9),
                Arguments.of("ttl", "10", true, 0),
                Arguments.of("loop_wait", 10, "ten", 0),
                Arguments.of("retry_timeout", 10, 1.5, 2),
                Arguments.of("maximum_lag_on_failover", 1048576L, "1MB", -1),
                Arguments.of("maximum_lag_on_syncnode", -1, List.of(1), -2),
                Arguments.of("primary_start_timeout", 0, "soon", -1),
                Arguments.of("master_start_timeout", 300, "soon", -5),
                Arguments.of("primary_stop_timeout", 0, Map.of(), -1),
                Arguments.of("master_stop_timeout", 10, "x", -1),
                Arguments.of("primary_race_backoff", 0.5, "fast", -0.5),
                Arguments.of("synchronous_node_count", 2, "two", 0),
                Arguments.of("max_timelines_history", 0, "all", -1),
                Arguments.of("member_slots_ttl", 1800, "half an hour", -1),
                Arguments.of("synchronous_mode", "quorum", "sometimes", null),
                Arguments.of("synchronous_mode", true, 1, null),
                Arguments.of("synchronous_mode_strict", false, "maybe", null),
                Arguments.of("failsafe_mode", "on", 2, null),
                Arguments.of("check_timeline", true, "perhaps", null),
                Arguments.of("pause", "false", List.of(), null),
                Arguments.of("postgresql", Map.of("use_slots", true), "pg", null),
                Arguments.of("postgresql.use_pg_rewind", true, "sometimes", null),
                Arguments.of("postgresql.use_slots", "off", 5, null),
                Arguments.of("postgresql.remove_data_directory_on_rewind_failure", false, "x", null),
                Arguments.of("postgresql.parameters", Map.of("work_mem", "4MB"), "work_mem=4MB", null),
                Arguments.of("postgresql.parameters.max_connections", "100", "many", 0),
                Arguments.of("postgresql.parameters.max_connections", 262143, "many", 262144),
                Arguments.of("postgresql.parameters.max_locks_per_transaction", 64, "x", 9),
                Arguments.of("postgresql.parameters.max_wal_senders", 10, "x", -1),
                Arguments.of("postgresql.pg_hba", List.of("host all all 0.0.0.0/0 md5"), "host all", null),
                Arguments.of("postgresql.pg_ctl_timeout", 60, "x", -1),
                Arguments.of("standby_cluster", Map.of("host", "10.0.0.1"), "10.0.0.1", null),
                Arguments.of("standby_cluster.port", 5432, "x", 65536),
                Arguments.of("standby_cluster.host", "10.0.0.1", 10, null),
                Arguments.of("standby_cluster.create_replica_methods", List.of("basebackup"), "basebackup", null),
                Arguments.of("slots", Map.of("keep", Map.of("type", "physical")), List.of("keep"), null),
                Arguments.of("ignore_slots", List.of(Map.of("name", "x")), Map.of("name", "x"), null),
                Arguments.of("tags", Map.of("a", "b"), "a=b", null));
    }

    private static Map<String, Object> config(String dottedKey, Object value) {
        String[] keys = dottedKey.split("\\.");
        Map<String, Object> root = new LinkedHashMap<>();
        Map<String, Object> m = root;
        for (int i = 0; i < keys.length - 1; i++) {
            Map<String, Object> child = new LinkedHashMap<>();
            m.put(keys[i], child);
            m = child;
        }
        m.put(keys[keys.length - 1], value);
        return root;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("keys")
    void eachKeyTakesAGoodValueAndRefusesAWrongTypeAndAnOutOfRangeValue(
            String key, Object good, Object wrongType, Object outOfRange) {
        assertThat(DynamicConfigValidator.validate(config(key, good))).isEmpty();
        List<DynamicConfigValidator.Problem> typeProblems = DynamicConfigValidator.validate(config(key, wrongType));
        assertThat(typeProblems).hasSize(1);
        assertThat(typeProblems.get(0).key()).isEqualTo(key);
        assertThat(typeProblems.get(0).value()).isEqualTo(wrongType);
        assertThat(typeProblems.get(0).message()).startsWith(key + " must be ");
        if (outOfRange != null) {
            List<DynamicConfigValidator.Problem> rangeProblems =
                    DynamicConfigValidator.validate(config(key, outOfRange));
            assertThat(rangeProblems)
                    .extracting(DynamicConfigValidator.Problem::key)
                    .containsExactly(key);
        }
    }

    @Test
    void noValueWrapsAroundTheIntRange() {
        for (String key : List.of(
                "ttl",
                "loop_wait",
                "retry_timeout",
                "primary_start_timeout",
                "master_start_timeout",
                "primary_stop_timeout",
                "master_stop_timeout",
                "member_slots_ttl",
                "synchronous_node_count",
                "max_timelines_history",
                "postgresql.pg_ctl_timeout")) {
            for (Object big : List.of(
                    2147483648L, "2147483648", new java.math.BigInteger("99999999999999999999999"), Long.MAX_VALUE)) {
                assertThat(DynamicConfigValidator.validate(config(key, big)))
                        .as(key + ": " + big)
                        .extracting(DynamicConfigValidator.Problem::key)
                        .containsExactly(key);
            }
        }
        assertThat(DynamicConfigValidator.validate(Map.of("ttl", 2147483648L)))
                .extracting(DynamicConfigValidator.Problem::message)
                .containsExactly("ttl must be an integer from 10 to 2147483, found 2147483648");
        assertThat(DynamicConfigValidator.validate(Map.of("primary_race_backoff", 1e300)))
                .extracting(DynamicConfigValidator.Problem::key)
                .containsExactly("primary_race_backoff");
        assertThat(DynamicConfigValidator.validate(Map.of("ttl", 2147483, "loop_wait", 10, "retry_timeout", 10)))
                .isEmpty();
    }

    @Test
    void anUnvalidatedConfigSaturatesInsteadOfWrapping() {
        // 2^31 as an int is -2^31: it used to become ttl 2 s
        DynamicConfig c = DynamicConfig.from(Map.of("ttl", 2147483648L, "loop_wait", 10, "retry_timeout", 10));
        assertThat(c.ttl()).isEqualTo(java.time.Duration.ofSeconds(DynamicConfigValidator.MAX_SECONDS));
        DynamicConfig huge = DynamicConfig.from(Map.of(
                "ttl",
                new java.math.BigInteger("18446744073709551626"),
                "synchronous_node_count",
                "4294967297",
                "primary_stop_timeout",
                Long.MAX_VALUE,
                "primary_race_backoff",
                1e300));
        assertThat(huge.ttl().getSeconds()).isEqualTo(DynamicConfigValidator.MAX_SECONDS);
        assertThat(huge.intValue("synchronous_node_count", 1)).isEqualTo(Integer.MAX_VALUE);
        assertThat(huge.primaryStopTimeout().toMillis()).isEqualTo(DynamicConfigValidator.MAX_SECONDS * 1000L);
        assertThat(huge.primaryRaceBackoff().toMillis()).isEqualTo(DynamicConfigValidator.MAX_SECONDS * 1000L);
    }

    @Test
    void messagesNameTheKeyTheRuleAndTheValue() {
        assertThat(DynamicConfigValidator.validate(Map.of("ttl", "abc")))
                .extracting(DynamicConfigValidator.Problem::message)
                .containsExactly("ttl must be an integer >= 10, found \"abc\"");
        assertThat(DynamicConfigValidator.validate(Map.of("loop_wait", 0))
                        .get(0)
                        .message())
                .isEqualTo("loop_wait must be an integer >= 1, found 0");
        assertThat(DynamicConfigValidator.validate(config("standby_cluster.port", 70000))
                        .get(0)
                        .message("bootstrap.dcs."))
                .isEqualTo("bootstrap.dcs.standby_cluster.port must be an integer from 1 to 65535, found 70000");
        assertThat(DynamicConfigValidator.validate(Map.of("postgresql", 5))
                        .get(0)
                        .message())
                .isEqualTo("postgresql must be an object, found 5");
    }

    @Test
    void everyProblemIsListedNullsAndUnknownKeysAreLeftAlone() {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("ttl", null);
        c.put("loop_wait", "x");
        c.put("retry_timeout", 1);
        c.put("my_own_key", List.of("anything"));
        c.put("postgresql", Map.of("parameters", Map.of("max_connections", 0, "shared_buffers", "1GB")));
        assertThat(DynamicConfigValidator.validate(c))
                .extracting(DynamicConfigValidator.Problem::key)
                .containsExactly("loop_wait", "retry_timeout", "postgresql.parameters.max_connections");
    }

    @Test
    void aParameterNameWithADotIsOnePathElement() {
        Map<String, Object> c = Map.of("slots", Map.of("a.b", Map.of("type", "other")));
        assertThat(DynamicConfigValidator.validate(c).get(0).path()).containsExactly("slots", "a.b", "type");
    }

    @Test
    void patroniDefaultsAreValid() {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("ttl", 30);
        c.put("loop_wait", 10);
        c.put("retry_timeout", 10);
        c.put("maximum_lag_on_failover", 1048576);
        c.put("maximum_lag_on_syncnode", -1);
        c.put("primary_start_timeout", 300);
        c.put("primary_stop_timeout", 0);
        c.put("synchronous_mode", false);
        c.put("synchronous_mode_strict", false);
        c.put("synchronous_node_count", 1);
        c.put("failsafe_mode", false);
        c.put("check_timeline", false);
        c.put("postgresql", Map.of("use_pg_rewind", true, "use_slots", true, "parameters", Map.of()));
        c.put("slots", Map.of("permanent", Map.of("type", "logical", "database", "db", "plugin", "pgoutput")));
        assertThat(DynamicConfigValidator.validate(c)).isEmpty();
    }

    @Test
    void aNodeConfigRefusesABadBootstrapDcsAsTheFileCheckDoes() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> NodeConfig.builder("c", "n")
                        .bootstrapDcs(Map.of("ttl", "abc"))
                        .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("bootstrap.dcs.ttl must be an integer >= 10, found \"abc\"");
        assertThat(NodeConfig.builder("c", "n")
                        .bootstrapDcs(Map.of("ttl", 10, "loop_wait", 2, "retry_timeout", 3))
                        .build()
                        .initialDynamicConfig()
                        .ttl())
                .isEqualTo(java.time.Duration.ofSeconds(10));
    }
}
