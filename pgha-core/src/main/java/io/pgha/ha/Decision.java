package io.pgha.ha;

import java.time.Duration;
import java.util.List;

/**
 * What the engine decided in one pass: the actions in order, and the reason the node logs, in
 * Patroni's words ("no action. I am (pg0), the leader with the lock").
 *
 * @param actions the steps to execute, in order (empty: no action)
 * @param reason the human reason
 * @param wakeWithin run the next cycle no later than this (null: loop_wait)
 */
record Decision(List<Action> actions, String reason, Duration wakeWithin) {

    Decision {
        actions = List.copyOf(actions);
        if (actions.stream().anyMatch(Action.Inquiry.class::isInstance) && actions.size() != 1) {
            throw new IllegalArgumentException("an inquiry is a decision's only action: " + actions);
        }
    }

    static Decision of(String reason, Action... actions) {
        return new Decision(List.of(actions), reason, null);
    }

    Decision wakeWithin(Duration d) {
        return new Decision(actions, reason, d);
    }

    /** The inquiry this decision makes before it can decide, or null when it decided. */
    Action.Inquiry inquiry() {
        return actions.size() == 1 && actions.get(0) instanceof Action.Inquiry q ? q : null;
    }

    @Override
    public String toString() {
        return reason + " " + actions;
    }
}
