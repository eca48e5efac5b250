package io.pgha.dcs.spi;

/**
 * What a {@link ClusterStore} tells {@link PatroniDcs} so that {@code awaitChange} wakes for what
 * others changed and not for what this member wrote: the watch's changes, and the store's own
 * writes. {@link PatroniDcs} hands it to {@link ClusterStore#watch} before anything else.
 *
 * <p>Thread-safe, and cheap: every method may be called from any thread, including a client
 * library's callback thread, and returns at once (it takes one short lock and never calls back
 * into the store).
 */
public interface ChangeListener {

    /** The watch saw a change under the cluster prefix. */
    void changed(Change change);

    /**
     * The watch may have missed changes (it was re-created from the current revision after a
     * compaction, the connection was suspended or lost, a session ended): a waiting loop wakes to
     * read again. A read that starts after this call sees what was missed, so it counts as seen.
     */
    void eventsMayBeLost();

    /**
     * This store wrote (or deleted) a key at this revision, the same revision its watch reports
     * for that change: the change is this member's own and wakes nobody here. Call it within the
     * store call that made the write.
     */
    void wroteAt(long revision);

    /**
     * This store wrote (or deleted) {@code key} but cannot tell the revision (Consul answers a PUT
     * with true or false only): changes of that key are taken as this member's own until the next
     * read, at the price of missing another member's change of the same key until then. A write
     * reported neither way wakes this member once, which costs only a cycle.
     */
    void wroteWithoutRevision(String key);
}
