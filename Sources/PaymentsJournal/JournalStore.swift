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
}
