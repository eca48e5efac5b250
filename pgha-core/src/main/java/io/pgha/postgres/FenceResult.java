package io.pgha.postgres;

import java.util.Objects;

/**
 * What {@link PostgresController#fenceFormerPrimary} did to a former primary's PostgreSQL.
 *
 * @param outcome what happened
 * @param detail the words for the log: where it was tried and, when it failed, why
 */
public record FenceResult(Outcome outcome, String detail) {

    /** The outcomes of a candidate-side fence. */
    public enum Outcome {
        /** Its PostgreSQL acknowledges no commit any more, and its client backends were terminated. */
        FENCED,
        /** It answered in recovery (a replica): nothing to stop, left alone. */
        NOT_A_PRIMARY,
        /** It could not be reached (refused, timed out, no address): the old side's fence and the ttl remain. */
        UNREACHABLE,
        /** It answered, but fencing it failed (a statement refused or timed out, the value not taking effect). */
        FAILED,
        /** This controller cannot fence another member's PostgreSQL. */
        NOT_SUPPORTED
    }

    public FenceResult {
        Objects.requireNonNull(outcome, "outcome");
        detail = detail == null ? "" : detail;
    }

    /** What a controller that cannot fence another member answers. */
    public static FenceResult notSupported() {
        return new FenceResult(Outcome.NOT_SUPPORTED, "this PostgreSQL controller cannot fence another member");
    }
}
