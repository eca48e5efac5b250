package io.pgha.ha;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgha.ha.QuorumResolver.Kind;
import io.pgha.ha.QuorumResolver.Step;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The quorum commit steps: hand-checked cases, then a property over thousands of random clusters —
 * after every step of every plan, any set of standbys that can acknowledge a commit overlaps any set
 * of voters that can elect a new leader, and a few cycles bring the state to the optimum.
 */
class QuorumResolverTest {

    @Test
    void firstStandbyJoinsSyncFirstThenTheKeyOnceItCaughtUp() throws Exception {
        // nobody caught up yet: list it, then read again (the key stays empty until one did)
        assertThat(resolve("a", 0, "", 0, "", 0, "b", 1))
                .containsExactly(new Step(Kind.SYNC, "a", 1, set("b")), new Step(Kind.RESTART, "a", 0, set("")));
        assertThat(resolve("a", 0, "", 1, "b", 1, "b", 1)).containsExactly(new Step(Kind.QUORUM, "a", 0, set("b")));
    }

    @Test
    void aSecondStandbyJoinsTheVotersBeforeSync() throws Exception {
        // one synchronous copy wanted: the key first asks the race for one more vote, then sync grows
        assertThat(resolve("a", 0, "b", 1, "b", 1, "bc", 1))
                .containsExactly(new Step(Kind.QUORUM, "a", 1, set("bc")), new Step(Kind.SYNC, "a", 1, set("bc")));
        // two wanted: sync grows first (more copies), then the quorum follows
        assertThat(resolve("a", 0, "b", 1, "b", 1, "bc", 2))
                .containsExactly(new Step(Kind.SYNC, "a", 2, set("bc")), new Step(Kind.QUORUM, "a", 1, set("bc")));
    }

    @Test
    void aLostStandbyLeavesSyncBeforeTheVoters() throws Exception {
        // ANY 1 (b,c), quorum 1 of (b,c); c is gone: stop waiting for it after the key stops counting it
        List<Step> steps = resolve("a", 1, "bc", 1, "bc", 1, "b", 1);
        assertThat(steps)
                .containsExactly(new Step(Kind.SYNC, "a", 1, set("b")), new Step(Kind.QUORUM, "a", 0, set("b")));
    }

    @Test
    void steadyStateNeedsNothing() throws Exception {
        assertThat(resolve("a", 1, "bc", 1, "bc", 2, "bc", 1)).isEmpty();
        assertThat(resolve("a", 0, "bc", 2, "bc", 2, "bc", 2)).isEmpty();
    }

    @Test
    void afterAFailoverTheFormerLeaderBecomesAVoter() throws Exception {
        // b promoted; key still says leader a, quorum 1 of (b,c); b set ANY 1 (a,c) before promoting
        List<Step> steps = resolve("a", 1, "bc", 1, "ac", 1, "c", 1, "b");
        assertThat(steps.get(0)).isEqualTo(new Step(Kind.QUORUM, "b", 1, set("ac")));
    }

    @Test
    void everyStepKeepsAcknowledgersAndElectorsOverlappingAndPlansConverge() throws Exception {
        Random rnd = new Random(42);
        String all = "bcdef";
        int plans = 0;
        for (int i = 0; i < 20000; i++) {
            // a steady, optimal state for some active set, then the world changes
            Set<String> before = subset(all, rnd);
            int wanted = 1 + rnd.nextInt(3);
            State s = State.optimal(before, wanted);
            Set<String> active = subset(all, rnd);
            int newWanted = rnd.nextBoolean() ? wanted : 1 + rnd.nextInt(3);
            for (int cycle = 0; cycle < 12; cycle++) {
                int confirmed = intersect(s.sync, active).size();
                List<Step> steps;
                try {
                    steps = QuorumResolver.resolve(
                            "a", s.quorum, s.voters, s.numsync, s.sync, confirmed, active, newWanted, "a");
                } catch (QuorumResolver.QuorumException e) {
                    throw new AssertionError(
                            s + " confirmed " + confirmed + " active " + active + " wanted " + newWanted + " (cycle "
                                    + cycle + ", from " + before + " wanted " + wanted + ")",
                            e);
                }
                plans++;
                boolean wrote = false;
                for (Step step : steps) {
                    if (step.kind() == Kind.RESTART || (step.kind() == Kind.QUORUM && wrote)) {
                        break; // what QuorumCommit.plan runs in one cycle
                    }
                    s = s.apply(step);
                    wrote |= step.kind() == Kind.QUORUM;
                    assertThat(s.safe())
                            .as("after %s from %s (active %s, wanted %d)", step, before, active, newWanted)
                            .isTrue();
                }
            }
            State goal = State.optimal(active, newWanted);
            assertThat(s.settledLike(goal))
                    .as("%s -> %s wanted %d: %s, expected %s", before, active, newWanted, s, goal)
                    .isTrue();
        }
        assertThat(plans).isGreaterThan(20000);
    }

    /** The key ({@code quorum} of {@code voters}) and {@code ANY numsync (sync)}, leader "a". */
    private record State(int quorum, Set<String> voters, int numsync, Set<String> sync) {
        static State optimal(Set<String> active, int wanted) {
            int numsync = Math.min(wanted, active.size());
            return new State(active.size() - numsync, active, numsync, active);
        }

        State apply(Step s) {
            return s.kind() == Kind.SYNC
                    ? new State(quorum, voters, s.num(), s.names())
                    : new State(s.num(), s.names(), numsync, sync);
        }

        /**
         * A commit is on the leader and on some {@code numsync} of {@code sync}; a new leader needs
         * {@code quorum + 1} of {@code voters} (the leader is down). They must always share a node.
         */
        boolean safe() {
            if (voters.isEmpty()) {
                return true; // nobody but the former leader may promote
            }
            int outsideVoters = minus(sync, voters).size();
            int forcedOverlap = Math.max(0, numsync - outsideVoters);
            return numsync > 0 && voters.size() - forcedOverlap <= quorum;
        }

        boolean settledLike(State goal) {
            return quorum == goal.quorum
                    && numsync == goal.numsync
                    && QuorumResolver.ci(voters).equals(goal.voters)
                    && QuorumResolver.ci(sync).equals(goal.sync);
        }
    }

    private static List<Step> resolve(
            String leader,
            int quorum,
            String voters,
            int numsync,
            String sync,
            int confirmed,
            String active,
            int wanted)
            throws Exception {
        return resolve(leader, quorum, voters, numsync, sync, confirmed, active, wanted, leader);
    }

    private static List<Step> resolve(
            String leader,
            int quorum,
            String voters,
            int numsync,
            String sync,
            int confirmed,
            String active,
            int wanted,
            String me)
            throws Exception {
        return QuorumResolver.resolve(
                leader, quorum, set(voters), numsync, set(sync), confirmed, set(active), wanted, me);
    }

    private static Set<String> set(String letters) {
        Set<String> s = new TreeSet<>();
        for (int i = 0; i < letters.length(); i++) {
            char ch = letters.charAt(i);
            s.add(String.valueOf(ch));
        }
        return s;
    }

    private static Set<String> subset(String all, Random rnd) {
        Set<String> s = new TreeSet<>();
        for (int i = 0; i < all.length(); i++) {
            char ch = all.charAt(i);
            if (rnd.nextBoolean()) {
                s.add(String.valueOf(ch));
            }
        }
        return s;
    }

    private static Set<String> intersect(Set<String> a, Set<String> b) {
        Set<String> s = new TreeSet<>(a);
        s.retainAll(b);
        return s;
    }

    private static Set<String> minus(Set<String> a, Set<String> b) {
        Set<String> s = new TreeSet<>(a);
        s.removeAll(b);
        return s;
    }
}
