package io.pgha.api;

import io.pgha.dcs.ClusterState;
import io.pgha.dcs.ClusterStatus;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsException;
import io.pgha.dcs.Failover;
import io.pgha.dcs.HistoryEntry;
import io.pgha.dcs.SyncState;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A Dcs that forwards every call; tests override one method to inject a race or a failure. Public
 * (in pgha-core's test-jar) so that other modules' tests can decorate a Dcs the same way.
 */
public class ForwardingDcs implements Dcs {
    private final Dcs d;

    public ForwardingDcs(Dcs d) {
        this.d = d;
    }

    @Override
    public String memberName() {
        return d.memberName();
    }

    @Override
    public ClusterState read() throws DcsException {
        return d.read();
    }

    @Override
    public boolean acquireLeader() throws DcsException {
        return d.acquireLeader();
    }

    @Override
    public boolean takeOverLeader(String holder, long expectedVersion) throws DcsException {
        return d.takeOverLeader(holder, expectedVersion);
    }

    @Override
    public boolean renewLeader() throws DcsException {
        return d.renewLeader();
    }

    @Override
    public boolean releaseLeader() throws DcsException {
        return d.releaseLeader();
    }

    @Override
    public void touchMember(Map<String, Object> data) throws DcsException {
        d.touchMember(data);
    }

    @Override
    public boolean writeInitialize(String systemIdentifier, long expectedVersion) throws DcsException {
        return d.writeInitialize(systemIdentifier, expectedVersion);
    }

    @Override
    public boolean cancelInitialize() throws DcsException {
        return d.cancelInitialize();
    }

    @Override
    public boolean writeConfig(Map<String, Object> config, long expectedVersion) throws DcsException {
        return d.writeConfig(config, expectedVersion);
    }

    @Override
    public boolean writeFailover(Failover failover, long expectedVersion) throws DcsException {
        return d.writeFailover(failover, expectedVersion);
    }

    @Override
    public boolean writeSync(SyncState sync, long expectedVersion) throws DcsException {
        return d.writeSync(sync, expectedVersion);
    }

    @Override
    public void writeStatus(ClusterStatus status) throws DcsException {
        d.writeStatus(status);
    }

    @Override
    public void writeHistory(List<HistoryEntry> history) throws DcsException {
        d.writeHistory(history);
    }

    @Override
    public void writeFailsafe(Map<String, String> failsafe) throws DcsException {
        d.writeFailsafe(failsafe);
    }

    @Override
    public void deleteCluster() throws DcsException {
        d.deleteCluster();
    }

    @Override
    public void setTtl(Duration ttl) throws DcsException {
        d.setTtl(ttl);
    }

    @Override
    public boolean awaitChange(Duration timeout) throws InterruptedException {
        return d.awaitChange(timeout);
    }

    @Override
    public void wakeUp() {
        d.wakeUp();
    }

    @Override
    public void close() {
        d.close();
    }

    @Override
    public void abandon() {
        d.abandon();
    }
}
