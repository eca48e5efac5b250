package io.pgha.api;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/** Raw requests over a socket, for what a well-behaved client cannot send: stalls, bad headers, lies. */
final class RawHttp {
    private RawHttp() {}

    /** The status code of the answer to {@code request} (sent as is), or -1 when the server closed without one. */
    static int status(int port, String request, int timeoutMillis) throws IOException {
        String answer = exchange(port, request.getBytes(StandardCharsets.ISO_8859_1), timeoutMillis);
        if (!answer.startsWith("HTTP/1.1 ")) {
            return -1;
        }
        return Integer.parseInt(answer.substring(9, 12));
    }

    /** The whole answer (until the server closes or {@code timeoutMillis} passes without a byte). */
    static String exchange(int port, byte[] request, int timeoutMillis) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), timeoutMillis);
            s.setSoTimeout(timeoutMillis);
            s.getOutputStream().write(request);
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            try {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    out.write(buf, 0, n);
                    if (complete(out)) {
                        break;
                    }
                }
            } catch (SocketTimeoutException | java.net.SocketException e) {
                // what came so far is the answer
            }
            return out.toString(StandardCharsets.ISO_8859_1);
        }
    }

    /** Headers ended and the declared body (or none) arrived. */
    private static boolean complete(ByteArrayOutputStream out) {
        String s = out.toString(StandardCharsets.ISO_8859_1);
        int end = s.indexOf("\r\n\r\n");
        if (end < 0) {
            return false;
        }
        String head = s.substring(0, end).toLowerCase(java.util.Locale.ROOT);
        int cl = head.indexOf("content-length:");
        if (cl < 0) {
            return !head.contains("transfer-encoding");
        }
        int eol = head.indexOf("\r\n", cl);
        long length = Long.parseLong(
                head.substring(cl + 15, eol < 0 ? head.length() : eol).trim());
        return s.length() - end - 4 >= length;
    }

    /** A socket that sent {@code partial} and then stalls; the caller closes it. */
    static Socket stalled(int port, String partial) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
        s.getOutputStream().write(partial.getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
        return s;
    }
}
