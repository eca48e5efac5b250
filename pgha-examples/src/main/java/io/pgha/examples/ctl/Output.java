package io.pgha.examples.ctl;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * patronictl's {@code print_output}: a table as {@code pretty} (PrettyTable's frame with the
 * cluster title set into the top rule), {@code tsv}, {@code json} (a list of objects) or
 * {@code yaml}. Stateless.
 */
final class Output {
    static final Set<String> FORMATS = Set.of("pretty", "tsv", "json", "yaml", "yml");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
                    .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                    .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                    .disable(YAMLGenerator.Feature.SPLIT_LINES))
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    private Output() {}

    /** Fails, as a usage error, unless {@code fmt} is one of {@link #FORMATS}; returns it. */
    static String checkFormat(String fmt) {
        if (!FORMATS.contains(fmt)) {
            throw new CtlException("unknown format '" + fmt + "' (known: pretty, tsv, json, yaml)", Ctl.EXIT_USAGE);
        }
        return fmt;
    }

    /**
     * Prints a table.
     *
     * @param align column name to 'r' for right-aligned columns (others are left-aligned)
     * @param header the title set into the top rule ({@code " Cluster: demo (7245...) "}), or null;
     *     when given, machine formats leave out empty values, as patronictl does
     */
    static void print(
            PrintStream out,
            List<String> columns,
            List<List<Object>> rows,
            Map<String, Character> align,
            String fmt,
            String header) {
        switch (fmt) {
            case "json", "yaml", "yml" -> {
                List<Map<String, Object>> elements = new ArrayList<>();
                for (List<Object> row : rows) {
                    Map<String, Object> e = new LinkedHashMap<>();
                    for (int i = 0; i < columns.size(); i++) {
                        Object v = row.get(i);
                        if (header == null || !(v == null || String.valueOf(v).isEmpty())) {
                            e.put(columns.get(i), v);
                        }
                    }
                    elements.add(e);
                }
                out.println(fmt.equals("json") ? json(elements) : yaml(elements).stripTrailing());
            }
            case "tsv" -> {
                out.println(String.join("\t", columns));
                for (List<Object> row : rows) {
                    List<String> cells = new ArrayList<>();
                    row.forEach(c -> cells.add(c == null ? "" : String.valueOf(c)));
                    out.println(String.join("\t", cells));
                }
            }
            default -> out.print(pretty(columns, rows, align, header));
        }
    }

    /** PrettyTable's default frame; multi-line cells get a rule between every row. */
    static String pretty(List<String> columns, List<List<Object>> rows, Map<String, Character> align, String header) {
        int n = columns.size();
        int[] width = new int[n];
        List<List<String[]>> cells = new ArrayList<>();
        boolean multiLine = false;
        for (int i = 0; i < n; i++) {
            width[i] = columns.get(i).length();
        }
        for (List<Object> row : rows) {
            List<String[]> r = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Object v = i < row.size() ? row.get(i) : "";
                String[] lines = (v == null ? "" : String.valueOf(v)).split("\n", -1);
                multiLine |= lines.length > 1;
                for (String l : lines) {
                    width[i] = Math.max(width[i], l.length());
                }
                r.add(lines);
            }
            cells.add(r);
        }
        StringBuilder rule = new StringBuilder("+");
        for (int i = 0; i < n; i++) {
            rule.append("-".repeat(width[i] + 2)).append('+');
        }
        String hr = rule.toString();
        StringBuilder sb = new StringBuilder();
        String top = hr;
        if (header != null && !header.isEmpty()) {
            String h = header.length() > hr.length() - 2 ? header.substring(0, hr.length() - 2) : header;
            top = hr.charAt(0) + h + hr.substring(1 + h.length());
        }
        sb.append(top).append('\n');
        sb.append(line(columns.stream().map(c -> new String[] {c}).toList(), columns, width, align, 0))
                .append('\n');
        sb.append(hr).append('\n');
        for (int r = 0; r < cells.size(); r++) {
            List<String[]> row = cells.get(r);
            int height = row.stream().mapToInt(a -> a.length).max().orElse(1);
            for (int k = 0; k < height; k++) {
                sb.append(line(row, columns, width, align, k)).append('\n');
            }
            if (multiLine && r < cells.size() - 1) {
                sb.append(hr).append('\n');
            }
        }
        sb.append(hr).append('\n');
        return sb.toString();
    }

    private static String line(
            List<String[]> row, List<String> columns, int[] width, Map<String, Character> align, int k) {
        StringBuilder sb = new StringBuilder("|");
        for (int i = 0; i < width.length; i++) {
            String[] lines = row.get(i);
            String text = k < lines.length ? lines[k] : "";
            boolean right = align != null && Character.valueOf('r').equals(align.get(columns.get(i)));
            String pad = " ".repeat(width[i] - text.length());
            sb.append(' ').append(right ? pad + text : text + pad).append(" |");
        }
        return sb.toString();
    }

    /**
     * {@code s} safe to print on a terminal: control characters (C0, DEL, C1: ANSI escapes, carriage
     * returns, bells), bidirectional overrides and other format characters shown as {@code \\n},
     * {@code \\t}, {@code \\r}, {@code \\e}, or {@code \\u009b}, and a backslash as {@code \\\\} so that
     * none of these can be faked. Strings from the DCS (member names, tags, URLs, states) are
     * written by whoever holds DCS credentials; printed raw they could rewrite what an operator sees.
     *
     * @param keepNewlines whether {@code \\n} stays a line break (a multi-line cell)
     */
    static String visible(String s, boolean keepNewlines) {
        if (s == null) {
            return null;
        }
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            String rep = null;
            if (c == '\\') {
                rep = "\\\\";
            } else if (c == '\n') {
                rep = keepNewlines ? null : "\\n";
            } else if (c == '\t') {
                rep = "\\t";
            } else if (c == '\r') {
                rep = "\\r";
            } else if (c == 0x1b) {
                rep = "\\e";
            } else if (Character.isISOControl(c) || Character.getType(c) == Character.FORMAT) {
                rep = String.format(java.util.Locale.ROOT, "\\u%04x", (int) c);
            }
            if (rep != null && sb == null) {
                sb = new StringBuilder(s.length() + 16).append(s, 0, i);
            }
            if (sb != null) {
                if (rep != null) {
                    sb.append(rep);
                } else {
                    sb.append(c);
                }
            }
        }
        return sb == null ? s : sb.toString();
    }

    static String json(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** YAML as patronictl's {@code format_config_for_editing} writes it: block style, keys sorted. */
    static String yaml(Object value) {
        try {
            return YAML.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
