package io.pgha.examples.ctl;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Member;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** What every verb shares: the session, member selection by role, confirmations, timestamps. */
abstract class Verb implements Callable<Integer> {
    static final DateTimeFormatter ISO_SECONDS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ssxxx");

    @ParentCommand
    CtlCommand root;

    @Option(
            names = {"-h", "--help"},
            usageHelp = true,
            description = "Show this help message and exit.")
    boolean help;

    Session session() {
        return root.session();
    }

    /** patronictl's role filter values. */
    enum Role {
        leader,
        primary,
        standby_leader,
        replica,
        standby,
        any;

        static Role parse(String s) {
            try {
                return valueOf(s.toLowerCase(Locale.ROOT).replace('-', '_'));
            } catch (IllegalArgumentException e) {
                throw new CtlException(
                        "unknown role '" + s + "' (known: leader, primary, standby-leader, replica," + " standby, any)",
                        Ctl.EXIT_USAGE);
            }
        }
    }

    /** patronictl's {@code get_all_members}. */
    static List<Member> membersWithRole(ClusterState cluster, Role role) {
        List<Member> out = new ArrayList<>();
        String leader = cluster.hasLeader() ? cluster.leader().name() : null;
        switch (role) {
            case leader, primary, standby_leader ->
                cluster.leaderMember().ifPresent(m -> {
                    boolean standbyLeader = "standby_leader".equals(m.role());
                    if (role == Role.leader
                            || (role == Role.primary && !standbyLeader)
                            || (role == Role.standby_leader && standbyLeader)) {
                        out.add(m);
                    }
                });
            case any -> out.addAll(cluster.members());
            default ->
                cluster.members().stream().filter(m -> !m.name().equals(leader)).forEach(out::add);
        }
        return out;
    }

    /**
     * patronictl's {@code get_members}: the members with {@code role}, narrowed to {@code names};
     * prints the table first; asks which member when none is named (unless forced); confirms.
     */
    List<Member> selectMembers(
            ClusterState cluster,
            String clusterName,
            List<String> names,
            Role role,
            boolean force,
            String action,
            boolean confirm) {
        Session s = session();
        List<Member> members = membersWithRole(cluster, role);
        Set<String> candidates = new LinkedHashSet<>();
        members.forEach(m -> candidates.add(m.name()));
        if (names.isEmpty() && candidates.isEmpty()) {
            throw new CtlException(
                    clusterName + " cluster doesn't have any members" + (role == Role.any ? "" : " with role " + role));
        }
        MemberTable.print(s.out, cluster, clusterName, false, "pretty");
        List<String> chosen = new ArrayList<>();
        if (!names.isEmpty()) {
            for (String n : names) {
                if (!cluster.member(n).isPresent()) {
                    throw new CtlException(n + " is not a member of cluster " + clusterName);
                }
                if (candidates.contains(n)) {
                    chosen.add(n);
                }
            }
            if (chosen.isEmpty()) {
                throw new CtlException("no " + role + " among the members " + String.join(", ", names));
            }
        } else if (!action.equals("reinitialize")) {
            chosen.addAll(candidates);
        }
        if (chosen.isEmpty() && !force) {
            String answer = s.prompter.prompt(
                    "Which member do you want to " + action + " [" + String.join(", ", candidates) + "]?", "");
            if (!answer.isEmpty()) {
                chosen.add(answer);
            }
        }
        if (chosen.isEmpty()) {
            throw new CtlException("no member to " + action + ": name one (" + String.join(", ", candidates) + ")");
        }
        for (String n : chosen) {
            if (!candidates.contains(n)) {
                throw new CtlException(n + " is not a member of cluster " + clusterName
                        + (role == Role.any ? "" : " with role " + role));
            }
        }
        List<Member> selected =
                members.stream().filter(m -> chosen.contains(m.name())).toList();
        if (confirm) {
            confirmMembers(selected, force, action, null, false);
        }
        return selected;
    }

    void confirmMembers(
            List<Member> members, boolean force, String action, OffsetDateTime scheduledAt, boolean pending) {
        if (force) {
            return;
        }
        String names = String.join(", ", members.stream().map(Member::name).toList());
        Prompter p = session().prompter;
        if (scheduledAt != null) {
            boolean ok = pending
                    ? p.confirm("The nodes needing a restart will be identified at the scheduled time, and might be"
                            + " different from the ones showing pending restart right now. Is this fine?")
                    : p.confirm("Are you sure you want to schedule " + action + " of members " + names + " at "
                            + ISO_SECONDS.format(scheduledAt) + "?");
            if (!ok) {
                throw new CtlException("Aborted scheduled " + action);
            }
        } else if (!p.confirm("Are you sure you want to " + action + " members " + names + "?")) {
            throw new CtlException("Aborted " + action);
        }
    }

    /**
     * Restart, reload and reinit take {@code [CLUSTER] [MEMBER...]}: the first word is the cluster
     * when it is the config's scope, when no scope is configured, or when it names no member of
     * the scope's cluster; otherwise every word is a member of the scope's cluster.
     */
    String[] splitClusterAndMembers(List<String> words) {
        String scope = session().config().scope();
        if (words.isEmpty()) {
            return new String[] {session().clusterName(null)};
        }
        String first = words.get(0);
        if (scope == null
                || scope.isBlank()
                || first.equals(scope)
                || session().read(scope).member(first).isEmpty()) {
            List<String> rest = words.subList(1, words.size());
            String[] r = new String[rest.size() + 1];
            r[0] = first;
            for (int i = 0; i < rest.size(); i++) {
                r[i + 1] = rest.get(i);
            }
            return r;
        }
        String[] r = new String[words.size() + 1];
        r[0] = scope;
        for (int i = 0; i < words.size(); i++) {
            r[i + 1] = words.get(i);
        }
        return r;
    }

    /** patronictl's {@code parse_scheduled}: null or "now" is now; no offset means the local zone. */
    static OffsetDateTime parseScheduled(String text) {
        if (text == null || text.isBlank() || text.strip().equals("now")) {
            return null;
        }
        String t = text.strip().replace(' ', 'T');
        try {
            return OffsetDateTime.parse(t);
        } catch (DateTimeParseException e) {
            try {
                return ZonedDateTime.of(LocalDateTime.parse(t), ZoneId.systemDefault())
                        .toOffsetDateTime();
            } catch (DateTimeParseException e2) {
                throw new CtlException("unable to parse scheduled timestamp (" + text
                        + "); it should be in an unambiguous format (e.g. ISO 8601: 2026-01-31T10:00+00:00)");
            }
        }
    }

    /** patronictl's timestamp prefix, {@code 2026-01-01 10:00:00.123456}. */
    static String timestamp() {
        return DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS")
                .format(LocalDateTime.ofInstant(Instant.now(), ZoneId.systemDefault()));
    }

    static String nextHourExample() {
        return DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm")
                .format(LocalDateTime.now(ZoneId.systemDefault()).plusHours(1));
    }
}
