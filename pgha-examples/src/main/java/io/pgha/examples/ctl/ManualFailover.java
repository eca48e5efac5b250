package io.pgha.examples.ctl;

import io.pgha.config.DynamicConfig;
import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.Failover;
import io.pgha.dcs.Member;
import java.time.OffsetDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * patronictl's {@code _do_failover_or_switchover}: validates the leader and the candidate against
 * the DCS, asks what was not given (unless forced), then posts {@code /switchover} or
 * {@code /failover} to the leader (to the candidate when there is no leader). When that API
 * cannot be reached at all, a switchover writes the {@code failover} key directly, as patronictl
 * does, and the leader's HA loop carries it out.
 */
final class ManualFailover {
    private final Verb verb;
    private final String action;

    ManualFailover(Verb verb, String action) {
        this.verb = verb;
        this.action = action;
    }

    int run(String clusterArg, String leaderArg, String candidate, String scheduled, boolean force) {
        Session s = verb.session();
        String clusterName = s.clusterName(clusterArg);
        ClusterState cluster = s.read(clusterName);
        s.out.println("Current cluster topology");
        MemberTable.print(s.out, cluster, clusterName, false, "pretty");
        DynamicConfig config = DynamicConfig.from(
                cluster.config() == null ? Map.of() : cluster.config().data());
        String clusterLeader = cluster.hasLeader() ? cluster.leader().name() : null;
        String leader = leaderArg;
        boolean switchover = action.equals("switchover");
        if (switchover) {
            if (clusterLeader == null) {
                throw new CtlException("This cluster has no leader");
            }
            if (leader == null) {
                leader = force ? clusterLeader : s.prompter.prompt("Primary", clusterLeader);
            }
            if (!clusterLeader.equals(leader)) {
                throw new CtlException("Member " + leader + " is not the leader of cluster " + clusterName);
            }
        }
        List<String> candidates = cluster.members().stream()
                .filter(m -> !m.name().equals(clusterLeader) && !m.noFailover())
                .map(Member::name)
                .sorted()
                .toList();
        if (candidates.isEmpty()) {
            throw new CtlException("No candidates found to " + action + " to");
        }
        if (candidate == null && !force) {
            candidate = s.prompter.prompt("Candidate " + candidates, "");
        }
        if (candidate != null && candidate.isEmpty()) {
            candidate = null;
        }
        if (!switchover && candidate == null) {
            throw new CtlException("Failover could be performed only to a specific candidate");
        }
        if (candidate != null && !candidates.contains(candidate)) {
            if (candidate.equals(clusterLeader)) {
                throw new CtlException("Member " + candidate + " is already the leader of cluster " + clusterName);
            }
            throw new CtlException("Member " + candidate + " does not exist in cluster " + clusterName
                    + " or is tagged as nofailover");
        }
        if (!force
                && !switchover
                && config.isSynchronousMode()
                && cluster.sync() != null
                && !cluster.sync().syncStandbys().isEmpty()
                && !cluster.sync().isSynchronous(candidate)
                && !s.prompter.confirm(
                        "Are you sure you want to failover to the asynchronous node " + candidate + "?")) {
            throw new CtlException("Aborting " + action);
        }
        OffsetDateTime scheduledAt = null;
        if (switchover) {
            if (scheduled == null && !force) {
                scheduled = s.prompter.prompt(
                        "When should the switchover take place (e.g. " + Verb.nextHourExample() + " ) ", "now");
            }
            scheduledAt = Verb.parseScheduled(scheduled);
            if (scheduledAt != null && cluster.isPaused()) {
                throw new CtlException("Can't schedule switchover in the paused state");
            }
        }
        String scheduledText = scheduledAt == null ? null : Verb.ISO_SECONDS.format(scheduledAt);
        if (!force) {
            String demote = clusterLeader == null ? "" : ", demoting current leader " + clusterLeader;
            boolean ok = scheduledText != null
                    ? s.prompter.confirm("Are you sure you want to schedule switchover of cluster " + clusterName
                            + " at " + scheduledText + demote + "?")
                    : s.prompter.confirm(
                            "Are you sure you want to " + action + " cluster " + clusterName + demote + "?");
            if (!ok) {
                throw new CtlException("Aborting " + (scheduledText != null ? "scheduled " : "") + action);
            }
        }
        Map<String, Object> body = new LinkedHashMap<>();
        if (switchover) {
            body.put("leader", leader);
        }
        if (candidate != null) {
            body.put("candidate", candidate);
        }
        if (scheduledText != null) {
            body.put("scheduled_at", scheduledText);
        }
        String target = clusterLeader != null ? clusterLeader : candidate;
        Member member = cluster.member(target).orElse(null);
        try {
            if (member == null) {
                throw new PatroniApi.Unreachable("member " + target + " has no member key in the DCS", null);
            }
            PatroniApi.Response r = s.api().call(member, "POST", action, body);
            if (r.status() == 200 || r.status() == 202) {
                s.out.println(Verb.timestamp() + " " + r.text());
            } else {
                String result =
                        r.text().toLowerCase(Locale.ROOT).contains("status unknown") ? "result unknown" : "failed";
                throw new CtlException(title(action) + " " + result + ", details: " + r.status() + ", " + r.text());
            }
        } catch (PatroniApi.Unreachable e) {
            s.err.println("warning: " + CtlException.oneLine(e.getMessage()));
            s.out.println(Verb.timestamp() + " Could not " + action + " using Patroni api, falling back to DCS");
            writeFailoverKey(s.dcs(clusterName), cluster, switchover ? leader : null, candidate, scheduledAt);
        }
        MemberTable.print(s.out, s.read(clusterName), clusterName, false, "pretty");
        return 0;
    }

    private void writeFailoverKey(
            Dcs dcs, ClusterState cluster, String leader, String candidate, OffsetDateTime scheduledAt) {
        Failover current = cluster.failover();
        try {
            if (!dcs.writeFailover(
                    Failover.of(leader, candidate, scheduledAt == null ? null : scheduledAt.toInstant()),
                    current == null ? Dcs.ABSENT : current.version())) {
                throw new CtlException("the failover key changed in the DCS while this " + action
                        + " was being prepared; nothing was written, check 'list' and try again");
            }
        } catch (DcsException e) {
            throw new CtlException("could not write the failover key to the DCS: " + e.getMessage());
        }
    }

    private static String title(String s) {
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
