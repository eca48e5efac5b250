package io.pgha.api;

/**
 * {@code GET /metrics}: Prometheus text exposition of {@link PatroniMetrics}' table, with Patroni's
 * metric names, help texts and labels ({@code scope} and {@code name}, as Patroni 4);
 * {@code patroni_master} is kept for dashboards written for Patroni 3. Then the node's extension
 * sections' numbers (the runner's {@code backup}) as {@code pgha_<section>_<key>} gauges.
 */
final class MetricsText {
    /** Extension entries become metric names only when they are valid Prometheus names. */
    private static final java.util.regex.Pattern SAFE_NAME = java.util.regex.Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

    private final StringBuilder out = new StringBuilder();
    private final String labels;

    private MetricsText(String labels) {
        this.labels = labels;
    }

    static String of(NodeView v) {
        MetricsText m =
                new MetricsText("{scope=\"" + escape(v.state.scope()) + "\",name=\"" + escape(v.state.name()) + "\"}");
        for (PatroniMetrics.Metric metric : PatroniMetrics.all()) {
            if (metric.shownFor(v)) {
                m.metric(metric.name(), metric.type(), metric.help(), metric.values(), metric.text(v));
            }
        }
        v.extensions.forEach((section, entries) -> entries.forEach((key, value) -> {
            if (value instanceof Number n
                    && SAFE_NAME.matcher(section + "_" + key).matches()) {
                m.metric(
                        "pgha_" + section + "_" + key,
                        "gauge",
                        "pgha " + section + " status: " + key + ".",
                        null,
                        n.toString());
            }
        }));
        return m.out.toString();
    }

    private void metric(String name, String type, String help, String values, String value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        if (values != null) {
            out.append("# Values: ").append(values).append('\n');
        }
        out.append("# TYPE ")
                .append(name)
                .append(' ')
                .append(type)
                .append('\n')
                .append(name)
                .append(labels)
                .append(' ')
                .append(value)
                .append('\n');
    }

    /** 4.1.4 becomes 040104, as Patroni prints it. */
    static String paddedVersion(String version) {
        return PatroniMetrics.paddedVersion(version);
    }

    private static String escape(String s) {
        return s == null ? "" : s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
