package io.pgha.postgres.local;

import io.pgha.process.Progress;
import java.time.Duration;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Follows {@code pg_basebackup --progress}: its meter lines ({@code 20480/38912 kB (52%), 0/1
 * tablespace}), written about once a second, become {@link Progress} reports of bytes and percent.
 * pg_basebackup's estimate of the total can be exceeded (it then shows 100 % until the end); the
 * report keeps its numbers. Other lines are left alone.
 */
final class BasebackupProgress implements Consumer<String> {
    /** At most one progress line in the log per this. */
    static final Duration EVERY = Duration.ofSeconds(10);

    private static final Pattern METER = Pattern.compile("(\\d+)/(\\d+) kB \\((\\d+)%\\)");

    private final Progress progress;

    BasebackupProgress(Progress progress) {
        this.progress = progress;
    }

    @Override
    public void accept(String line) {
        Matcher m = METER.matcher(line);
        if (m.find()) {
            long done = Long.parseLong(m.group(1)) * 1024;
            long total = Long.parseLong(m.group(2)) * 1024;
            progress.update(Math.min(done, total), total);
        }
    }
}
