package io.pgha.spring.boot;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code pgha.*}: the embedded member's configuration. Either {@code pgha.patroni-config}, the path
 * of a Patroni YAML file run exactly as {@code pgha run <file>} runs it, or the properties below,
 * which are Patroni's keys in Spring's spelling ({@code pgha.postgresql.data-dir} is
 * {@code postgresql.data_dir}) and go through the same checks. There are no default passwords: a
 * member without its credentials does not start.
 */
@ConfigurationProperties(prefix = "pgha")
public class PghaProperties {
    /** Whether the embedded member runs at all. */
    private boolean enabled = true;

    /**
     * Whether the member starts with the application context; when false, the application starts
     * it ({@code PghaMember.start()}).
     */
    private boolean autoStartup = true;

    /**
     * A Patroni configuration file (YAML) to run as it is, as {@code pgha run <file>} runs it; the
     * node properties below must then be left unset. PATRONI_* environment variables override it
     * as they override the runner's file.
     */
    private Path patroniConfig;

    /** The cluster's name (Patroni's scope). */
    private String scope;

    /** This member's name, unique in the cluster. */
    private String name;

    /** The DCS key prefix (Patroni's namespace, default /service/). */
    private String namespace;

    /** The DCS: etcd3, zookeeper, consul, or memory (in-process, for a single-node trial). */
    private String dcsType;

    /** The DCS section, with Patroni's keys (etcd3: hosts, username, password, protocol, cacert ...). */
    private Map<String, Object> dcs = new LinkedHashMap<>();

    /** The member's REST API (Patroni's restapi section). */
    private final RestApi restapi = new RestApi();

    /** The member's PostgreSQL (Patroni's postgresql section). */
    private final Postgresql postgresql = new Postgresql();

    /** The dynamic configuration a new cluster starts with (Patroni's bootstrap.dcs: ttl, loop_wait ...). */
    private Map<String, Object> bootstrapDcs = new LinkedHashMap<>();

    /** The member's tags (nofailover, noloadbalance, clonefrom, nosync, failover_priority ...). */
    private Map<String, Object> tags = new LinkedHashMap<>();

    /**
     * Whether the application's readiness (Actuator's readiness group, a Kubernetes readinessProbe)
     * means "this member is the primary": OUT_OF_SERVICE on a replica.
     */
    private boolean readinessPrimaryOnly;

    /** The primary-following DataSource (HikariCP). */
    private final Datasource datasource = new Datasource();

    /** Patroni's restapi section. */
    public static class RestApi {
        /** host:port the REST API listens on (required). */
        private String listen;

        /** host:port the other members, HAProxy and patronictl reach it at (default: listen). */
        private String connectAddress;

        /** Basic authentication for the REST API's writes. */
        private String username;

        /** Basic authentication for the REST API's writes. */
        private String password;

        public String getListen() {
            return listen;
        }

        public void setListen(String listen) {
            this.listen = listen;
        }

        public String getConnectAddress() {
            return connectAddress;
        }

        public void setConnectAddress(String connectAddress) {
            this.connectAddress = connectAddress;
        }

        public String getUsername() {
            return username;
        }

        public void setUsername(String username) {
            this.username = username;
        }

        public String getPassword() {
            return password;
        }

        public void setPassword(String password) {
            this.password = password;
        }

        boolean isSet() {
            return listen != null || connectAddress != null || username != null || password != null;
        }
    }

    /** Patroni's postgresql section. */
    public static class Postgresql {
        /** host:port PostgreSQL listens on (required). */
        private String listen;

        /** host:port the other members and clients reach PostgreSQL at (default: listen). */
        private String connectAddress;

        /** The data directory (required). */
        private String dataDir;

        /** Where PostgreSQL's programs are (default: found on the machine). */
        private String binDir;

        /** PostgreSQL parameters of this member. */
        private Map<String, Object> parameters = new LinkedHashMap<>();

        /** pg_hba.conf lines pgha writes. */
        private List<String> pgHba = new ArrayList<>();

        /** The superuser and the replication user (both required, with their passwords). */
        private final Authentication authentication = new Authentication();

        public String getListen() {
            return listen;
        }

        public void setListen(String listen) {
            this.listen = listen;
        }

        public String getConnectAddress() {
            return connectAddress;
        }

        public void setConnectAddress(String connectAddress) {
            this.connectAddress = connectAddress;
        }

        public String getDataDir() {
            return dataDir;
        }

        public void setDataDir(String dataDir) {
            this.dataDir = dataDir;
        }

        public String getBinDir() {
            return binDir;
        }

        public void setBinDir(String binDir) {
            this.binDir = binDir;
        }

        public Map<String, Object> getParameters() {
            return parameters;
        }

        public void setParameters(Map<String, Object> parameters) {
            this.parameters = parameters;
        }

        public List<String> getPgHba() {
            return pgHba;
        }

        public void setPgHba(List<String> pgHba) {
            this.pgHba = pgHba;
        }

        public Authentication getAuthentication() {
            return authentication;
        }

        boolean isSet() {
            return listen != null
                    || connectAddress != null
                    || dataDir != null
                    || binDir != null
                    || !parameters.isEmpty()
                    || !pgHba.isEmpty()
                    || authentication.superuser.isSet()
                    || authentication.replication.isSet();
        }
    }

    /** Patroni's postgresql.authentication section. */
    public static class Authentication {
        /** The superuser pgha connects as (username and password required). */
        private final Credentials superuser = new Credentials();

        /** The user the replicas stream as (username and password required). */
        private final Credentials replication = new Credentials();

        public Credentials getSuperuser() {
            return superuser;
        }

        public Credentials getReplication() {
            return replication;
        }
    }

    /** A user and its password. */
    public static class Credentials {
        /** The user name (no default: required). */
        private String username;

        /** The password (no default: required). */
        private String password;

        public String getUsername() {
            return username;
        }

        public void setUsername(String username) {
            this.username = username;
        }

        public String getPassword() {
            return password;
        }

        public void setPassword(String password) {
            this.password = password;
        }

        boolean isSet() {
            return username != null || password != null;
        }
    }

    /**
     * The application's DataSource: HikariCP over the cluster's current primary. Pool settings are
     * Spring Boot's {@code spring.datasource.hikari.*}.
     */
    public static class Datasource {
        /** Whether the starter provides the DataSource (when the application defines none). */
        private boolean enabled = true;

        /** The database the application uses. */
        private String database = "postgres";

        /** The user the application connects as (default: the superuser). */
        private String username;

        /** Its password (default: the superuser's, when username is not set either). */
        private String password;

        public boolean isEnabled() {
            return enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public String getDatabase() {
            return database;
        }

        public void setDatabase(String database) {
            this.database = database;
        }

        public String getUsername() {
            return username;
        }

        public void setUsername(String username) {
            this.username = username;
        }

        public String getPassword() {
            return password;
        }

        public void setPassword(String password) {
            this.password = password;
        }
    }

    public boolean isEnabled() {
        return enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public boolean isAutoStartup() {
        return autoStartup;
    }

    public void setAutoStartup(boolean autoStartup) {
        this.autoStartup = autoStartup;
    }

    public Path getPatroniConfig() {
        return patroniConfig;
    }

    public void setPatroniConfig(Path patroniConfig) {
        this.patroniConfig = patroniConfig;
    }

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

    public String getNamespace() {
        return namespace;
    }

    public void setNamespace(String namespace) {
        this.namespace = namespace;
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

    public RestApi getRestapi() {
        return restapi;
    }

    public Postgresql getPostgresql() {
        return postgresql;
    }

    public Map<String, Object> getBootstrapDcs() {
        return bootstrapDcs;
    }

    public void setBootstrapDcs(Map<String, Object> bootstrapDcs) {
        this.bootstrapDcs = bootstrapDcs;
    }

    public Map<String, Object> getTags() {
        return tags;
    }

    public void setTags(Map<String, Object> tags) {
        this.tags = tags;
    }

    public boolean isReadinessPrimaryOnly() {
        return readinessPrimaryOnly;
    }

    public void setReadinessPrimaryOnly(boolean readinessPrimaryOnly) {
        this.readinessPrimaryOnly = readinessPrimaryOnly;
    }

    public Datasource getDatasource() {
        return datasource;
    }

    /** The node properties set next to {@code patroni-config}, by their property names. */
    List<String> nodePropertiesSet() {
        List<String> set = new ArrayList<>();
        addIf(set, scope != null, "pgha.scope");
        addIf(set, name != null, "pgha.name");
        addIf(set, namespace != null, "pgha.namespace");
        addIf(set, dcsType != null, "pgha.dcs-type");
        addIf(set, !dcs.isEmpty(), "pgha.dcs");
        addIf(set, restapi.isSet(), "pgha.restapi");
        addIf(set, postgresql.isSet(), "pgha.postgresql");
        addIf(set, !bootstrapDcs.isEmpty(), "pgha.bootstrap-dcs");
        addIf(set, !tags.isEmpty(), "pgha.tags");
        return set;
    }

    private static void addIf(List<String> list, boolean condition, String name) {
        if (condition) {
            list.add(name);
        }
    }
}
