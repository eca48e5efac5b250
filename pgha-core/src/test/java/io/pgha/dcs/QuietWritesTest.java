package io.pgha.dcs;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.dcs.spi.ClusterStore;
import io.pgha.dcs.spi.PatroniDcs;
import io.pgha.dcs.spi.PatroniLayout;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What {@link PatroniDcs} sends its store when nothing changed: the storage primitives it calls,
 * counted on the way to the in-memory store. An HA cycle of an idle member reads, then publishes
 * the same record (and, as the leader, the same status): nothing but the session's upkeep.
 */
class QuietWritesTest {
    private static final Duration TTL = Duration.ofSeconds(30);
    private final List<String> calls = Collections.synchronizedList(new ArrayList<>());
    private final InMemoryDcs.Store store = new InMemoryDcs.Store(Clock.systemUTC());

    private Dcs counted(String member) {
        PatroniLayout layout = PatroniLayout.of(new DcsSettings(null, "quiet", member, TTL, null, Map.of()));
        ClusterStore real = new InMemoryConnection(store, member, TTL);
        ClusterStore counting = (ClusterStore) Proxy.newProxyInstance(
                ClusterStore.class.getClassLoader(), new Class<?>[] {ClusterStore.class}, (proxy, method, args) -> {
                    calls.add(method.getName());
                    try {
                        return method.invoke(real, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        return new PatroniDcs(member, layout, counting);
    }

    @Test
    void anIdleCycleWritesNothingButTheSessionUpkeep() throws Exception {
        Dcs a = counted("a");
        Map<String, Object> record = Map.of("state", "running", "role", "primary", "xlog_location", 50332000L);
        ClusterStatus status = new ClusterStatus(50332000L, Map.of("b", 50332000L), List.of());
        a.acquireLeader();
        a.read();
        a.touchMember(record);
        a.writeStatus(status);
        a.writeFailsafe(null);

        calls.clear();
        for (int cycle = 0; cycle < 3; cycle++) {
            a.read();
            a.renewLeader();
            a.touchMember(record);
            a.writeStatus(status);
            a.writeFailsafe(null);
        }
        assertThat(calls)
                .as("store calls of three idle cycles")
                .containsExactly(
                        "readTree",
                        "renewLock",
                        "keepOnSession",
                        "readTree",
                        "renewLock",
                        "keepOnSession",
                        "readTree",
                        "renewLock",
                        "keepOnSession");
    }

    @Test
    void aChangedFieldOrOptimeIsWritten() throws Exception {
        Dcs a = counted("a");
        a.read();
        a.touchMember(Map.of("state", "running", "xlog_location", 1L));
        a.writeStatus(new ClusterStatus(1L, Map.of(), List.of()));
        calls.clear();
        a.read();
        a.touchMember(Map.of("state", "running", "xlog_location", 2L));
        a.writeStatus(new ClusterStatus(2L, Map.of(), List.of()));
        a.writeStatus(new ClusterStatus(2L, Map.of("b", 2L), List.of()));
        assertThat(calls).containsExactly("readTree", "putOnSession", "put", "put");
    }

    @Test
    void beforeTheFirstReadEverythingIsWritten() throws Exception {
        Dcs a = counted("a");
        a.touchMember(Map.of("state", "running"));
        a.writeStatus(new ClusterStatus(1L, Map.of(), List.of()));
        a.writeStatus(new ClusterStatus(1L, Map.of(), List.of()));
        assertThat(calls).containsExactly("watch", "putOnSession", "put", "put");
    }

    @Test
    void aKeyChangedByAnotherHandIsWrittenAgain() throws Exception {
        Dcs a = counted("a");
        Dcs b = store.connect(null, "quiet", "b", TTL);
        ClusterStatus status = new ClusterStatus(1L, Map.of(), List.of());
        a.read();
        a.writeStatus(status);
        b.writeStatus(new ClusterStatus(7L, Map.of(), List.of()));
        a.read();
        a.writeStatus(status);
        assertThat(b.read().status().optime()).isEqualTo(1L);
    }
}
