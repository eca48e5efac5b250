package io.pgha.backup;

import java.nio.file.Path;

/**
 * A PostgreSQL instance pgBackRest connects to as {@code pgN}: its data directory, port, and either
 * a local socket directory (same host) or a remote host (pgBackRest's own remote protocol, which
 * must then be set up: TLS server or SSH). Used for the primary when backing up from a standby.
 *
 * @param dataDir the instance's data directory on its host
 * @param port its port
 * @param socketDir its unix socket directory when local, else null
 * @param host its host when remote, else null
 */
public record PgEndpoint(Path dataDir, int port, Path socketDir, String host) {}
