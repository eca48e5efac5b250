package io.pgha.dcs;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The name a running primary goes by where other tools read it: the {@code role} of the member
 * key, of {@code GET /} and {@code GET /patroni}, and the role argument of the callbacks. Patroni
 * 3.x (Debian bookworm ships 3.0.2) says {@code master}; Patroni 4 says {@code primary}. pgha uses
 * the name the cluster's other members read: {@code primary} when another member's key was written
 * by Patroni 4 or later and none by an older Patroni, else {@code master}, so that a pgha cluster,
 * or a mixed one with Patroni 3.x, answers as Patroni 3.x does (its tools and scripts, HAProxy
 * checks written for it, {@code patronictl}). Inside pgha the role is always {@code primary}; this
 * class only names it on the way out. Reading, both names are accepted everywhere. Stateless.
 */
public final class RoleNames {
    /** Patroni 3.x's name of a running primary. */
    public static final String MASTER = "master";

    public static final String PRIMARY = "primary";

    private static final Pattern MAJOR = Pattern.compile("^(\\d+)\\.");

    private RoleNames() {}

    /**
     * {@code role} as written for the others: {@code primary} becomes {@link #primaryName}'s name;
     * every other role ({@code replica}, {@code standby_leader}, ...) is the same in both versions.
     */
    public static String wire(String role, ClusterState cluster, String me) {
        return PRIMARY.equals(role) ? primaryName(cluster, me) : role;
    }

    /** The name of a running primary in this cluster: {@code master} unless only Patroni 4+ members say otherwise. */
    public static String primaryName(ClusterState cluster, String me) {
        if (cluster == null) {
            return MASTER;
        }
        boolean patroni4 = false;
        for (Member m : cluster.members()) {
            if (m.name().equals(me)) {
                continue;
            }
            int major = patroniMajor(m.data().get("version"));
            if (major >= 1 && major <= 3) {
                return MASTER;
            }
            patroni4 |= major >= 4;
        }
        return patroni4 ? PRIMARY : MASTER;
    }

    /** {@code master} read as {@code primary}; anything else as it is. */
    public static String normalize(String role) {
        return MASTER.equals(role) ? PRIMARY : role;
    }

    /**
     * The major version of the Patroni that wrote a member key, from its {@code version} field; 0
     * when absent or when pgha wrote it (pgha's own versions are 0.x).
     */
    static int patroniMajor(Object version) {
        if (version == null) {
            return 0;
        }
        Matcher m = MAJOR.matcher(version.toString().trim());
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
    }
}
