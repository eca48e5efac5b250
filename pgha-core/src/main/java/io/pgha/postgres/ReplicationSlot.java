package io.pgha.postgres;

/**
 * A replication slot as the local PostgreSQL reports it ({@code pg_replication_slots}, temporary
 * slots left out).
 *
 * @param name the slot's name
 * @param type {@code physical} or {@code logical}
 * @param plugin the output plugin of a logical slot, null for a physical one
 * @param database the database of a logical slot, null for a physical one
 * @param active a connection streams from it now
 * @param restartLsn the oldest WAL position it keeps, 0 when it reserves none
 * @param confirmedFlushLsn the position its logical consumer confirmed, 0 for a physical slot
 * @param managed pgha created it, or took it over as a member or permanent slot: only such a slot is
 *     ever dropped for no longer being wanted (docs/postgres.md, "Replication slots")
 */
public record ReplicationSlot(
        String name,
        String type,
        String plugin,
        String database,
        boolean active,
        long restartLsn,
        long confirmedFlushLsn,
        boolean managed) {

    public static final String PHYSICAL = "physical";
    public static final String LOGICAL = "logical";

    /** An inactive physical slot, managed or not (tests and simulations). */
    public static ReplicationSlot physical(String name, long restartLsn, boolean managed) {
        return new ReplicationSlot(name, PHYSICAL, null, null, false, restartLsn, 0, managed);
    }

    public boolean isLogical() {
        return LOGICAL.equals(type);
    }
}
