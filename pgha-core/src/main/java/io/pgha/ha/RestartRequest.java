package io.pgha.ha;

import java.time.Duration;
import java.time.Instant;

/**
 * A restart asked for through {@code POST /restart} or {@code ctl restart}, with Patroni's filters.
 *
 * @param schedule when to restart (null: now)
 * @param role only if this node has this role ({@code primary} / {@code master} / {@code replica}); null: any
 * @param postgresVersion only if the running server is older than this (e.g. "15.4"); null: any
 * @param restartPending only if PostgreSQL reports a pending restart
 * @param timeout how long the restart may take (null: no limit beyond the controller's)
 */
public record RestartRequest(
        Instant schedule, String role, String postgresVersion, boolean restartPending, Duration timeout) {}
