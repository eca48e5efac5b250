package io.pgha.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.rest.RestApiConfig;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Issue 19: what an unauthenticated, hostile client can send must neither hurt nor starve the node. */
class HostileInputTest extends ApiTestSupport {
    private RestApiServer primaryServer() throws Exception {
        return start(new FakeNode(primary(Map.of()), dcs("pg0")));
    }

    @Test
    void aHugeLagExponentIsRefusedQuickly() throws Exception {
        Http http = new Http(primaryServer());
        long start = System.nanoTime();
        for (String lag : List.of("1e300000000", "9".repeat(30), "1".repeat(100) + "kB")) {
            HttpResponse<String> r = http.get("/replica?lag=" + lag);
            assertThat(r.statusCode()).as(lag).isEqualTo(400);
            assertThat(r.body()).startsWith("lag: ");
            assertThat(http.send("OPTIONS", "/replica?lag=" + lag, null).statusCode())
                    .isEqualTo(400);
        }
        // a tiny number is zero, computed without 10^300000000 either
        assertThat(http.get("/replica?lag=1e-300000000").statusCode()).isEqualTo(503);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(5_000);
        // Patroni's lenience stays for what is merely not a size: no limit
        assertThat(http.get("/primary?lag=lots").statusCode()).isEqualTo(200);
        assertThat(http.get("/primary?lag=1e-30").statusCode()).isEqualTo(200);
    }

    @Test
    void stalledSocketsDoNotStarveHealthChecks() throws Exception {
        RestApiServer server = start(
                new FakeNode(primary(Map.of()), dcs("pg0")),
                RestApiConfig.builder().listen("127.0.0.1", 0).threadPoolSize(4).build());
        int port = server.address().getPort();
        Http http = new Http(server);
        assertThat(http.send("OPTIONS", "/primary", null).statusCode()).isEqualTo(200);
        List<Socket> stalled = new ArrayList<>();
        try {
            for (int i = 0; i < 40; i++) {
                stalled.add(
                        i % 2 == 0
                                ? RawHttp.stalled(port, "GET /patroni HTTP/1.1\r\nHost: x\r\n")
                                : RawHttp.stalled(
                                        port, "POST /reload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"));
            }
            Thread.sleep(300); // every one of them is being read by now
            long worst = 0;
            for (int i = 0; i < 5; i++) {
                long t0 = System.nanoTime();
                int code = RawHttp.status(port, "OPTIONS /primary HTTP/1.1\r\nHost: x\r\n\r\n", 20_000);
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                worst = Math.max(worst, ms);
                assertThat(code).isEqualTo(200);
            }
            System.out.println("OPTIONS /primary with 40 stalled sockets: worst " + worst + " ms");
            assertThat(worst).as("worst health-check latency (ms)").isLessThan(3_000);
        } finally {
            for (Socket s : stalled) {
                s.close();
            }
        }
    }

    @Test
    void longUrisManyParametersDeepAndHugeBodiesAreRefusedWithout5xx() throws Exception {
        FakeNode node = new FakeNode(primary(Map.of()), dcs("pg0"));
        RestApiServer server = start(node);
        int port = server.address().getPort();
        Http http = new Http(server);
        assertThat(http.get("/replica?x=" + "a".repeat(5000)).statusCode()).isEqualTo(414);
        assertThat(http.get("/replica?" + "a=1&".repeat(100)).statusCode()).isEqualTo(400);
        // JSON nested deeper than the limit: 400, not a StackOverflowError or 500
        String deep = "{\"a\":".repeat(5000) + "1" + "}".repeat(5000);
        assertThat(deep.length()).isLessThan(64 * 1024);
        HttpResponse<String> r = http.send("PATCH", "/config", deep);
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(http.send("POST", "/switchover", "[".repeat(20_000)).statusCode())
                .isEqualTo(400);
        // a body beyond 64 KiB is refused on its declared length, before a byte of it is read (the
        // connection is closed then, so a client still sending sees a reset: nothing is sent here)
        assertThat(RawHttp.status(port, "PATCH /config HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n", 5000))
                .isEqualTo(413);
        assertThat(RawHttp.status(
                        port, "POST /restart HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\n\r\n{}", 5000))
                .isEqualTo(413);
        assertThat(RawHttp.status(port, "POST /restart HTTP/1.1\r\nHost: x\r\nContent-Length: 1e9\r\n\r\n{}", 5000))
                .isIn(-1, 400);
        // a huge number where a number is expected
        assertThat(http.send("POST", "/restart", "{\"timeout\":1" + "0".repeat(90) + "}")
                        .statusCode())
                .isEqualTo(400);
        assertThat(http.send("POST", "/restart", "{\"timeout\":\"1e300000000\"}")
                        .statusCode())
                .isEqualTo(400);
        assertThat(http.send("POST", "/restart", "{\"timeout\":1e300000000}").statusCode())
                .isEqualTo(400);
        assertThat(node.restarts).isEmpty();
        assertThat(node.dcs.read().config()).isNull();
    }

    @Test
    void internalErrorsDoNotLeakTheExceptionText() throws Exception {
        FakeNode node = new FakeNode(primary(Map.of()), dcs("pg0"));
        node.viewFailure = new IllegalStateException("secret: /etc/pgha/patroni.yml password=hunter2");
        HttpResponse<String> r = new Http(start(node)).get("/patroni");
        assertThat(r.statusCode()).isEqualTo(500);
        assertThat(r.body()).doesNotContain("hunter2").doesNotContain("IllegalStateException");
    }

    @Test
    void schedulesAreBounded() throws Exception {
        FakeNode node = new FakeNode(primary(Map.of()), dcs("pg0"));
        Http http = new Http(start(node));
        String tenYears = java.time.OffsetDateTime.now(java.time.ZoneOffset.UTC)
                .plusYears(10)
                .toString();
        for (String at : List.of("+99999-01-01T00:00:00Z", tenYears)) {
            HttpResponse<String> s = http.send(
                    "POST",
                    "/switchover",
                    "{\"leader\":\"pg0\",\"candidate\":\"pg1\",\"scheduled_at\":\"" + at + "\"}");
            assertThat(s.statusCode()).as(at).isEqualTo(400);
            HttpResponse<String> r = http.send("POST", "/restart", "{\"schedule\":\"" + at + "\"}");
            assertThat(r.statusCode()).as(at).isEqualTo(400);
        }
        assertThat(http.send("POST", "/restart", "{\"schedule\":\"" + "2030-01-01T00:00:00".repeat(1000) + "Z\"}")
                        .statusCode())
                .isEqualTo(422);
        assertThat(node.restarts).isEmpty();
        assertThat(node.dcs.read().failover()).isNull();
    }

    @Test
    void writesRefuseOtherContentTypesAndCrossOriginBrowsers() throws Exception {
        FakeNode node = new FakeNode(primary(Map.of()), dcs("pg0"));
        RestApiServer server = start(node);
        int port = server.address().getPort();
        String reload = "POST /reload HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n";
        // patronictl 3.0.2 and Patroni's peers send a body without any Content-Type: accepted
        assertThat(RawHttp.status(port, reload + "Content-Length: 2\r\n\r\n{}", 5000))
                .isEqualTo(202);
        assertThat(RawHttp.status(
                        port,
                        reload + "Content-Type: application/json; charset=utf-8\r\n" + "Content-Length: 2\r\n\r\n{}",
                        5000))
                .isEqualTo(202);
        assertThat(node.reloads).hasValue(2);
        // what an HTML form or a no-cors fetch sends
        for (String type :
                List.of("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x")) {
            assertThat(RawHttp.status(port, reload + "Content-Type: " + type + "\r\nContent-Length: 2\r\n\r\n{}", 5000))
                    .as(type)
                    .isEqualTo(415);
        }
        for (String h : List.of(
                "Origin: http://evil.example\r\n",
                "Origin: null\r\n",
                "Origin: http://127.0.0.1:1\r\n",
                "Sec-Fetch-Site: cross-site\r\n",
                "Sec-Fetch-Site: same-site\r\n")) {
            assertThat(RawHttp.status(port, reload + h + "Content-Length: 0\r\n\r\n", 5000))
                    .as(h)
                    .isEqualTo(403);
        }
        // DNS rebinding: the page's name now points here, Origin and Host agree, the name is unknown
        assertThat(RawHttp.status(
                        port,
                        "DELETE /restart HTTP/1.1\r\nHost: evil.example:" + port + "\r\nOrigin: http://evil.example:"
                                + port + "\r\n\r\n",
                        5000))
                .isEqualTo(403);
        // the API's own origin is fine
        assertThat(RawHttp.status(
                        port,
                        reload + "Origin: http://127.0.0.1:" + port + "\r\nSec-Fetch-Site: same-origin\r\n"
                                + "Content-Length: 0\r\n\r\n",
                        5000))
                .isEqualTo(202);
        assertThat(node.reloads).hasValue(3);
    }

    @Test
    void failsafeHeartbeatsComeOnlyFromTheLeaderInTheFailsafeKey() throws Exception {
        Map<String, Object> config = Map.of("failsafe_mode", true);
        FakeNode node = new FakeNode(replica(100, 100, "streaming", config, Map.of(), null), dcs("pg1"));
        Http http = new Http(start(node));
        String good = "{\"name\":\"pg0\",\"api_url\":\"http://127.0.0.1:8008/patroni\","
                + "\"conn_url\":\"postgres://127.0.0.1:5432/postgres\",\"slots\":{\"pg1\":100}}";
        // no failsafe key read yet: nobody is named
        assertThat(http.send("POST", "/failsafe", good).statusCode()).isEqualTo(403);
        io.pgha.dcs.ClusterState withKey = io.pgha.dcs.ClusterState.builder("batman")
                .leader("pg0", 1)
                .failsafe("{\"pg0\":\"http://127.0.0.1:8008/patroni\",\"pg1\":\"http://127.0.0.1:8009/patroni\"}")
                .build();
        node.update(x -> States.withCluster(x, withKey, config));
        for (String bad : List.of(
                "{\"name\":\"pg2\",\"api_url\":\"http://127.0.0.1:8008/patroni\"}",
                "{\"name\":\"pg0\",\"api_url\":\"http://10.6.6.6:8008/patroni\"}",
                "{\"name\":\"pg1\",\"api_url\":\"http://127.0.0.1:8009/patroni\"}")) {
            assertThat(http.send("POST", "/failsafe", bad).statusCode()).as(bad).isEqualTo(403);
        }
        for (String malformed : List.of(
                "{\"anything\":1}",
                "{\"name\":7,\"api_url\":\"http://127.0.0.1:8008/patroni\"}",
                "{\"name\":\"pg0\"}",
                "{\"name\":\"pg0\",\"api_url\":\"http://127.0.0.1:8008/patroni\",\"slots\":[1]}",
                "{\"name\":\"pg0\",\"api_url\":\"http://127.0.0.1:8008/patroni\",\"timeline\":\"x\"}")) {
            assertThat(http.send("POST", "/failsafe", malformed).statusCode())
                    .as(malformed)
                    .isEqualTo(400);
        }
        assertThat(node.failsafeHeartbeats).isEmpty();
        HttpResponse<String> ok = http.send("POST", "/failsafe", good);
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.body()).isEqualTo("Accepted");
        assertThat(node.failsafeHeartbeats).hasSize(1);
    }

    @Test
    void aSlowReloadHoldsNoApiThreadAndReloadsCoalesce() throws Exception {
        FakeNode node = new FakeNode(primary(Map.of()), dcs("pg0"));
        node.reloadMillis = 4_000;
        Http http = new Http(start(node));
        List<Thread> callers = new ArrayList<>();
        List<HttpResponse<String>> answers = new java.util.concurrent.CopyOnWriteArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < 6; i++) {
            Thread t = new Thread(() -> answers.add(http.send("POST", "/reload", null)));
            t.start();
            callers.add(t);
        }
        for (Thread t : callers) {
            t.join(30_000);
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertThat(answers).hasSize(6);
        for (HttpResponse<String> r : answers) {
            assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        }
        // every caller waited at most the 2 s bound, none for the 4 s reload
        assertThat(ms).isLessThan(3_900);
        // a view is served meanwhile
        assertThat(http.get("/patroni").statusCode()).isEqualTo(200);
        Thread.sleep(9_000);
        // one reload for the first request, at most one more for all those that came while it ran
        // (none more when they all came before the first one started)
        assertThat(node.reloads.get()).isBetween(1, 2);
    }

    @Test
    void requestStringsAreBoundedAndLoggedWithoutForgedLines() throws Exception {
        FakeNode node = new FakeNode(primary(Map.of()), dcs("pg0"));
        Http http = new Http(start(node));
        HttpResponse<String> r =
                http.send("POST", "/switchover", "{\"leader\":\"pg0\",\"candidate\":\"" + "p".repeat(1000) + "\"}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).isEqualTo("'candidate' is longer than 256 characters");
        r = http.send("POST", "/restart", "{\"postgres_version\":\"" + "9".repeat(10_000) + "\"}");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body().length()).isLessThan(300);
        assertThat(Json.loggable("pg0\n2026-01-01 INFO forged line"))
                .isEqualTo("pg0\\u000a2026-01-01 INFO forged line");
        assertThat(Json.loggable("x".repeat(500))).hasSize(100 + "...(500 chars)".length());
        assertThat(node.dcs.read().failover()).isNull();
    }

    @Test
    void anAllowlistThatDoesNotResolveFailsClosed() throws Exception {
        FakeNode node = new FakeNode(primary(Map.of()), dcs("pg0"));
        Http http = new Http(start(
                node,
                RestApiConfig.builder()
                        .listen("127.0.0.1", 0)
                        .allowlist(List.of("no-such-host.invalid"))
                        .build()));
        HttpResponse<String> r = http.send("POST", "/reload", null);
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(node.reloads).hasValue(0);
        // reads stay open
        assertThat(http.get("/patroni").statusCode()).isEqualTo(200);
    }
}
