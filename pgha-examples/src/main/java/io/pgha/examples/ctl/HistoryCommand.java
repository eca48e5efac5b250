package io.pgha.examples.ctl;

import io.pgha.dcs.HistoryEntry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code history}: the failovers and switchovers recorded in the {@code history} key. */
@Command(name = "history", description = "Show the history of failovers and switchovers")
final class HistoryCommand extends Verb {
    @Parameters(paramLabel = "CLUSTER", arity = "0..1", description = "Cluster name (default: the config's scope)")
    String cluster;

    @Option(
            names = {"-f", "--format"},
            paramLabel = "FMT",
            defaultValue = "pretty",
            description = "pretty, tsv, json or yaml (default: ${DEFAULT-VALUE})")
    String format;

    @Override
    public Integer call() {
        Output.checkFormat(format);
        Session s = session();
        String name = s.clusterName(cluster);
        List<List<Object>> rows = new ArrayList<>();
        for (HistoryEntry e : s.read(name).history()) {
            rows.add(new ArrayList<>(
                    Arrays.asList(e.timeline(), e.lsn(), nz(e.reason()), nz(e.timestamp()), nz(e.newLeader()))));
        }
        Output.print(
                s.out,
                List.of("TL", "LSN", "Reason", "Timestamp", "New Leader"),
                rows,
                Map.of("TL", 'r', "LSN", 'r'),
                format,
                null);
        return 0;
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
