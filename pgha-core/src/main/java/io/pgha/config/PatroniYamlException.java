package io.pgha.config;

import java.util.List;

/**
 * A Patroni YAML file that cannot run: a missing required key, a value of the wrong type, a
 * syntax error. Every problem names the key and where it came from ({@code line 12} of the file,
 * or the environment variable that set it); {@link #problems()} lists all of them, so that an
 * operator fixes a file in one pass.
 */
public final class PatroniYamlException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final transient List<String> problems;

    public PatroniYamlException(String source, List<String> problems) {
        super(source + ": "
                + (problems.size() == 1
                        ? problems.get(0)
                        : problems.size() + " problems:\n  " + String.join("\n  ", problems)));
        this.problems = List.copyOf(problems);
    }

    /** One line per problem: {@code postgresql.data_dir is required (section at line 7)}. */
    public List<String> problems() {
        return problems;
    }
}
