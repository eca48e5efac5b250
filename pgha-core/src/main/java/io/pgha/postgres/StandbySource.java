package io.pgha.postgres;

import io.pgha.dcs.Member;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a member of a standby cluster (Patroni's {@code standby_cluster} in the dynamic
 * configuration) takes from that section when it starts or follows an upstream, carried in the
 * upstream's {@link Member} record under {@link #KEY}. The engine attaches it; a record read from
 * the DCS never holds one (JSON decodes to maps and strings, not to this type), so nothing written
 * there can set a {@code restore_command}.
 *
 * <p>The standby leader's upstream is the remote primary ({@code remote} true): it streams from
 * {@code host}/{@code port} through {@code primary_slot_name} (no slot without one), and also
 * takes {@code recovery_min_apply_delay}. The other members follow the standby leader as usual and
 * take only {@code restore_command} and {@code archive_cleanup_command}, as Patroni.
 *
 * @param remote whether the upstream is the remote primary (the member is the standby leader)
 * @param primarySlotName the slot on the remote primary; null for none
 * @param restoreCommand null for the member's own {@code recovery_conf}
 * @param archiveCleanupCommand null for the member's own {@code recovery_conf}
 * @param recoveryMinApplyDelay null for none; only on the standby leader
 * @param createReplicaMethods the methods a clone from the remote primary uses, in order; empty
 *     for the member's own {@code create_replica_methods}
 */
public record StandbySource(
        boolean remote,
        String primarySlotName,
        String restoreCommand,
        String archiveCleanupCommand,
        String recoveryMinApplyDelay,
        List<String> createReplicaMethods) {

    /** The key of {@link Member#data()} that holds it. */
    public static final String KEY = "pgha.standby_source";

    public StandbySource {
        createReplicaMethods = List.copyOf(Objects.requireNonNull(createReplicaMethods, "createReplicaMethods"));
    }

    /** The one {@code member} carries, or null. */
    public static StandbySource of(Member member) {
        return member != null && member.data().get(KEY) instanceof StandbySource s ? s : null;
    }

    /** The recovery settings it overrides, in the order they are written (nulls left out). */
    public Map<String, String> recoverySettings() {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        if (restoreCommand != null) {
            m.put("restore_command", restoreCommand);
        }
        if (archiveCleanupCommand != null) {
            m.put("archive_cleanup_command", archiveCleanupCommand);
        }
        if (remote && recoveryMinApplyDelay != null) {
            m.put("recovery_min_apply_delay", recoveryMinApplyDelay);
        }
        return m;
    }
}
