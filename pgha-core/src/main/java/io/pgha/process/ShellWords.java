package io.pgha.process;

import java.util.ArrayList;
import java.util.List;

/**
 * A command line split into words as a POSIX shell splits it, without running a shell (Python's
 * {@code shlex.split}, which Patroni uses for {@code create_replica_methods},
 * {@code bootstrap.method}, {@code post_bootstrap} and {@code postgresql.callbacks} commands):
 * whitespace separates words, single quotes keep everything,
 * double quotes keep everything but a backslash before {@code " \ $ `}, a backslash outside quotes
 * keeps the next character. Nothing is expanded.
 */
public final class ShellWords {

    private ShellWords() {}

    /** @throws IllegalArgumentException on an unclosed quote or a trailing backslash */
    public static List<String> split(String line) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        int i = 0;
        int n = line.length();
        while (i < n) {
            char c = line.charAt(i);
            if (Character.isWhitespace(c)) {
                if (inWord) {
                    words.add(word.toString());
                    word.setLength(0);
                    inWord = false;
                }
                i++;
            } else if (c == '\'') {
                int end = line.indexOf('\'', i + 1);
                if (end < 0) {
                    throw new IllegalArgumentException("unclosed single quote in: " + line);
                }
                word.append(line, i + 1, end);
                inWord = true;
                i = end + 1;
            } else if (c == '"') {
                i++;
                boolean closed = false;
                while (i < n) {
                    char d = line.charAt(i);
                    if (d == '"') {
                        closed = true;
                        i++;
                        break;
                    }
                    if (d == '\\' && i + 1 < n && "\"\\$`".indexOf(line.charAt(i + 1)) >= 0) {
                        word.append(line.charAt(i + 1));
                        i += 2;
                    } else {
                        word.append(d);
                        i++;
                    }
                }
                if (!closed) {
                    throw new IllegalArgumentException("unclosed double quote in: " + line);
                }
                inWord = true;
            } else if (c == '\\') {
                if (i + 1 >= n) {
                    throw new IllegalArgumentException("trailing backslash in: " + line);
                }
                word.append(line.charAt(i + 1));
                inWord = true;
                i += 2;
            } else {
                word.append(c);
                inWord = true;
                i++;
            }
        }
        if (inWord) {
            words.add(word.toString());
        }
        return words;
    }
}
