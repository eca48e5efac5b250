package io.pgha.dcs.consul;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.HostnameVerifier;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * The TLS material of {@link ConsulOptions}: {@code cacert} (PEM, one or more CA certificates),
 * {@code cert} and {@code key} (PEM client certificate and unencrypted PKCS#8 key; the key may also
 * sit in the cert file) and {@code verify: false} (trust any certificate and any host name, as
 * Patroni's {@code verify: false} does; for tests only).
 */
record ConsulTls(SSLContext sslContext, X509TrustManager trustManager, HostnameVerifier hostnameVerifier) {

    private static final Pattern PEM =
            Pattern.compile("-----BEGIN ([A-Z ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");

    static ConsulTls from(ConsulOptions o) {
        try {
            X509TrustManager tm = o.verify() ? trustManager(o.caCert()) : new TrustAll();
            KeyManagerFactory kmf = null;
            if (o.cert() != null) {
                kmf = keyManager(o.cert(), o.key() == null ? o.cert() : o.key());
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf == null ? null : kmf.getKeyManagers(), new TrustManager[] {tm}, null);
            HostnameVerifier hv = o.verify() ? null : (host, session) -> true;
            return new ConsulTls(ctx, tm, hv);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("consul: cannot build the TLS context: " + e.getMessage(), e);
        }
    }

    private static X509TrustManager trustManager(String caCert) throws GeneralSecurityException {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        if (caCert == null) {
            tmf.init((KeyStore) null);
        } else {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            try {
                ks.load(null, null);
            } catch (IOException e) {
                throw new GeneralSecurityException(e);
            }
            int i = 0;
            for (Certificate c : certificates("consul.cacert", caCert)) {
                ks.setCertificateEntry("ca" + i++, c);
            }
            tmf.init(ks);
        }
        for (TrustManager t : tmf.getTrustManagers()) {
            if (t instanceof X509TrustManager x) {
                return x;
            }
        }
        throw new GeneralSecurityException("no X509 trust manager available");
    }

    private static KeyManagerFactory keyManager(String certFile, String keyFile) throws GeneralSecurityException {
        Collection<? extends Certificate> chain = certificates("consul.cert", certFile);
        PrivateKey key = privateKey(keyFile);
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try {
            ks.load(null, null);
        } catch (IOException e) {
            throw new GeneralSecurityException(e);
        }
        char[] pw = new char[0];
        ks.setKeyEntry("client", key, pw, chain.toArray(new Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, pw);
        return kmf;
    }

    private static Collection<? extends Certificate> certificates(String optionKey, String file) {
        String pem = read(optionKey, file);
        StringBuilder certsOnly = new StringBuilder();
        Matcher m = PEM.matcher(pem);
        while (m.find()) {
            if (m.group(1).equals("CERTIFICATE")) {
                certsOnly.append(m.group()).append('\n');
            }
        }
        try {
            Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509")
                    .generateCertificates(
                            new ByteArrayInputStream(certsOnly.toString().getBytes(StandardCharsets.US_ASCII)));
            if (certs.isEmpty()) {
                throw new IllegalArgumentException(optionKey + ": no PEM certificate in " + file);
            }
            return certs;
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(
                    optionKey + ": cannot read the certificates in " + file + ": " + e.getMessage(), e);
        }
    }

    private static PrivateKey privateKey(String file) {
        String key = read("consul.key", file);
        Matcher m = PEM.matcher(key);
        List<String> kinds = new ArrayList<>();
        while (m.find()) {
            kinds.add(m.group(1));
            if (m.group(1).equals("PRIVATE KEY")) {
                byte[] der = Base64.getMimeDecoder().decode(m.group(2));
                for (String alg : List.of("RSA", "EC", "Ed25519")) {
                    try {
                        return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
                    } catch (GeneralSecurityException tryNext) {
                        // not this algorithm
                    }
                }
                throw new IllegalArgumentException(
                        "consul.key: " + file + " holds a PKCS#8 key that is neither RSA, EC nor Ed25519");
            }
        }
        throw new IllegalArgumentException("consul.key: no unencrypted PKCS#8 'BEGIN PRIVATE KEY' block in " + file
                + (kinds.isEmpty() ? "" : " (found " + kinds + ")")
                + "; convert it with: openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8");
    }

    private static String read(String optionKey, String file) {
        try {
            return Files.readString(Path.of(file), StandardCharsets.US_ASCII);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(optionKey + ": cannot read " + file + ": " + e, e);
        }
    }

    /**
     * {@code verify: false}. An {@link X509ExtendedTrustManager} so that the JDK does not wrap it
     * with its own host name check.
     */
    static final class TrustAll extends X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
