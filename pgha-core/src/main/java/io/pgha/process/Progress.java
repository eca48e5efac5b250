package io.pgha.process;

import java.time.Duration;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How far a long operation (a clone by pg_basebackup, a pgBackRest backup or restore) has come,
 * reported at a bounded rate: the first report, then at most one per {@code every}, and the last
 * (100 %) always. Each report is a line such as {@code pg1: clone from pg0: 412.5 MiB of 1.2 GiB
 * (33%)}, logged at INFO on the logger {@value #LOGGER} (which {@code pgha ctl} shows on its
 * output when one of its verbs drives the operation), or given to another sink.
 *
 * <p>Not thread-safe: one reader thread reports.
 */
public final class Progress {
    /** The logger progress lines go to by default. */
    public static final String LOGGER = "io.pgha.progress";

    private static final Logger LOG = LoggerFactory.getLogger(LOGGER);

    private final String what;
    private final long everyNanos;
    private final Consumer<String> sink;
    private final LongSupplier nanoClock;
    private long lastNanos;
    private boolean reported;
    private boolean finished;

    /** Reports to the {@value #LOGGER} logger at most once per {@code every}. */
    public Progress(String what, Duration every) {
        this(what, every, LOG::info, System::nanoTime);
    }

    /** Reports to {@code sink} (each line as {@link #line} makes it) at most once per {@code every}. */
    public Progress(String what, Duration every, Consumer<String> sink) {
        this(what, every, sink, System::nanoTime);
    }

    Progress(String what, Duration every, Consumer<String> sink, LongSupplier nanoClock) {
        this.what = what;
        this.everyNanos = every.toNanos();
        this.sink = sink;
        this.nanoClock = nanoClock;
    }

    /**
     * {@code done} of {@code total} bytes; a {@code total} of 0 or less is unknown (then only the
     * bytes are reported). Reported if it is the first, the last, or {@code every} has passed.
     */
    public void update(long done, long total) {
        if (finished) {
            return;
        }
        long now = nanoClock.getAsLong();
        boolean last = total > 0 && done >= total;
        if (reported && !last && now - lastNanos < everyNanos) {
            return;
        }
        reported = true;
        finished = last;
        lastNanos = now;
        sink.accept(line(what, done, total));
    }

    /** Whether a report has been made. */
    public boolean reported() {
        return reported;
    }

    static String line(String what, long done, long total) {
        if (total <= 0) {
            return what + ": " + bytes(done);
        }
        long percent = Math.min(100, done * 100 / total);
        return what + ": " + bytes(done) + " of " + bytes(total) + " (" + percent + "%)";
    }

    /** Bytes as people read them: 512 B, 4.0 KiB, 412.5 MiB, 1.2 GiB. */
    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
