package io.pgha.dcs;

/**
 * One key of an {@link InMemoryDcs.Store}: its raw value, its version (the store revision of its
 * last write) and the session it is bound to (0: persistent).
 */
record InMemoryEntry(String value, long version, long owner) {}
