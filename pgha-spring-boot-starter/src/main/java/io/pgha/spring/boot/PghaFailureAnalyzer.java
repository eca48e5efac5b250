package io.pgha.spring.boot;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Spring Boot's start-up failure report for a wrong pgha configuration: the problem, and where to fix it. */
final class PghaFailureAnalyzer extends AbstractFailureAnalyzer<PghaConfigurationException> {
    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, PghaConfigurationException cause) {
        return new FailureAnalysis(
                "The embedded pgha member cannot start: " + cause.getMessage(),
                "Fix the pgha.* properties (Patroni's keys in Spring's spelling, see docs/embedding.md) or the"
                        + " file pgha.patroni-config names.",
                cause);
    }
}
