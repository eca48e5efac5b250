package io.pgha.spring.boot;

import org.springframework.context.ApplicationEvent;

/** Spring application events for a pgha node, published on the node's event thread. */
public final class PghaEvents {
    private PghaEvents() {}

    /** This node's role changed (primary, replica, stopped, uninitialized). */
    public static final class RoleChanged extends ApplicationEvent {
        private static final long serialVersionUID = 1L;
        private final String from;
        private final String to;

        public RoleChanged(Object source, String from, String to) {
            super(source);
            this.from = from;
            this.to = to;
        }

        public String from() {
            return from;
        }

        public String to() {
            return to;
        }

        /** Spring Integration's name for it: this node was granted leadership. */
        public boolean isGranted() {
            return "primary".equals(to);
        }

        /** This node lost leadership. */
        public boolean isRevoked() {
            return "primary".equals(from) && !"primary".equals(to);
        }
    }

    /** The cluster's leader changed (null: none at the moment). */
    public static final class LeaderChanged extends ApplicationEvent {
        private static final long serialVersionUID = 1L;
        private final String from;
        private final String to;

        public LeaderChanged(Object source, String from, String to) {
            super(source);
            this.from = from;
            this.to = to;
        }

        public String from() {
            return from;
        }

        public String to() {
            return to;
        }
    }
}
