package io.pgha.dcs.zookeeper;

import java.util.List;
import org.apache.curator.framework.api.ACLProvider;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;

/** The same ACL list on every znode this member creates (Patroni's {@code set_acls}). Immutable. */
record FixedAclProvider(List<ACL> acls) implements ACLProvider {
    @Override
    public List<ACL> getDefaultAcl() {
        return acls.isEmpty() ? ZooDefs.Ids.OPEN_ACL_UNSAFE : acls;
    }

    @Override
    public List<ACL> getAclForPath(String path) {
        return getDefaultAcl();
    }
}
