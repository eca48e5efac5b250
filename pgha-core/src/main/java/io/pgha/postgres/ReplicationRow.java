package io.pgha.postgres;

/**
 * One row of {@code pg_stat_replication} on a primary, with Patroni's field names.
 *
 * @param usename the replication user
 * @param applicationName the standby's application_name (pgha sets it to the member name)
 * @param clientAddr the standby's address
 * @param state streaming, catchup, backup, ...
 * @param syncState async, sync, potential, quorum
 * @param syncPriority the standby's priority in synchronous_standby_names
 * @param writeLsn the standby's write position
 * @param flushLsn the standby's flush position
 * @param replayLsn the standby's replay position
 */
public record ReplicationRow(
        String usename,
        String applicationName,
        String clientAddr,
        String state,
        String syncState,
        int syncPriority,
        long writeLsn,
        long flushLsn,
        long replayLsn) {}
