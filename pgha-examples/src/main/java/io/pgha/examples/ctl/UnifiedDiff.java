package io.pgha.examples.ctl;

import java.util.ArrayList;
import java.util.List;

/**
 * The unified diff that patronictl's {@code edit-config} shows ({@code difflib.unified_diff} with
 * three lines of context, file names left empty). Sized for configuration files: a quadratic
 * longest-common-subsequence, fine for thousands of lines. Stateless.
 */
final class UnifiedDiff {
    private static final int CONTEXT = 3;

    private UnifiedDiff() {}

    /** The diff lines, empty when the texts are equal. */
    static List<String> diff(String before, String after) {
        List<String> a = before.lines().toList();
        List<String> b = after.lines().toList();
        List<int[]> ops = editScript(a, b); // each: {kind, aIndex, bIndex}; kind 0 equal, 1 delete, 2 insert
        List<String> out = new ArrayList<>();
        if (ops.stream().allMatch(o -> o[0] == 0)) {
            return out;
        }
        out.add("---");
        out.add("+++");
        int i = 0;
        while (i < ops.size()) {
            if (ops.get(i)[0] == 0) {
                i++;
                continue;
            }
            // a hunk: from CONTEXT equal lines before the change to CONTEXT after the last change
            // that is no more than 2 * CONTEXT equal lines away from the next
            int start = Math.max(0, i - CONTEXT);
            int end = i;
            int j = i;
            while (j < ops.size()) {
                if (ops.get(j)[0] != 0) {
                    end = j;
                    j++;
                    continue;
                }
                int k = j;
                while (k < ops.size() && ops.get(k)[0] == 0) {
                    k++;
                }
                if (k < ops.size() && k - j <= 2 * CONTEXT) {
                    j = k;
                } else {
                    break;
                }
            }
            int stop = Math.min(ops.size(), end + 1 + CONTEXT);
            int aStart = -1;
            int bStart = -1;
            int aLen = 0;
            int bLen = 0;
            List<String> body = new ArrayList<>();
            for (int h = start; h < stop; h++) {
                int[] o = ops.get(h);
                if (aStart < 0) {
                    aStart = o[1];
                    bStart = o[2];
                }
                switch (o[0]) {
                    case 0 -> {
                        body.add(" " + a.get(o[1]));
                        aLen++;
                        bLen++;
                    }
                    case 1 -> {
                        body.add("-" + a.get(o[1]));
                        aLen++;
                    }
                    default -> {
                        body.add("+" + b.get(o[2]));
                        bLen++;
                    }
                }
            }
            out.add("@@ -" + range(aStart, aLen) + " +" + range(bStart, bLen) + " @@");
            out.addAll(body);
            i = stop;
        }
        return out;
    }

    private static String range(int start, int length) {
        int beginning = start + 1;
        if (length == 1) {
            return String.valueOf(beginning);
        }
        if (length == 0) {
            beginning--;
        }
        return beginning + "," + length;
    }

    /** Each op carries the position in both texts where it applies, for the hunk headers. */
    private static List<int[]> editScript(List<String> a, List<String> b) {
        int n = a.size();
        int m = b.size();
        int[][] lcs = new int[n + 1][m + 1];
        for (int x = n - 1; x >= 0; x--) {
            for (int y = m - 1; y >= 0; y--) {
                lcs[x][y] = a.get(x).equals(b.get(y)) ? lcs[x + 1][y + 1] + 1 : Math.max(lcs[x + 1][y], lcs[x][y + 1]);
            }
        }
        List<int[]> ops = new ArrayList<>();
        int x = 0;
        int y = 0;
        while (x < n || y < m) {
            if (x < n && y < m && a.get(x).equals(b.get(y))) {
                ops.add(new int[] {0, x++, y++});
            } else if (y < m && (x == n || lcs[x][y + 1] > lcs[x + 1][y])) {
                ops.add(new int[] {2, x, y++});
            } else {
                ops.add(new int[] {1, x++, y});
            }
        }
        return ops;
    }
}
