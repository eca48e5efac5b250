package io.pgha.postgres.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Unix-domain socket pgjdbc gets for {@code use_unix_socket}, against an in-test echo peer. */
class UnixSocketFactoryTest {

    @TempDir
    Path dir;

    @Test
    void carriesBytesBothWaysAndHonoursTheReadTimeout() throws Exception {
        Path file = UnixSocketFactory.socketFile(dir, 5432);
        assertThat(file.getFileName().toString()).isEqualTo(".s.PGSQL.5432");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(file));
            try (Socket s = new UnixSocketFactory(file.toString()).createSocket()) {
                s.connect(null, 1000);
                assertThat(s.isConnected()).isTrue();
                s.setTcpNoDelay(true); // pgjdbc sets TCP options: accepted, meaningless here
                s.setKeepAlive(true);
                try (SocketChannel peer = server.accept()) {
                    OutputStream out = s.getOutputStream();
                    out.write(new byte[] {1, 2, 3});
                    ByteBuffer got = ByteBuffer.allocate(3);
                    while (got.hasRemaining()) {
                        peer.read(got);
                    }
                    assertThat(got.array()).containsExactly(1, 2, 3);

                    InputStream in = s.getInputStream();
                    s.setSoTimeout(50);
                    assertThatThrownBy(in::read).isInstanceOf(SocketTimeoutException.class);
                    peer.write(ByteBuffer.wrap(new byte[] {42}));
                    s.setSoTimeout(0);
                    assertThat(in.read()).isEqualTo(42);
                    peer.close();
                    assertThat(in.read())
                            .as("end of stream when the peer closes")
                            .isEqualTo(-1);
                }
            }
            assertThat(Files.exists(file)).isTrue();
        }
    }

    @Test
    void aMissingSocketFailsToConnect() {
        Socket s = new UnixSocketFactory(dir.resolve(".s.PGSQL.1").toString()).createSocket();
        assertThatThrownBy(() -> s.connect(null, 1000)).isInstanceOf(java.io.IOException.class);
        assertThat(s.isConnected()).isFalse();
    }
}
