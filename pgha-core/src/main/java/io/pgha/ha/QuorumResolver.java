package io.pgha.ha;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Quorum commit ({@code synchronous_mode: quorum}, Patroni 4): the steps that take
 * {@code synchronous_standby_names} ({@code ANY numsync (sync)}) and the {@code sync} key ({@code quorum}
 * of {@code voters}) from where they are to where they should be, each step keeping them safe.
 *
 * <p>The invariant: any set of nodes that can acknowledge a commit overlaps any set of nodes that can
 * elect a new leader. A commit is acknowledged by {@code numsync} members of {@code sync}; a candidate
 * promotes once {@code quorum} members of {@code voters} (or the leader) report no WAL ahead of it. They
 * overlap as long as {@code |voters ∪ sync ∪ leader| <= quorum + numsync + 1}, and while one change is
 * half done (one written, the other not yet) one set must contain the other. So an increase of either
 * number is written before the decrease of the other, and nodes join {@code voters} before {@code sync}
 * (or {@code sync} first when it was empty) and leave the other way round. The optimal state for the
 * standbys {@code active} is {@code sync = voters = active}, {@code numsync = min(wanted, |active|)},
 * {@code quorum = |active| - numsync}.
 *
 * <p>This follows Patroni's {@code QuorumStateResolver} step for step, so that a pgha leader and a
 * Patroni leader move a cluster through the same states. A step list may be cut after any step (a
 * failed conditional write, a crash): the next cycle starts again from what was written.
 *
 * <p>Instances are single-use and not thread-safe; {@link #resolve} is the entry point.
 */
final class QuorumResolver {

    /** What a step changes: {@code synchronous_standby_names}, the {@code sync} key, or nothing (read the state again). */
    enum Kind {
        SYNC,
        QUORUM,
        RESTART
    }

    /**
     * One step, described by the new state: for {@link Kind#SYNC} {@code num} and {@code names} are the
     * {@code ANY num (names)} of {@code synchronous_standby_names}; for {@link Kind#QUORUM} the key's
     * {@code quorum} and {@code sync_standby}.
     */
    record Step(Kind kind, String leader, int num, Set<String> names) {
        Step {
            names = java.util.Collections.unmodifiableSet(ci(names));
        }
    }

    /** A state from which no safe step exists; the caller changes nothing this cycle. */
    static final class QuorumException extends Exception {
        QuorumException(String message) {
            super(message);
        }
    }

    private String leader;
    private int quorum;
    private Set<String> voters;
    private int numsync;
    private Set<String> sync;
    private int numsyncConfirmed;
    private final Set<String> active;
    private final int syncWanted;
    private final String leaderWanted;
    private final List<Step> steps = new ArrayList<>();

    /**
     * @param leader the {@code sync} key's leader
     * @param quorum the key's {@code quorum}
     * @param voters the key's {@code sync_standby}
     * @param numsync the {@code n} of {@code ANY n (...)} in {@code synchronous_standby_names}
     * @param sync the names listed there
     * @param numsyncConfirmed how many of them are known to have caught up since they were listed
     * @param active the standbys that may be synchronous now (streaming, eligible)
     * @param syncWanted {@code synchronous_node_count}
     * @param leaderWanted this node, the leader (differs from {@code leader} right after a failover)
     */
    private QuorumResolver(
            String leader,
            int quorum,
            Collection<String> voters,
            int numsync,
            Collection<String> sync,
            int numsyncConfirmed,
            Collection<String> active,
            int syncWanted,
            String leaderWanted) {
        this.leader = leader;
        this.quorum = quorum;
        this.voters = ci(voters);
        this.sync = ci(sync);
        this.numsync = Math.min(numsync, this.sync.size());
        this.numsyncConfirmed = numsyncConfirmed;
        this.active = ci(active);
        this.syncWanted = syncWanted;
        this.leaderWanted = leaderWanted;
    }

    /**
     * The steps to run in order, consecutive steps of one kind merged into the last (skipping one is
     * the same as nobody having seen it), ending early at a {@link Kind#RESTART}.
     *
     * @throws QuorumException when the state is broken beyond what one cycle can mend
     */
    static List<Step> resolve(
            String leader,
            int quorum,
            Collection<String> voters,
            int numsync,
            Collection<String> sync,
            int numsyncConfirmed,
            Collection<String> active,
            int syncWanted,
            String leaderWanted)
            throws QuorumException {
        QuorumResolver r = new QuorumResolver(
                leader, quorum, voters, numsync, sync, numsyncConfirmed, active, syncWanted, leaderWanted);
        r.generate();
        List<Step> out = new ArrayList<>();
        for (int i = 0; i < r.steps.size(); i++) {
            Step s = r.steps.get(i);
            if (i + 1 < r.steps.size() && r.steps.get(i + 1).kind() == s.kind()) {
                continue;
            }
            out.add(s);
            if (s.kind() == Kind.RESTART) {
                break;
            }
        }
        return out;
    }

    // ---- the two primitive changes ----------------------------------------------------------------

    private void checkInvariants() throws QuorumException {
        Set<String> v = union(voters, Set.of(leader));
        Set<String> s = union(sync, Set.of(leaderWanted));
        int nodes = union(v, s).size();
        if (!voters.isEmpty() && nodes > quorum + numsync + 1) {
            throw new QuorumException("quorum and sync are not guaranteed to overlap: nodes " + nodes + " > quorum "
                    + quorum + " + sync " + numsync + " + 1");
        }
        if (!v.containsAll(s) && !s.containsAll(v)) {
            throw new QuorumException("mismatched sets: voters only " + minus(v, s) + ", sync only " + minus(s, v));
        }
    }

    private void quorumUpdate(int newQuorum, Set<String> newVoters, String newLeader, boolean adjustQuorum)
            throws QuorumException {
        if (newQuorum < 0) {
            throw new QuorumException("quorum " + newQuorum + " < 0 of " + newVoters);
        }
        if (newQuorum > 0 && newQuorum >= newVoters.size()) {
            throw new QuorumException("quorum " + newQuorum + " >= N of " + newVoters);
        }
        String oldLeader = leader;
        if (newLeader != null) {
            leader = newLeader;
        } else if (numsyncConfirmed == 0 && voters.isEmpty()) {
            // nobody is known to have caught up yet: keep the key empty until somebody has
            newQuorum = 0;
            newVoters = ci(List.of());
        } else if (adjustQuorum) {
            // fewer standbys than numsync are known to have caught up: ask the race for more votes
            newQuorum += Math.max(numsync - numsyncConfirmed, 0);
        }
        if (leader.equalsIgnoreCase(oldLeader) && newQuorum == quorum && newVoters.equals(voters)) {
            if (!voters.isEmpty()) {
                return;
            }
            // nothing to write yet: the caller should read the state again later
            steps.add(new Step(Kind.RESTART, leader, quorum, voters));
        }
        quorum = newQuorum;
        voters = ci(newVoters);
        checkInvariants();
        steps.add(new Step(Kind.QUORUM, leader, quorum, voters));
    }

    private void quorumUpdate(int newQuorum, Set<String> newVoters) throws QuorumException {
        quorumUpdate(newQuorum, newVoters, null, true);
    }

    private void syncUpdate(int newNumsync, Set<String> newSync) throws QuorumException {
        if (newNumsync < 0) {
            throw new QuorumException("sync " + newNumsync + " < 0 of " + newSync);
        }
        if (newNumsync > newSync.size()) {
            throw new QuorumException("sync " + newNumsync + " > N of " + newSync);
        }
        numsync = newNumsync;
        sync = ci(newSync);
        checkInvariants();
        steps.add(new Step(Kind.SYNC, leader, numsync, sync));
    }

    // ---- the plan -----------------------------------------------------------------------------------

    private void generate() throws QuorumException {
        try {
            if (!leaderWanted.equalsIgnoreCase(leader)) {
                // after a failover: the former leader becomes a voter, this node the key's leader
                Set<String> v = union(minus(voters, Set.of(leaderWanted)), Set.of(leader));
                if (sync.isEmpty()) {
                    syncUpdate(v.size() - quorum, v);
                }
                quorumUpdate(quorum, v, leaderWanted, true);
                if (intersect(sync, active).isEmpty()) {
                    return; // right after the promotion no replica may be connected yet: give them a cycle
                }
            } else {
                checkInvariants();
            }
        } catch (QuorumException e) {
            quorumUpdate(sync.size() - numsync, sync);
        }
        if (!leader.equalsIgnoreCase(leaderWanted)) {
            throw new QuorumException("the sync key's leader " + leader + " is not " + leaderWanted);
        }
        // after a restart or a failover nobody is known to have caught up: infer it from the quorum.
        // Each acknowledged commit is on at least |voters| - quorum voters; only those still listed
        // and active count (Patroni counts |voters| - quorum, which right after a voter left
        // synchronous_standby_names vouches for a standby the key's commits may not be on)
        if (numsyncConfirmed == 0 && !intersect(sync, active).isEmpty()) {
            int held = voters.size()
                    - quorum
                    - minus(voters, intersect(sync, active)).size();
            numsyncConfirmed = Math.max(0, Math.min(intersect(sync, active).size(), held));
        }
        finishInterruptedChange();
        removeGoneNodes();
        addNewNodes();
        changeReplicationFactor();
    }

    /** A previous plan stopped half way: bring {@code voters} and {@code sync} back to one set. */
    private void finishInterruptedChange() throws QuorumException {
        if (properSubset(sync, voters)) {
            // in the middle of changing voters: drop dead voters nobody syncs to, sync to live ones
            Set<String> removeFromVoters = minus(voters, union(sync, active));
            if (!removeFromVoters.isEmpty()) {
                quorumUpdate(
                        voters.size() - removeFromVoters.size() - numsync,
                        minus(voters, removeFromVoters),
                        null,
                        minus(sync, active).isEmpty());
            }
            Set<String> addToSync = minus(intersect(voters, active), sync);
            if (!addToSync.isEmpty()) {
                syncUpdate(numsync, union(sync, addToSync));
            }
        } else if (properSubset(voters, sync)) {
            // in the middle of changing the replication factor
            Set<String> removeFromSync = minus(sync, active);
            Set<String> kept = minus(sync, removeFromSync);
            if (!removeFromSync.isEmpty()
                    && !kept.isEmpty()
                    && (voters.isEmpty() || !intersect(kept, voters).isEmpty())) {
                syncUpdate(Math.min(numsync, sync.size() - removeFromSync.size()), kept);
            }
            Set<String> addToVoters = intersect(minus(sync, voters), active);
            if (!addToVoters.isEmpty()) {
                Set<String> v = union(voters, addToVoters);
                quorumUpdate(v.size() - numsync, v);
            }
            removeFromSync = minus(sync, voters);
            if (!removeFromSync.isEmpty()) {
                syncUpdate(Math.min(numsync, sync.size() - removeFromSync.size()), minus(sync, removeFromSync));
            }
        }
        if (!voters.equals(sync)) {
            throw new QuorumException("voters " + voters + " and sync " + sync + " still differ");
        }
        int margin = quorum
                + Math.min(numsync, numsyncConfirmed)
                - union(voters, sync).size();
        if (margin > 0) {
            // in the middle of changing the replication factor
            if (numsync > syncWanted) {
                syncUpdate(Math.max(syncWanted, voters.size() - quorum), sync);
            } else {
                quorumUpdate(sync.size() - numsync, voters);
            }
        } else {
            margin = quorum + numsync - union(voters, sync).size();
            if (numsync == syncWanted && margin > 0 && numsync > numsyncConfirmed) {
                quorumUpdate(sync.size() - numsync, voters);
            }
        }
    }

    /** Standbys that are no longer active leave {@code sync} and {@code voters}. */
    private void removeGoneNodes() throws QuorumException {
        Set<String> toRemove = minus(sync, active);
        if (!toRemove.isEmpty() && sync.equals(toRemove)) {
            quorumUpdate(0, ci(List.of()), null, false);
            syncUpdate(0, ci(List.of()));
        } else if (!toRemove.isEmpty()) {
            if (quorum > 0) {
                // lower the quorum first where it can be: reverse name order, as Patroni, to be deterministic
                List<String> byName = new ArrayList<>(toRemove);
                byName.sort(String.CASE_INSENSITIVE_ORDER.reversed());
                Set<String> remove = ci(byName.subList(0, Math.min(quorum, byName.size())));
                Set<String> s = minus(sync, remove);
                // removing nodes from sync, numsync may grow to what is wanted
                int n = Math.min(syncWanted > numsync ? syncWanted : numsync, s.size());
                syncUpdate(n, s);
                Set<String> v = minus(voters, remove);
                toRemove = intersect(toRemove, sync);
                quorumUpdate(v.size() - numsync, v, null, toRemove.isEmpty());
            }
            if (!toRemove.isEmpty()) {
                if (quorum != 0) {
                    throw new QuorumException("cannot remove " + toRemove + " with quorum " + quorum);
                }
                int n = numsync - toRemove.size();
                Set<String> s = minus(sync, toRemove);
                Set<String> v = minus(voters, toRemove);
                int syncDecrease = n - Math.min(syncWanted, s.size());
                int q = syncDecrease != 0 ? Math.min(syncDecrease, v.size() - 1) : 0;
                quorumUpdate(q, v, null, false);
                syncUpdate(n, s);
            }
        }
    }

    /** Active standbys not yet in {@code sync} join it and {@code voters}. */
    private void addNewNodes() throws QuorumException {
        Set<String> toAdd = minus(active, sync);
        if (toAdd.isEmpty()) {
            return;
        }
        int wanted = Math.min(syncWanted, union(sync, toAdd).size());
        int increaseBy = wanted - numsync;
        if (increaseBy > 0) {
            Set<String> add;
            if (!sync.isEmpty()) {
                add = ci(new ArrayList<>(toAdd).subList(0, Math.min(increaseBy, toAdd.size())));
                increaseBy = add.size();
            } else {
                add = toAdd; // only the leader so far: all may join at once
            }
            syncUpdate(numsync + increaseBy, union(sync, add));
            Set<String> v = union(voters, add);
            // Patroni subtracts the wanted count here, which breaks the invariant (and so stalls the
            // cluster for good) when fewer standbys joined than the count grew by; numsync is what is set
            quorumUpdate(v.size() - numsync, v);
            toAdd = minus(toAdd, sync);
        }
        if (!toAdd.isEmpty()) {
            Set<String> v = union(voters, toAdd);
            quorumUpdate(v.size() - wanted, v, null, wanted > numsyncConfirmed);
            syncUpdate(wanted, union(sync, toAdd));
        }
    }

    /** {@code synchronous_node_count} changed. */
    private void changeReplicationFactor() throws QuorumException {
        int increase = Math.min(syncWanted, sync.size()) - numsync;
        if (increase > 0) {
            syncUpdate(numsync + increase, sync);
            quorumUpdate(voters.size() - numsync, voters);
        } else if (increase < 0) {
            if (quorum - increase < voters.size()) {
                quorumUpdate(voters.size() - numsync - increase, voters, null, syncWanted > numsyncConfirmed);
            }
            syncUpdate(numsync + increase, sync);
        }
    }

    // ---- case-insensitive, name-ordered sets (member names compare as Patroni's CaseInsensitiveSet) --

    static Set<String> ci(Collection<String> names) {
        Set<String> s = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
        s.addAll(names);
        return s;
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> s = ci(a);
        s.addAll(b);
        return s;
    }

    private static Set<String> minus(Set<String> a, Set<String> b) {
        Set<String> s = ci(a);
        s.removeAll(ci(b));
        return s;
    }

    private static Set<String> intersect(Set<String> a, Set<String> b) {
        Set<String> s = ci(a);
        s.retainAll(ci(b));
        return s;
    }

    private static boolean properSubset(Set<String> a, Set<String> b) {
        return a.size() < b.size() && ci(b).containsAll(a);
    }
}
