package io.pgha.dcs.etcd;

import io.etcd.jetcd.Client;
import io.pgha.dcs.Dcs;
import io.pgha.dcs.DcsContract;
import io.pgha.dcs.DcsSettings;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The shared {@link DcsContract} against a real etcd (one per test class). */
class EtcdDcsContractIT extends DcsContract {
    private static EtcdServer etcd;
    private static Client raw;

    @BeforeAll
    static void startEtcd() throws Exception {
        EtcdServer.assumeInstalled();
        etcd = EtcdServer.start();
        raw = Client.builder().endpoints(etcd.endpoint()).build();
        // warm up gRPC and netty in this JVM, so that class loading on a busy machine does not eat the
        // short retry_timeout of the first test
        raw.getKVClient().get(EtcdStore.bytes("/")).get(60, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stopEtcd() throws Exception {
        if (raw != null) {
            raw.close();
        }
        if (etcd != null) {
            etcd.close();
        }
    }

    @Override
    protected Dcs connect(String scope, String member, Duration ttl) throws Exception {
        return new EtcdDcsProvider()
                .create(new DcsSettings(
                        "/service/", scope, member, ttl, Duration.ofSeconds(3), Map.of("hosts", etcd.hostPort())));
    }

    @Override
    protected void putRaw(String scope, String key, String value) throws Exception {
        raw.getKVClient()
                .put(EtcdStore.bytes("/service/" + scope + "/" + key), EtcdStore.bytes(value))
                .get(10, TimeUnit.SECONDS);
    }

    @Override
    protected void stopStore() throws Exception {
        etcd.stop();
    }

    @Override
    protected void startStore() throws Exception {
        etcd.startAgain();
    }
}
