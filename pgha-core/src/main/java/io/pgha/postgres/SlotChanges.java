package io.pgha.postgres;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the HA engine wants done to the local replication slots in one cycle, carried out in this
 * order by {@link PostgresController#changeReplicationSlots}: drop, create, advance, claim. Each
 * step is tried on its own: one slot that fails (an active slot cannot be dropped) does not stop
 * the others.
 *
 * @param drop slots to drop (an active one is left for a later cycle)
 * @param create slots to create: physical ones reserve WAL at once; logical ones are created in
 *     their database with their plugin (only on a primary)
 * @param advance slot name to the WAL position to move it to with {@code
 *     pg_replication_slot_advance} (PostgreSQL moves it no further than the replayed position on
 *     a replica)
 * @param claim existing slots that pgha now manages (a member's or a permanent slot found already
 *     there), so that it drops them once they are no longer wanted
 */
public record SlotChanges(List<String> drop, List<NewSlot> create, Map<String, Long> advance, Set<String> claim) {

    public static final SlotChanges NONE = new SlotChanges(List.of(), List.of(), Map.of(), Set.of());

    public SlotChanges {
        drop = drop == null ? List.of() : List.copyOf(drop);
        create = create == null ? List.of() : List.copyOf(create);
        advance = advance == null ? Map.of() : Map.copyOf(advance);
        claim = claim == null ? Set.of() : Set.copyOf(claim);
    }

    /** Creates physical slots named after these members (Patroni's slot names, {@link SlotNames}). */
    public static SlotChanges physicalSlotsFor(String... members) {
        List<NewSlot> create = new java.util.ArrayList<>();
        for (String m : members) {
            create.add(NewSlot.physical(SlotNames.fromMemberName(m)));
        }
        return new SlotChanges(List.of(), create, Map.of(), Set.of());
    }

    public boolean isEmpty() {
        return drop.isEmpty() && create.isEmpty() && advance.isEmpty() && claim.isEmpty();
    }

    /**
     * A slot to create.
     *
     * @param name its name
     * @param type {@link ReplicationSlot#PHYSICAL} or {@link ReplicationSlot#LOGICAL}
     * @param database a logical slot's database
     * @param plugin a logical slot's output plugin
     */
    public record NewSlot(String name, String type, String database, String plugin) {
        public static NewSlot physical(String name) {
            return new NewSlot(name, ReplicationSlot.PHYSICAL, null, null);
        }
    }
}
