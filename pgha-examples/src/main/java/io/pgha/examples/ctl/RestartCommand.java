package io.pgha.examples.ctl;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Member;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code restart}: restarts PostgreSQL on members, now or at a scheduled time. */
@Command(name = "restart", description = "Restart PostgreSQL on cluster members")
final class RestartCommand extends Verb {
    @Parameters(
            paramLabel = "[CLUSTER] [MEMBER...]",
            arity = "0..*",
            description = "Cluster name (default: the config's scope) and the members to restart (default: all)")
    List<String> words = new ArrayList<>();

    @Option(
            names = {"-r", "--role"},
            paramLabel = "ROLE",
            defaultValue = "any",
            description = "Restart only members with this role: leader, primary, standby-leader, replica, standby, any")
    String role;

    @Option(names = "--any", description = "Restart a single member only")
    boolean any;

    @Option(names = "--scheduled", paramLabel = "TIME", description = "When to restart, ISO 8601, or 'now'")
    String scheduled;

    @Option(
            names = "--pg-version",
            paramLabel = "VERSION",
            description = "Restart only if the PostgreSQL version is less than this (e.g. 15.4)")
    String pgVersion;

    @Option(names = "--pending", description = "Restart only members with a pending restart")
    boolean pending;

    @Option(
            names = "--timeout",
            paramLabel = "SECONDS",
            description = "Fail (and fail over if necessary) when restarting takes longer than this")
    String timeout;

    @Option(names = "--force", description = "Do not ask for confirmation at any point")
    boolean force;

    private static void flushScheduled(Session s, Member m) throws PatroniApi.Unreachable {
        PatroniApi.Response d = s.api().call(m, "DELETE", "restart", null);
        if (!d.ok()) {
            s.out.println("Failed: flush scheduled restart for member " + m.name() + ", status code=" + d.status()
                    + ", (" + d.text() + ")");
        }
    }

    /** The restart call blocks until PostgreSQL is back: wait longer than the restart may take. */
    private Duration httpTimeout() {
        Duration wait = Duration.ofMinutes(10);
        if (timeout != null && timeout.strip().matches("\\d+")) {
            wait = Duration.ofSeconds(Long.parseLong(timeout.strip())).plusSeconds(60);
        }
        return wait.compareTo(PatroniApi.WRITE_TIMEOUT) < 0 ? PatroniApi.WRITE_TIMEOUT : wait;
    }

    @Override
    public Integer call() {
        Session s = session();
        Role r = Role.parse(role);
        String[] cm = splitClusterAndMembers(words);
        String name = cm[0];
        List<String> names = List.of(cm).subList(1, cm.length);
        ClusterState cluster = s.read(name);
        List<Member> members = new ArrayList<>(selectMembers(cluster, name, names, r, force, "restart", false));
        if (scheduled == null && !force) {
            scheduled =
                    s.prompter.prompt("When should the restart take place (e.g. " + nextHourExample() + ") ", "now");
        }
        OffsetDateTime scheduledAt = parseScheduled(scheduled);
        Map<String, Object> content = new LinkedHashMap<>();
        if (pending) {
            content.put("restart_pending", true);
            if (scheduledAt == null) {
                members.removeIf(m -> !Boolean.TRUE.equals(m.data().get("pending_restart")));
                if (members.isEmpty()) {
                    s.out.println("No member has a pending restart");
                    return 0;
                }
            }
        }
        if (any) {
            Collections.shuffle(members);
            members = new ArrayList<>(members.subList(0, 1));
        }
        confirmMembers(members, force, "restart", scheduledAt, pending);
        if (pgVersion == null && !force) {
            pgVersion = s.prompter.prompt("Restart if the PostgreSQL version is less than provided (e.g. 9.5.2) ", "");
        }
        if (pgVersion != null && !pgVersion.isBlank()) {
            if (!pgVersion.strip().matches("\\d+(\\.\\d+){0,2}")) {
                throw new CtlException("'" + pgVersion + "' is not a PostgreSQL version (e.g. 15.4)", Ctl.EXIT_USAGE);
            }
            content.put("postgres_version", pgVersion.strip());
        }
        if (scheduledAt != null) {
            if (cluster.isPaused()) {
                throw new CtlException("Can't schedule restart in the paused state");
            }
            content.put("schedule", ISO_SECONDS.format(scheduledAt));
        }
        if (timeout != null) {
            content.put("timeout", timeout);
        }
        List<String> failed = new ArrayList<>();
        for (Member m : members) {
            try {
                if (content.containsKey("schedule") && force && m.data().get("scheduled_restart") != null) {
                    flushScheduled(s, m);
                }
                PatroniApi.Response resp = s.api().call(m, "POST", "restart", content, httpTimeout());
                if (resp.status() == 409 && force && content.containsKey("schedule")) {
                    // --force replaces a schedule, also when the member does not publish it in the DCS
                    flushScheduled(s, m);
                    resp = s.api().call(m, "POST", "restart", content, httpTimeout());
                }
                switch (resp.status()) {
                    case 200 -> s.out.println("Success: restart on member " + m.name());
                    case 202 -> s.out.println("Success: restart scheduled on member " + m.name());
                    case 409 -> {
                        s.out.println("Failed: another restart is already scheduled on member " + m.name());
                        failed.add(m.name() + ": another restart is already scheduled");
                    }
                    default -> {
                        s.out.println("Failed: restart for member " + m.name() + ", status code=" + resp.status()
                                + ", (" + resp.text() + ")");
                        failed.add(m.name() + ": " + resp.status() + " " + resp.text());
                    }
                }
            } catch (PatroniApi.Unreachable e) {
                s.out.println("Failed: restart for member " + m.name() + ", " + CtlException.oneLine(e.getMessage()));
                failed.add(CtlException.oneLine(e.getMessage()));
            }
        }
        if (!failed.isEmpty()) {
            throw new CtlException("restart failed on " + failed.size() + " of " + members.size() + " member(s): "
                    + String.join("; ", failed));
        }
        return 0;
    }
}
