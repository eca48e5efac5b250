package io.pgha.ha;

import java.time.Duration;
import java.util.List;

/**
 * What the engine decided in one cycle: the actions in order, and the reason the node logs, in
 * Patroni's words ("no action. I am (pg0), the leader with the lock").
 *
 * @param actions the steps to execute, in order (empty: no action)
 * @param reason the human reason
 * @param wakeWithin run the next cycle no later than this (null: loop_wait)
 */
public record Decision(List<Action> actions, String reason, Duration wakeWithin) {

    public Decision {
        actions = List.copyOf(actions);
    }

    public static Decision of(String reason, Action... actions) {
        return new Decision(List.of(actions), reason, null);
    }

    public Decision wakeWithin(Duration d) {
        return new Decision(actions, reason, d);
    }

    public boolean has(Class<? extends Action> type) {
        return actions.stream().anyMatch(type::isInstance);
    }

    public boolean isNoAction() {
        return actions.isEmpty()
                || actions.stream()
                        .allMatch(a -> a instanceof Action.RenewLock
                                || a instanceof Action.WriteStatus
                                || a instanceof Action.SyncSlots);
    }

    @Override
    public String toString() {
        return reason + " " + actions;
    }
}
