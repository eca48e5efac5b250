package io.pgha.ha;

import io.pgha.dcs.Member;
import io.pgha.rest.PatroniClient;
import io.pgha.rest.RestApiConfig;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The node's default way to reach the other members: {@link PatroniClient} as the engine's {@link
 * PeerProbe} ({@code GET /patroni} on every member at once) and {@link FailsafeProbe} ({@code POST
 * /failsafe}), with the shared REST API settings' credentials and TLS material when given, else plain
 * HTTP. Thread-safe.
 */
final class PeerAccess {
    /** Replaced whole by {@link #reconfigure}; each call reads it once. */
    private volatile PatroniClient client;

    private PeerAccess(PatroniClient client) {
        this.client = client;
    }

    /** @param restApi the members' shared REST settings (Patroni's {@code restapi}), or null */
    static PeerAccess over(RestApiConfig restApi) {
        return new PeerAccess(client(restApi));
    }

    private static PatroniClient client(RestApiConfig restApi) {
        return restApi == null ? PatroniClient.create() : PatroniClient.create(restApi);
    }

    /**
     * The shared REST settings of a reloaded file: the calls from now on use their credentials and
     * TLS material.
     *
     * @throws IllegalArgumentException when the TLS files cannot be used; the client stays
     */
    void reconfigure(RestApiConfig restApi) {
        client = client(restApi);
    }

    /** The longest wait for one call: its own timeout bounds it, this is the belt to those braces. */
    private static long bound(Duration timeout) {
        return timeout.toMillis() + 500;
    }

    PeerProbe peerProbe() {
        return (members, timeout) -> {
            PatroniClient c = client;
            Map<String, CompletableFuture<Optional<Map<String, Object>>>> calls = new LinkedHashMap<>();
            for (Member m : members) {
                if (m.apiUrl() != null) {
                    calls.put(
                            m.name(),
                            CompletableFuture.supplyAsync(() -> c.getPatroni(m.apiUrl(), timeout))
                                    .completeOnTimeout(Optional.empty(), bound(timeout), TimeUnit.MILLISECONDS));
                }
            }
            Map<String, PeerStatus> result = new LinkedHashMap<>();
            calls.forEach((name, call) ->
                    call.join().ifPresent(json -> result.put(name, PeerStatus.fromPatroniJson(name, json))));
            return result;
        };
    }

    FailsafeProbe failsafeProbe() {
        return (members, body, timeout) -> {
            PatroniClient c = client;
            Map<String, CompletableFuture<Boolean>> calls = new LinkedHashMap<>();
            members.forEach((name, url) -> calls.put(
                    name,
                    CompletableFuture.supplyAsync(() -> c.postFailsafe(url, body, timeout))
                            .completeOnTimeout(false, bound(timeout), TimeUnit.MILLISECONDS)));
            Set<String> agreed = new LinkedHashSet<>();
            calls.forEach((name, call) -> {
                if (call.join()) {
                    agreed.add(name);
                }
            });
            return agreed;
        };
    }
}
