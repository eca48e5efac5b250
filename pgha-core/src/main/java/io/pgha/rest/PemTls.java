package io.pgha.rest;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Cipher;
import javax.crypto.EncryptedPrivateKeyInfo;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * TLS material from PEM files, as Patroni's {@code restapi.certfile / keyfile / keyfile_password /
 * cafile} take them. Keys: PKCS#8 ({@code BEGIN PRIVATE KEY}), encrypted PKCS#8
 * ({@code BEGIN ENCRYPTED PRIVATE KEY}, with the password) and PKCS#1 RSA
 * ({@code BEGIN RSA PRIVATE KEY}, unencrypted). Anything else fails with a message naming the
 * file and the {@code openssl} command that converts it.
 */
final class PemTls {
    private static final Pattern BLOCK =
            Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \\1-----", Pattern.DOTALL);
    private static final char[] STORE_PASSWORD = "pgha".toCharArray();

    private PemTls() {}

    /** The server's context: its certificate chain and key, and the CA that verifies client certificates. */
    static SSLContext serverContext(RestApiConfig config) throws IOException, GeneralSecurityException {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(
                keyManagers(config).getKeyManagers(),
                config.cafile() == null ? null : trustManagers(config.cafile()).getTrustManagers(),
                null);
        return ctx;
    }

    /** The peer client's context: trusts {@code cafile} (or the JDK's defaults) and presents {@code certfile}. */
    static SSLContext clientContext(RestApiConfig config) throws IOException, GeneralSecurityException {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(
                config.certfile() == null ? null : keyManagers(config).getKeyManagers(),
                config.cafile() == null ? null : trustManagers(config.cafile()).getTrustManagers(),
                null);
        return ctx;
    }

    private static KeyManagerFactory keyManagers(RestApiConfig config) throws IOException, GeneralSecurityException {
        List<Certificate> chain = certificates(config.certfile(), "restapi.certfile");
        if (chain.isEmpty()) {
            throw new GeneralSecurityException("restapi.certfile " + config.certfile() + " holds no certificate");
        }
        Path keyPath = config.keyfile() != null ? config.keyfile() : config.certfile();
        PrivateKey key = privateKey(keyPath, config.keyfilePassword());
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("restapi", key, STORE_PASSWORD, chain.toArray(new Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, STORE_PASSWORD);
        return kmf;
    }

    private static TrustManagerFactory trustManagers(Path cafile) throws IOException, GeneralSecurityException {
        List<Certificate> cas = certificates(cafile, "restapi.cafile");
        if (cas.isEmpty()) {
            throw new GeneralSecurityException("restapi.cafile " + cafile + " holds no certificate");
        }
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        for (int i = 0; i < cas.size(); i++) {
            store.setCertificateEntry("ca" + i, cas.get(i));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(store);
        return tmf;
    }

    static List<Certificate> certificates(Path file, String key) throws IOException, GeneralSecurityException {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<Certificate> out = new ArrayList<>();
        for (Block b : blocks(read(file, key))) {
            if (b.type.equals("CERTIFICATE")) {
                out.add(cf.generateCertificate(new ByteArrayInputStream(b.der)));
            }
        }
        return out;
    }

    static PrivateKey privateKey(Path file, String password) throws IOException, GeneralSecurityException {
        String text = read(file, "restapi.keyfile");
        for (Block b : blocks(text)) {
            switch (b.type) {
                case "PRIVATE KEY" -> {
                    return pkcs8(b.der, file);
                }
                case "ENCRYPTED PRIVATE KEY" -> {
                    if (password == null) {
                        throw new GeneralSecurityException(
                                "restapi.keyfile " + file + " is encrypted: set restapi.keyfile_password");
                    }
                    return pkcs8(decrypt(b.der, password, file), file);
                }
                case "RSA PRIVATE KEY" -> {
                    if (b.headers.contains("ENCRYPTED")) {
                        throw new GeneralSecurityException("restapi.keyfile " + file
                                + " is an encrypted PKCS#1 key, which "
                                + "pgha cannot read; convert it: openssl pkcs8 -topk8 -in " + file + " -out key.pem");
                    }
                    return pkcs8(rsaPkcs1ToPkcs8(b.der), file);
                }
                default -> {
                    if (b.type.endsWith("PRIVATE KEY")) {
                        throw new GeneralSecurityException("restapi.keyfile " + file + ": unsupported key format \""
                                + b.type + "\"; convert it to PKCS#8: openssl pkcs8 -topk8 -nocrypt -in " + file
                                + " -out key.pem");
                    }
                }
            }
        }
        throw new GeneralSecurityException("restapi.keyfile " + file + " holds no private key");
    }

    private static PrivateKey pkcs8(byte[] der, Path file) throws GeneralSecurityException {
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        for (String alg : List.of("RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS", "DSA")) {
            try {
                return KeyFactory.getInstance(alg).generatePrivate(spec);
            } catch (InvalidKeySpecException | java.security.NoSuchAlgorithmException e) {
                // try the next algorithm
            }
        }
        throw new GeneralSecurityException("restapi.keyfile " + file + ": not an RSA, EC, EdDSA or DSA PKCS#8 key");
    }

    private static byte[] decrypt(byte[] der, String password, Path file) throws GeneralSecurityException {
        try {
            EncryptedPrivateKeyInfo info = new EncryptedPrivateKeyInfo(der);
            // for PBES2 the JDK names the real scheme in the parameters (e.g. PBEWithHmacSHA256AndAES_256)
            String alg =
                    info.getAlgParameters() != null ? info.getAlgParameters().toString() : info.getAlgName();
            SecretKeyFactory skf = SecretKeyFactory.getInstance(alg);
            Cipher cipher = Cipher.getInstance(alg);
            cipher.init(
                    Cipher.DECRYPT_MODE,
                    skf.generateSecret(new PBEKeySpec(password.toCharArray())),
                    info.getAlgParameters());
            return info.getKeySpec(cipher).getEncoded();
        } catch (IOException | GeneralSecurityException e) {
            throw new GeneralSecurityException(
                    "restapi.keyfile " + file + " cannot be decrypted with restapi.keyfile_password (" + e.getMessage()
                            + ")",
                    e);
        }
    }

    /** Wraps a PKCS#1 RSAPrivateKey in a PKCS#8 PrivateKeyInfo with the rsaEncryption algorithm. */
    static byte[] rsaPkcs1ToPkcs8(byte[] pkcs1) {
        byte[] version = {0x02, 0x01, 0x00};
        byte[] algorithm = {
            0x30,
            0x0d,
            0x06,
            0x09,
            0x2a,
            (byte) 0x86,
            0x48,
            (byte) 0x86,
            (byte) 0xf7,
            0x0d,
            0x01,
            0x01,
            0x01,
            0x05,
            0x00
        };
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(version);
        body.writeBytes(algorithm);
        body.write(0x04);
        body.writeBytes(derLength(pkcs1.length));
        body.writeBytes(pkcs1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x30);
        out.writeBytes(derLength(body.size()));
        out.writeBytes(body.toByteArray());
        return out.toByteArray();
    }

    private static byte[] derLength(int length) {
        if (length < 0x80) {
            return new byte[] {(byte) length};
        }
        int bytes = length > 0xffffff ? 4 : length > 0xffff ? 3 : length > 0xff ? 2 : 1;
        byte[] out = new byte[bytes + 1];
        out[0] = (byte) (0x80 | bytes);
        for (int i = bytes; i > 0; i--) {
            out[i] = (byte) (length & 0xff);
            length >>>= 8;
        }
        return out;
    }

    private static String read(Path file, String key) throws IOException {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IOException(key + " " + file + " cannot be read: " + e.getMessage(), e);
        }
    }

    @SuppressWarnings("ArrayRecordComponent") // never compared or hashed: a parsed block, read once
    private record Block(String type, String headers, byte[] der) {}

    private static List<Block> blocks(String text) {
        List<Block> out = new ArrayList<>();
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            StringBuilder headers = new StringBuilder();
            StringBuilder b64 = new StringBuilder();
            for (String line : m.group(2).split("\\R", -1)) {
                if (line.contains(":")) {
                    headers.append(line).append('\n');
                } else {
                    b64.append(line.trim());
                }
            }
            out.add(new Block(
                    m.group(1), headers.toString(), Base64.getMimeDecoder().decode(b64.toString())));
        }
        return out;
    }
}
