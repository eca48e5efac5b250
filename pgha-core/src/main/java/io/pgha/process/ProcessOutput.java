package io.pgha.process;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * A child process's output (its stdout, with its stderr when the {@link ProcessBuilder} redirected
 * it there), read on a daemon thread of its own and kept within a bound: either its first or its
 * last {@code maxBytes}. What is over the bound is still read, and thrown away.
 *
 * <p>Why a thread of its own: read on the caller's thread, the output would have to be read to its
 * end before the caller could wait for the process with a timeout, and a hung child (or a
 * grandchild it left behind holding the pipe) would never let that timeout fire. Why everything is
 * read: a child whose pipe is full blocks on its next write.
 *
 * <p>Thread-safe: {@link #text} may be called from any thread at any time, and gives what was read
 * so far.
 */
public final class ProcessOutput {

    private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
    private final int maxBytes;
    private final boolean keepTail;
    private final Thread reader;
    /** Each line as it is read (lines end at \n or \r, as a progress meter's do); null: none. */
    private final Consumer<String> lines;

    private final ByteArrayOutputStream line = new ByteArrayOutputStream();

    private ProcessOutput(Process process, int maxBytes, boolean keepTail, String threadName, Consumer<String> lines) {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes must be >= 0, got " + maxBytes);
        }
        this.maxBytes = maxBytes;
        this.keepTail = keepTail;
        this.lines = lines;
        InputStream in = process.getInputStream();
        this.reader = new Thread(() -> drain(in), threadName);
        reader.setDaemon(true);
    }

    /**
     * Starts reading {@code process}'s output, keeping its first {@code maxBytes}: for output that is
     * logged, where the beginning says what the process was doing.
     *
     * @param threadName the reader thread's name, for thread dumps
     */
    public static ProcessOutput keepHead(Process process, int maxBytes, String threadName) {
        return start(new ProcessOutput(process, maxBytes, false, threadName, null));
    }

    /**
     * Starts reading {@code process}'s output, keeping its last {@code maxBytes}: for a command whose
     * failure is reported, where the end of the output says why it failed.
     *
     * @param threadName the reader thread's name, for thread dumps
     */
    public static ProcessOutput keepTail(Process process, int maxBytes, String threadName) {
        return start(new ProcessOutput(process, maxBytes, true, threadName, null));
    }

    /**
     * As {@link #keepTail(Process, int, String)}, and hands each line to {@code lines} as soon as it
     * is read (on the reader thread), whatever the bound keeps: how a long command's progress
     * meter (pg_basebackup --progress, pgBackRest's per-file lines) is followed while it runs. A
     * line ends at {@code \n} or {@code \r}; an exception from {@code lines} is ignored.
     */
    public static ProcessOutput keepTail(Process process, int maxBytes, String threadName, Consumer<String> lines) {
        return start(new ProcessOutput(process, maxBytes, true, threadName, lines));
    }

    private static ProcessOutput start(ProcessOutput output) {
        output.reader.start();
        return output;
    }

    /**
     * Waits at most {@code timeout} for the output to end (after the process has ended, to have all
     * of it). The wait is bounded because a child the process left running may hold the pipe open
     * long after the process itself is gone.
     *
     * @return whether the output was read to its end
     */
    public boolean awaitEnd(Duration timeout) throws InterruptedException {
        reader.join(Math.max(1, timeout.toMillis()));
        return !reader.isAlive();
    }

    /** What is kept of the output read so far, decoded as UTF-8. */
    public String text() {
        synchronized (kept) {
            return kept.toString(StandardCharsets.UTF_8);
        }
    }

    private void drain(InputStream in) {
        byte[] buf = new byte[8192];
        try (in) {
            int n;
            while ((n = in.read(buf)) > 0) {
                if (lines != null) {
                    split(buf, n);
                }
                synchronized (kept) {
                    if (keepTail) {
                        appendKeepingTail(buf, n);
                    } else {
                        kept.write(buf, 0, Math.max(0, Math.min(n, maxBytes - kept.size())));
                    }
                }
            }
        } catch (IOException ignored) {
            // the process ended or was killed: what was read is kept
        }
        if (lines != null && line.size() > 0) {
            emit();
        }
    }

    /** Feeds the listener every line completed by these bytes; a line longer than the bound is cut. */
    private void split(byte[] buf, int n) {
        for (int i = 0; i < n; i++) {
            byte b = buf[i];
            if (b == '\n' || b == '\r') {
                if (line.size() > 0) {
                    emit();
                }
            } else if (line.size() < 4096) {
                line.write(b);
            }
        }
    }

    @SuppressWarnings("CatchingUnchecked") // the listener's failure must not stop the draining
    private void emit() {
        String text = line.toString(StandardCharsets.UTF_8);
        line.reset();
        try {
            lines.accept(text);
        } catch (RuntimeException e) {
            // a listener that fails misses this line; the output is still read and kept
        }
    }

    /** Appends {@code n} bytes of {@code buf}, dropping the oldest bytes beyond {@link #maxBytes}. Caller holds the lock. */
    private void appendKeepingTail(byte[] buf, int n) {
        if (kept.size() + n > maxBytes) {
            byte[] all = kept.toByteArray();
            int keep = Math.max(0, Math.min(all.length, maxBytes - n));
            kept.reset();
            kept.write(all, all.length - keep, keep);
        }
        int skip = Math.max(0, n - maxBytes);
        kept.write(buf, skip, n - skip);
    }
}
