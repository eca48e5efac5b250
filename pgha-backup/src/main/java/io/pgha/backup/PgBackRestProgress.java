package io.pgha.backup;

import io.pgha.process.Progress;
import java.time.Duration;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Follows a pgBackRest backup or restore run with {@code --log-level-console=detail}: each file it
 * copies is a line with the file's size and the share of the whole done so far ({@code P01
 * DETAIL: backup file /data/base/5/1259 (112KB, 41.38%) checksum ...}, {@code restore file ...};
 * newer releases write {@code (112KB->20KB, 41.38%)}). The sizes are summed: bytes done, and the
 * total as pgBackRest's percentage implies it, become {@link Progress} reports. Other lines are
 * left alone.
 */
final class PgBackRestProgress implements Consumer<String> {
    /** At most one progress line in the log per this. */
    static final Duration EVERY = Duration.ofSeconds(10);

    private static final Pattern FILE =
            Pattern.compile("\\((\\d+(?:\\.\\d+)?)(B|KB|MB|GB|TB|PB)(?:->[^,)]*)?, (\\d+(?:\\.\\d+)?)%\\)");

    private final Progress progress;
    private long done;

    PgBackRestProgress(Progress progress) {
        this.progress = progress;
    }

    @Override
    public void accept(String line) {
        Matcher m = FILE.matcher(line);
        if (!m.find()) {
            return;
        }
        done += bytes(Double.parseDouble(m.group(1)), m.group(2));
        double percent = Double.parseDouble(m.group(3));
        if (percent >= 100) {
            progress.update(done, done);
        } else if (percent <= 0) {
            progress.update(done, 0); // the total is not known yet
        } else {
            // not done below 100 %: the total stays above what is done however the rounding fell
            progress.update(done, Math.max(Math.round(done * 100 / percent), done + 1));
        }
    }

    static long bytes(double value, String unit) {
        int shift = switch (unit.toUpperCase(Locale.ROOT)) {
            case "KB" -> 10;
            case "MB" -> 20;
            case "GB" -> 30;
            case "TB" -> 40;
            case "PB" -> 50;
            default -> 0;
        };
        return Math.round(value * (1L << shift));
    }
}
