package io.pgha.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Random and hostile YAML through the loader and the validators: every input ends in a
 * {@link PatroniYaml} (warnings allowed) or an {@link IllegalArgumentException} naming the
 * problem, never another exception, never a hang. A fixed seed in the normal run; {@code
 * -Dpgha.fuzz.tries=N} for more tries and {@code -Dpgha.fuzz.seed=S} for another seed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PatroniYamlFuzzTest {

    private static final long SEED = Long.getLong("pgha.fuzz.seed", 20261203L);
    private static final int TRIES = Integer.getInteger("pgha.fuzz.tries", 300);
    private static final Duration EACH = Duration.ofSeconds(5);

    private static final List<String> HOSTILE_VALUES = List.of(
            "2147483648",
            "-2147483649",
            "9223372036854775808",
            "99999999999999999999999999999999999999999999",
            "1e400",
            "-1e400",
            "1e300000000",
            ".nan",
            ".inf",
            "-.inf",
            "0x7fffffffffffffff",
            "0o777",
            "-0",
            "''",
            "~",
            "null",
            "[]",
            "{}",
            "[1, [2, [3]]]",
            "{a: {b: {c: d}}}",
            "!!binary aGVsbG8=",
            "!!python/object:os.system ls",
            "!!set {a, b}",
            "*undefined",
            "\"\\u0000\\u001b[31mred\\n\"",
            "\"" + "x".repeat(10_000) + "\"",
            "yes",
            "off",
            "true",
            "2026-12-03",
            "12:30:00",
            "|\n    multi\n    line",
            "&a [x]",
            "? complex\n  : key");

    private ExecutorService pool;

    @BeforeAll
    void start() {
        pool = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "yaml-fuzz");
            t.setDaemon(true);
            return t;
        });
    }

    @AfterAll
    void stop() {
        pool.shutdownNow();
    }

    /** Parses {@code text} and uses what a runner uses; fails on anything but success or IAE. */
    private void check(String text) {
        Future<?> f = pool.submit(() -> {
            try {
                PatroniYaml y = PatroniYaml.parse(text, "fuzz.yml", Map.of());
                y.scope();
                y.name();
                y.namespace();
                y.dcsType();
                y.dcsOptions();
                y.warnings();
                y.logLevel();
                Map<String, Object> dcs = y.bootstrapDcs();
                DynamicConfigValidator.validate(dcs);
                DynamicConfig.from(dcs, DynamicConfig.DEFAULTS, p -> {});
                y.nodeConfig();
                y.dcsSettings();
                y.watchdogConfig();
            } catch (IllegalArgumentException expected) {
                assertThat(expected.getMessage()).isNotBlank();
            }
            return null;
        });
        try {
            f.get(EACH.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            // the stuck thread may still run: later inputs get a fresh one
            pool.shutdownNow();
            start();
            fail("no answer within " + EACH + " for:\n" + abbreviate(text));
        } catch (ExecutionException e) {
            throw new AssertionError(
                    e.getCause().getClass().getName() + " (not an IllegalArgumentException) for:\n" + abbreviate(text),
                    e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static String abbreviate(String text) {
        return text.length() <= 2000 ? text : text.substring(0, 2000) + "... (" + text.length() + " chars)";
    }

    /** Every scalar's line of the sample file, with each hostile value in its place. */
    @Test
    void wrongValuesAtEveryKeyOfASampleFile() {
        String[] lines = PatroniYamlTest.GOOD.split("\n", -1);
        int replaced = 0;
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int colon = line.indexOf(": ");
            boolean item = line.stripLeading().startsWith("- ");
            if (colon < 0 && !item && !line.endsWith(":")) {
                continue;
            }
            String head = colon >= 0
                    ? line.substring(0, colon + 2)
                    : item ? line.substring(0, line.indexOf("- ") + 2) : line + " ";
            for (String v : HOSTILE_VALUES) {
                String[] copy = lines.clone();
                copy[i] = head + v;
                check(String.join("\n", copy));
                replaced++;
            }
        }
        assertThat(replaced).isGreaterThan(500);
    }

    @Test
    void billionLaughsIsNotExpanded() {
        StringBuilder sb = new StringBuilder("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (int i = 1; i < 30; i++) {
            sb.append("a").append(i).append(": &a").append(i).append(" [");
            for (int j = 0; j < 10; j++) {
                sb.append(j == 0 ? "" : ", ").append("*a").append(i - 1);
            }
            sb.append("]\n");
        }
        check(sb.toString());
        check(PatroniYamlTest.GOOD.replace("nosync: false", "nosync: false\n  laughs: *a29\n") + sb);
        check(PatroniYamlTest.GOOD + "\nbootstrap2: &b\n  dcs: *b\n");
    }

    @Test
    void deepNestingIsRefused() {
        check("[".repeat(200_000));
        check("{a: ".repeat(100_000));
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 5_000; i++) {
            sb.append("  ".repeat(i)).append("k").append(i).append(":\n");
        }
        check(sb.toString());
        check("- ".repeat(50_000) + "x");
        assertThatThrownBy(() -> PatroniYaml.parse("[".repeat(200_000), "fuzz.yml", Map.of()))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PatroniYaml.parse("a: " + "[".repeat(200_000), "fuzz.yml", Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not valid YAML");
    }

    @Test
    void hugeDocumentsAndValuesAreRefusedOrBounded() {
        check("scope: " + "x".repeat(8_000_000));
        check("scope: \"" + "\\u0041".repeat(1_000_000) + "\"");
        check("ttl: " + "9".repeat(100_000));
        check("bootstrap:\n  dcs:\n    ttl: 1" + "0".repeat(5_000));
        check("bootstrap:\n  dcs:\n    ttl: 1e" + "9".repeat(5_000));
        StringBuilder keys = new StringBuilder();
        for (int i = 0; i < 200_000; i++) {
            keys.append("k").append(i).append(": v\n");
        }
        check(keys.toString());
    }

    @Test
    void randomDocuments() {
        Random r = new Random(SEED);
        String alphabet = ":-[]{},&*!|>'\"#%@`?\n\t \\0123456789abcdefxyz.eE+_~\u0000\u001b\u00e9\ud83d\ude00";
        List<String> sampleLines = List.of(PatroniYamlTest.GOOD.split("\n"));
        for (int t = 0; t < TRIES; t++) {
            String text;
            switch (t % 3) {
                case 0 -> {
                    StringBuilder sb = new StringBuilder();
                    int n = r.nextInt(400);
                    for (int i = 0; i < n; i++) {
                        sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
                    }
                    text = sb.toString();
                }
                case 1 -> {
                    // the sample with lines dropped, duplicated, swapped and cut
                    List<String> lines = new ArrayList<>(sampleLines);
                    for (int k = 0; k < 1 + r.nextInt(5); k++) {
                        int i = r.nextInt(lines.size());
                        switch (r.nextInt(4)) {
                            case 0 -> lines.remove(i);
                            case 1 -> lines.add(r.nextInt(lines.size()), lines.get(i));
                            case 2 ->
                                lines.set(
                                        i,
                                        lines.get(i)
                                                .substring(
                                                        0,
                                                        r.nextInt(lines.get(i).length() + 1)));
                            default ->
                                lines.set(
                                        i,
                                        lines.get(i)
                                                .replaceFirst(
                                                        ": .*$",
                                                        ": " + HOSTILE_VALUES.get(r.nextInt(HOSTILE_VALUES.size()))));
                        }
                    }
                    text = String.join("\n", lines);
                }
                default -> {
                    // the sample with random bytes spliced in
                    StringBuilder sb = new StringBuilder(PatroniYamlTest.GOOD);
                    for (int k = 0; k < 1 + r.nextInt(8); k++) {
                        sb.insert(r.nextInt(sb.length()), alphabet.charAt(r.nextInt(alphabet.length())));
                    }
                    text = sb.toString();
                }
            }
            check(text);
        }
    }
}
