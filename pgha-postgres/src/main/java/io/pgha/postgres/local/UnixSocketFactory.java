package io.pgha.postgres.local;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import javax.net.SocketFactory;

/**
 * pgjdbc's {@code socketFactory} for a PostgreSQL Unix-domain socket, over the JDK's own
 * Unix-domain {@link SocketChannel} (no native library): Patroni's {@code use_unix_socket}.
 * pgjdbc names this class in a connection property and builds it with the socket file's path
 * ({@code socketFactoryArg}, e.g. {@code /var/run/postgresql/.s.PGSQL.5432}); the host and port of
 * the JDBC URL are then ignored.
 *
 * <p>Public only because pgjdbc instantiates it by reflection; not part of pgha's API.
 */
public final class UnixSocketFactory extends SocketFactory {

    private final Path socketFile;

    /** pgjdbc's constructor: {@code socketFactoryArg} is the path of the socket file. */
    public UnixSocketFactory(String socketFile) {
        if (socketFile == null || socketFile.isBlank()) {
            throw new IllegalArgumentException("socketFactoryArg must name a Unix socket file");
        }
        this.socketFile = Path.of(socketFile);
    }

    /** The socket file PostgreSQL listens on in {@code directory} for {@code port}. */
    static Path socketFile(Path directory, int port) {
        return directory.resolve(".s.PGSQL." + port);
    }

    @Override
    public Socket createSocket() {
        return new UnixDomainSocket(socketFile);
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return connected();
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return connected();
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return connected();
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
            throws IOException {
        return connected();
    }

    private Socket connected() throws IOException {
        Socket s = createSocket();
        s.connect(null);
        return s;
    }

    /**
     * A {@link Socket} over a non-blocking Unix-domain channel, so that reads honour
     * {@link #setSoTimeout} as pgjdbc expects (its network timeout and its "is a message pending"
     * probe). TCP options are accepted and ignored; they mean nothing on a Unix socket.
     */
    static final class UnixDomainSocket extends Socket {
        private final Path socketFile;
        private final Object lock = new Object();
        private SocketChannel channel;
        private Selector readable;
        private Selector writable;
        private volatile int soTimeout;
        private volatile boolean closed;
        private InputStream in;
        private OutputStream out;

        UnixDomainSocket(Path socketFile) {
            this.socketFile = socketFile;
        }

        @Override
        public void connect(SocketAddress ignored) throws IOException {
            connect(ignored, 0);
        }

        @Override
        public void connect(SocketAddress ignored, int timeout) throws IOException {
            synchronized (lock) {
                if (closed) {
                    throw new SocketException("Socket is closed");
                }
                if (channel != null) {
                    throw new SocketException("already connected");
                }
                SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                try {
                    // a local connect does not wait on a network: it succeeds or fails at once
                    ch.connect(UnixDomainSocketAddress.of(socketFile));
                    ch.configureBlocking(false);
                    readable = Selector.open();
                    writable = Selector.open();
                    ch.register(readable, SelectionKey.OP_READ);
                    ch.register(writable, SelectionKey.OP_WRITE);
                } catch (IOException | RuntimeException e) {
                    ch.close();
                    closeSelectors();
                    throw e instanceof IOException io ? io : new IOException(e);
                }
                channel = ch;
                in = new ChannelIn();
                out = new ChannelOut();
            }
        }

        @Override
        public InputStream getInputStream() throws IOException {
            requireOpen();
            return in;
        }

        @Override
        public OutputStream getOutputStream() throws IOException {
            requireOpen();
            return out;
        }

        private void requireOpen() throws SocketException {
            if (closed) {
                throw new SocketException("Socket is closed");
            }
            if (channel == null) {
                throw new SocketException("Socket is not connected");
            }
        }

        @Override
        public void close() throws IOException {
            synchronized (lock) {
                if (closed) {
                    return;
                }
                closed = true;
                try {
                    if (channel != null) {
                        channel.close();
                    }
                } finally {
                    closeSelectors();
                }
            }
        }

        private void closeSelectors() throws IOException {
            if (readable != null) {
                readable.close();
            }
            if (writable != null) {
                writable.close();
            }
        }

        @Override
        public boolean isConnected() {
            return channel != null;
        }

        @Override
        public boolean isClosed() {
            return closed;
        }

        @Override
        public boolean isBound() {
            return channel != null;
        }

        @Override
        public void setSoTimeout(int timeout) throws SocketException {
            if (timeout < 0) {
                throw new IllegalArgumentException("timeout < 0");
            }
            soTimeout = timeout;
        }

        @Override
        public int getSoTimeout() {
            return soTimeout;
        }

        @Override
        public void setTcpNoDelay(boolean on) {}

        @Override
        public boolean getTcpNoDelay() {
            return true;
        }

        @Override
        public void setKeepAlive(boolean on) {}

        @Override
        public boolean getKeepAlive() {
            return false;
        }

        @Override
        public void setSendBufferSize(int size) {}

        @Override
        public int getSendBufferSize() {
            return 65536;
        }

        @Override
        public void setReceiveBufferSize(int size) {}

        @Override
        public int getReceiveBufferSize() {
            return 65536;
        }

        @Override
        public void setSoLinger(boolean on, int linger) {}

        @Override
        public int getSoLinger() {
            return -1;
        }

        @Override
        public void shutdownInput() throws IOException {
            requireOpen();
            channel.shutdownInput();
        }

        @Override
        public void shutdownOutput() throws IOException {
            requireOpen();
            channel.shutdownOutput();
        }

        /** Waits up to {@code timeout} ms (0: until ready or closed) for {@code selector}'s channel. */
        private int select(Selector selector, int timeout) throws IOException {
            try {
                int n = selector.select(timeout);
                selector.selectedKeys().clear();
                return n;
            } catch (ClosedSelectorException e) {
                // close() from another thread (pgjdbc's login timeout, a cancel)
                throw new SocketException("Socket is closed");
            }
        }

        @Override
        public String toString() {
            return "UnixDomainSocket[" + socketFile + "]";
        }

        private final class ChannelIn extends InputStream {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                java.util.Objects.checkFromIndexSize(off, len, b.length);
                if (len == 0) {
                    return 0;
                }
                ByteBuffer buf = ByteBuffer.wrap(b, off, len);
                while (true) {
                    requireOpen();
                    int n = channel.read(buf);
                    if (n != 0) {
                        return n;
                    }
                    int timeout = soTimeout;
                    if (select(readable, timeout) == 0) {
                        if (timeout > 0 && !closed) {
                            throw new SocketTimeoutException("Read timed out");
                        }
                    }
                }
            }

            @Override
            public void close() throws IOException {
                UnixDomainSocket.this.close();
            }
        }

        private final class ChannelOut extends OutputStream {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                java.util.Objects.checkFromIndexSize(off, len, b.length);
                ByteBuffer buf = ByteBuffer.wrap(b, off, len);
                while (buf.hasRemaining()) {
                    requireOpen();
                    if (channel.write(buf) == 0) {
                        select(writable, 0);
                    }
                }
            }

            @Override
            public void close() throws IOException {
                UnixDomainSocket.this.close();
            }
        }
    }
}
