package io.pgha.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo's embedded ZooKeeper (ZooKeeper's own server classes, no curator-test in the runner):
 * a client writes and reads through it, and closing it frees its port.
 */
class LocalDcsZooKeeperTest {

    @Test
    void servesClientsAndStopsListeningWhenClosed(@TempDir Path dir) throws Exception {
        LocalDcs zk = LocalDcs.start("zookeeper", dir, new Ports());
        String endpoint = zk.endpoint();
        try (zk;
                CuratorFramework client = CuratorFrameworkFactory.newClient(endpoint, new RetryOneTime(100))) {
            assertThat(zk.type()).isEqualTo("zookeeper");
            assertThat(zk.yamlSection()).contains("zookeeper:", endpoint);
            client.start();
            client.create().creatingParentsIfNeeded().forPath("/service/demo/x", "y".getBytes(StandardCharsets.UTF_8));
            assertThat(new String(client.getData().forPath("/service/demo/x"), StandardCharsets.UTF_8))
                    .isEqualTo("y");
        }
        assertThat(dir.resolve("zookeeper")).isDirectory();
        int port = Integer.parseInt(endpoint.substring(endpoint.indexOf(':') + 1));
        assertThatThrownBy(() -> {
                    try (Socket s = new Socket()) {
                        s.connect(new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 500);
                    }
                })
                .isInstanceOf(IOException.class);
    }
}
