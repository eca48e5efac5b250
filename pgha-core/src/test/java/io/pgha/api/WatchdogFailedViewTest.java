package io.pgha.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** Patroni's {@code watchdog_failed: true} in {@code GET /patroni}, shown only while the node reports it. */
class WatchdogFailedViewTest extends ApiTestSupport {

    @Test
    void patroniViewShowsWatchdogFailedOnlyWhileTheNodeSaysSo() throws Exception {
        FakeNode node = new FakeNode(primary(Map.of()), dcs("pg0"));
        Http http = new Http(start(node));
        assertThat(Http.json(http.get("/patroni"))).doesNotContainKey("watchdog_failed");
        node.watchdogFailed = true;
        assertThat(Http.json(http.get("/patroni"))).containsEntry("watchdog_failed", true);
        assertThat(Http.json(http.get("/health"))).containsEntry("watchdog_failed", true);
    }
}
