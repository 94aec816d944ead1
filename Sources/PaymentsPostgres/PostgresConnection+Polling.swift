internal import CLibPQ

/// For a caller that waits on the socket itself (`poll` on `socketDescriptor` together with its
/// own wake-ups) instead of blocking in `nextPipelineItem()`: read what arrived, then take
/// results while `isBusy` is false; `nextPipelineItem()` then returns without blocking.
extension PostgresConnection {
    /// `PQconsumeInput`: reads whatever the server sent, without blocking.
    public func consumeInput() throws(PostgresError) {
        let handle = try openHandle()
        guard PQconsumeInput(handle) == 1 else { throw .statementFailure(result: nil, connection: handle) }
    }

    /// `PQisBusy`: true while the next result is not complete yet (reading it would block).
    public var isBusy: Bool { handle.map { PQisBusy($0) == 1 } ?? false }
}
