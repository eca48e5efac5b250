package io.pgha.examples.ctl;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.DcsProvider;
import io.pgha.dcs.DcsSettings;
import java.io.Closeable;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one {@code ctl} invocation holds: the parsed config, the streams, one DCS connection per
 * cluster it reads (opened on first use, closed by {@link #close()}), and the REST API client.
 * Single-threaded: one command runs at a time.
 */
final class Session implements Closeable {
    final PrintStream out;
    final PrintStream err;
    final Prompter prompter;
    private final InputStream in;
    private final CtlConfig config;
    private final Map<String, Dcs> dcs = new LinkedHashMap<>();
    private PatroniApi api;

    Session(CtlConfig config, PrintStream out, PrintStream err, InputStream in) {
        this.config = config;
        this.out = out;
        this.err = err;
        this.in = in;
        this.prompter = new Prompter(out, in);
    }

    /** Standard input, for {@code --apply -}. */
    InputStream stdin() {
        return in;
    }

    CtlConfig config() {
        return config;
    }

    String clusterName(String argument) {
        return config.clusterName(argument);
    }

    /** The DCS connection for {@code scope}, as member {@code pgha-ctl-<pid>} (it never takes the lock or registers). */
    Dcs dcs(String scope) {
        Dcs d = dcs.get(scope);
        if (d != null) {
            return d;
        }
        if (config.dcsType() == null) {
            throw new CtlException("no DCS configured: config file " + config.source() + " has none of "
                    + CtlConfig.DCS_TYPES + "; add one or pass --dcs-url (e.g. etcd3://127.0.0.1:2379)");
        }
        DcsProvider provider;
        try {
            provider = DcsProvider.find(config.dcsType());
        } catch (IllegalArgumentException e) {
            throw new CtlException(e.getMessage());
        }
        DcsSettings settings = new DcsSettings(
                config.namespace(),
                scope,
                "pgha-ctl-" + ProcessHandle.current().pid(),
                config.ttl(),
                config.retryTimeout(),
                config.dcsOptions());
        try {
            d = provider.create(settings);
        } catch (DcsException | IllegalArgumentException e) {
            throw new CtlException("cannot connect to the " + config.dcsType() + " DCS: " + e.getMessage());
        }
        dcs.put(scope, d);
        return d;
    }

    /** One snapshot of the cluster; an unreachable DCS is a one-line error. */
    ClusterState read(String scope) {
        try {
            return dcs(scope).read();
        } catch (DcsException e) {
            throw new CtlException(
                    "cannot read cluster " + scope + " from the " + config.dcsType() + " DCS: " + e.getMessage());
        }
    }

    PatroniApi api() {
        if (api == null) {
            api = new PatroniApi(config);
        }
        return api;
    }

    @Override
    public void close() {
        for (Dcs d : dcs.values()) {
            try {
                d.close();
            } catch (RuntimeException e) {
                err.println("warning: closing the DCS connection failed: " + CtlException.oneLine(e.getMessage()));
            }
        }
        dcs.clear();
    }
}
