package io.pgha.spring.boot;

/**
 * The embedded member's configuration is wrong or incomplete (a missing password, a bad key, an
 * unreadable {@code pgha.patroni-config} file): the application does not start, and Spring Boot's
 * failure report shows this message.
 */
public class PghaConfigurationException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public PghaConfigurationException(String message) {
        super(message);
    }

    public PghaConfigurationException(String message, Throwable cause) {
        super(message, cause);
    }
}
