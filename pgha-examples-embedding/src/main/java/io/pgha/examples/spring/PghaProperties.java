package io.pgha.examples.spring;

import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code pgha.*} in application.yml: who this node is, which DCS, where PostgreSQL lives.
 * Defaults run a single self-contained node on the in-process {@code memory} DCS.
 */
@ConfigurationProperties("pgha")
public class PghaProperties {
    private String scope = "spring";
    private String name = "app1";
    /** etcd3, zookeeper, consul or memory. */
    private String dcsType = "memory";
    /** The backend's settings, as Patroni's section for it (e.g. hosts). */
    private Map<String, Object> dcs = new LinkedHashMap<>(Map.of("store", "spring"));

    private String dataDir;
    private String host = "127.0.0.1";
    private int port = 5432;
    private String superuserPassword = "postgres";
    private String replicationPassword = "replicator";
    /** When true, the application is ready (readiness probe) only while its node is the primary. */
    private boolean readinessPrimaryOnly;

    private Map<String, Object> bootstrapDcs =
            new LinkedHashMap<>(Map.of("ttl", 10, "loop_wait", 2, "retry_timeout", 3));

    public String getScope() {
        return scope;
    }

    public void setScope(String scope) {
        this.scope = scope;
    }

    public String getName() {
        return name;
    }

    public void setName(String name) {
        this.name = name;
    }

    public String getDcsType() {
        return dcsType;
    }

    public void setDcsType(String dcsType) {
        this.dcsType = dcsType;
    }

    public Map<String, Object> getDcs() {
        return dcs;
    }

    public void setDcs(Map<String, Object> dcs) {
        this.dcs = dcs;
    }

    public String getDataDir() {
        return dataDir;
    }

    public void setDataDir(String dataDir) {
        this.dataDir = dataDir;
    }

    public String getHost() {
        return host;
    }

    public void setHost(String host) {
        this.host = host;
    }

    public int getPort() {
        return port;
    }

    public void setPort(int port) {
        this.port = port;
    }

    public String getSuperuserPassword() {
        return superuserPassword;
    }

    public void setSuperuserPassword(String superuserPassword) {
        this.superuserPassword = superuserPassword;
    }

    public String getReplicationPassword() {
        return replicationPassword;
    }

    public void setReplicationPassword(String replicationPassword) {
        this.replicationPassword = replicationPassword;
    }

    public boolean isReadinessPrimaryOnly() {
        return readinessPrimaryOnly;
    }

    public void setReadinessPrimaryOnly(boolean readinessPrimaryOnly) {
        this.readinessPrimaryOnly = readinessPrimaryOnly;
    }

    public Map<String, Object> getBootstrapDcs() {
        return bootstrapDcs;
    }

    public void setBootstrapDcs(Map<String, Object> bootstrapDcs) {
        this.bootstrapDcs = bootstrapDcs;
    }
}
