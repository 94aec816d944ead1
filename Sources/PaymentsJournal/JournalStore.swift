/// What the daemon needs from a journal, whatever keeps it (local segment files here; a
/// replicated log could implement the same). Appends happen on one thread (the event loop);
/// `sync` and `durableLSN` may be called from any thread.
///
/// LSNs number records from 1 without gaps; an LSN is durable once `durableLSN` reaches it.
public protocol JournalStore: AnyObject, Sendable {
    /// Adds one record whose `payloadSize` bytes `encode` writes in place (no intermediate
    /// copy); returns its LSN. The record reaches the OS at the next `flush`.
    func appendRecord(
        payloadSize: Int, _ encode: (UnsafeMutableRawBufferPointer) -> Void
    ) throws(JournalError) -> UInt64
    /// Writes everything appended so far to the OS (one `write` per batch); returns the last LSN.
    @discardableResult func flush() throws(JournalError) -> UInt64
    /// Makes everything flushed so far durable; returns the durable LSN. Thread-safe.
    @discardableResult func sync() throws(JournalError) -> UInt64
    /// The highest LSN known to be on stable storage. Thread-safe.
    var durableLSN: UInt64 { get }
    /// The LSN of the last record appended (flushed or not).
    var lastLSN: UInt64 { get }
    /// Calls `body` for each record with LSN >= `lsn`, in order, with a payload view valid only
    /// during the call.
    func read(from lsn: UInt64, _ body: (UInt64, UnsafeRawBufferPointer) -> Void) throws(JournalError)
    /// The oldest LSN a cursor can read (`lastLSN + 1` when there is none): records before it
    /// were removed once snapshots covered them, or are of a format older than the one the
    /// change stream needs (local segments of format 1). Appending thread.
    var oldestReadableLSN: UInt64 { get }
    /// A cursor that reads records in order from `lsn` on, a bounded number at a time (the
    /// change stream, §10). Appending thread; the cursor is used on that thread only.
    func makeCursor(from lsn: UInt64) -> any JournalCursor
}

/// Reads a journal's records in order from a position, a bounded number per call, without
/// going back over what it read before: a follower of the change stream keeps one and reads a
/// little at a time, as its connection takes the lines.
public protocol JournalCursor: AnyObject {
    /// The LSN of the next record `read` hands over.
    var nextLSN: UInt64 { get }
    /// Calls `body` for the records `nextLSN...through`, at most `maxRecords` of them, in order,
    /// with a payload view valid only during the call. Reads only what the store has written
    /// (the caller passes a durable LSN as `through`). `.gone` when `nextLSN` is no longer kept.
    func read(
        through lsn: UInt64, maxRecords: Int, _ body: (UInt64, UnsafeRawBufferPointer) -> Void
    ) throws(JournalError) -> CursorProgress
    /// Releases what the cursor holds (an open file, a connection). Idempotent.
    func close()
}

/// What one cursor read did.
public enum CursorProgress: Equatable, Sendable {
    /// This many records were handed over (0 when there was nothing through the limit).
    case records(Int)
    /// The next record was removed (a snapshot covered it) or cannot be served; the oldest
    /// that can is `oldest`.
    case gone(oldest: UInt64)
}
