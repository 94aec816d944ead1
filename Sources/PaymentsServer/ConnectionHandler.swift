import PaymentsFormat
/// What a protocol implements to sit on the event loop: the loop owns sockets, buffers and
/// readiness; the handler turns input into replies. All calls come on the loop's thread.
///
/// Order for one connection: `connectionOpened`, then for each read the received events
/// followed by one `connectionBatchEnded`, then `connectionInputEnded` once the peer has shut
/// down its sending side and every line (a last one without newline included) was delivered,
/// and finally `connectionClosed`. Input stops being delivered while the connection is parked,
/// above its output high-water mark, or closing; undelivered lines wait in the buffer.
public protocol ConnectionHandler: AnyObject {
    /// A connection was accepted: set `connection.context`, `connection.holdsReplies`.
    func connectionOpened(_ connection: Connection)
    /// One line (or `.tooLong`, or raw bytes for `Framing.raw`). The bytes are valid only
    /// during the call. Reply with `connection.write`, in request order.
    func connection(_ connection: Connection, received event: InputEvent)
    /// The events of one read were all delivered: a good moment to hand a batch to the journal.
    func connectionBatchEnded(_ connection: Connection)
    /// The peer will send nothing more and every line was delivered. The connection closes by
    /// itself once every appended reply is released and written (unless parked).
    func connectionInputEnded(_ connection: Connection)
    /// The connection is closed and its descriptor released: drop what refers to it.
    func connectionClosed(_ connection: Connection)
    /// Its output fell to the low-water mark after the handler set `notifyWhenDrained`:
    /// a handler that stopped answering buffered requests can go on.
    func connectionDrained(_ connection: Connection)
}

extension ConnectionHandler {
    public func connectionOpened(_ connection: Connection) {}
    public func connectionBatchEnded(_ connection: Connection) {}
    public func connectionInputEnded(_ connection: Connection) {}
    public func connectionDrained(_ connection: Connection) {}
}
