internal import CLibPQ
internal import Glibc

/// Pipeline mode: statements are queued and sent without waiting for the results of earlier
/// ones, so several commits are in flight on one connection at once. Each `pipelineSync()`
/// closes a group (an implicit transaction unless the group has its own `BEGIN`/`COMMIT`); an
/// error aborts the rest of its group, and the next group runs normally.
///
/// Typical use: `send` a batch's statements, `pipelineSync()`, `flush()`; later read one
/// `nextPipelineItem()` per statement and one more for the sync, in the order they were sent.
extension PostgresConnection {
    public enum PipelineItem: Sendable {
        /// The result of the next statement that was sent.
        case result(PostgresResult)
        /// The end of a group (`PGRES_PIPELINE_SYNC`).
        case sync
    }

    /// `PQenterPipelineMode`. Only allowed when no statement is pending.
    public func enterPipelineMode() throws(PostgresError) {
        let handle = try openHandle()
        guard PQenterPipelineMode(handle) == 1 else { throw .callFailure("PQenterPipelineMode", connection: handle) }
        pipelineFailure = nil
    }

    /// `PQexitPipelineMode`. Only allowed once every result, up to the last sync, was read.
    public func exitPipelineMode() throws(PostgresError) {
        let handle = try openHandle()
        guard PQexitPipelineMode(handle) == 1 else { throw .callFailure("PQexitPipelineMode", connection: handle) }
        pipelineFailure = nil
    }

    /// Queues one statement (`PQsendQueryParams`, binary parameters and results). In pipeline
    /// mode this only adds it to libpq's output buffer; `flush()` sends it.
    public func send(_ sql: String, _ parameters: [PostgresValue]) throws(PostgresError) {
        let handle = try openHandle()
        let encoded = PostgresParameters(parameters)
        let queued = encoded.withArrays { types, values, lengths, formats in
            PQsendQueryParams(handle, sql, encoded.count, types, values, lengths, formats, 1)
        }
        guard queued == 1 else { throw .callFailure("PQsendQueryParams", connection: handle) }
    }

    /// Ends the current group (`PQpipelineSync`); its `nextPipelineItem()` is `.sync`.
    public func pipelineSync() throws(PostgresError) {
        let handle = try openHandle()
        guard PQpipelineSync(handle) == 1 else { throw .callFailure("PQpipelineSync", connection: handle) }
    }

    /// Sends everything queued (`PQflush` until it returns 0). On this blocking connection libpq
    /// reads incoming results while the socket is full, so the server cannot deadlock on us.
    public func flush() throws(PostgresError) {
        let handle = try openHandle()
        while true {
            switch PQflush(handle) {
            case 0: return
            case 1: try waitUntilWritable(handle)
            default: throw .callFailure("PQflush", connection: handle)
            }
        }
    }

    /// Blocks for the next item in the pipeline: the next statement's result (after reading it
    /// and the `NULL` that separates it from the next one), or `.sync` at the end of a group.
    ///
    /// A statement that failed throws its error; the statements after it in the same group
    /// throw `.server` "pipeline aborted: <that error>" (libpq's `PGRES_PIPELINE_ABORTED`).
    /// A lost connection throws `.connectionLost`.
    public func nextPipelineItem() throws(PostgresError) -> PipelineItem {
        let handle = try openHandle()
        guard let result = PQgetResult(handle) else {
            if PQstatus(handle) == CONNECTION_BAD { throw .statementFailure(result: nil, connection: handle) }
            throw PostgresError(kind: .usage, message: "no statement is pending in the pipeline")
        }
        switch PQresultStatus(result) {
        case PGRES_PIPELINE_SYNC:
            // No NULL follows a sync; the next group starts clean.
            PQclear(result)
            pipelineFailure = nil
            return .sync
        case PGRES_PIPELINE_ABORTED:
            PQclear(result)
            try readSeparator(handle)
            let cause = pipelineFailure?.message ?? "an earlier statement failed"
            throw PostgresError(kind: .server, sqlState: pipelineFailure?.sqlState, message: "pipeline aborted: " + cause)
        default:
            do {
                let copied = try Self.consume(result, connection: handle)
                try readSeparator(handle)
                return .result(copied)
            } catch {
                if pipelineFailure == nil { pipelineFailure = error }
                if error.kind != .connectionLost { try readSeparator(handle) }
                throw error
            }
        }
    }

    /// Reads the `NULL` that libpq returns after each statement's result in pipeline mode.
    private func readSeparator(_ handle: OpaquePointer) throws(PostgresError) {
        guard let extra = PQgetResult(handle) else { return }
        let name = String(cString: PQresStatus(PQresultStatus(extra)))
        PQclear(extra)
        throw PostgresError(kind: .usage, message: "unexpected second result \(name) for one pipelined statement")
    }

    /// Waits (without a limit: the connection is blocking anyway) until the socket takes more
    /// data or has data to read, which libpq must absorb before the server can go on.
    private func waitUntilWritable(_ handle: OpaquePointer) throws(PostgresError) {
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLOUT | POLLIN), revents: 0)
        while poll(&descriptor, 1, -1) < 0 {
            guard errno == EINTR else { throw .callFailure("poll", connection: handle) }
        }
        if descriptor.revents & Int16(POLLIN) != 0, PQconsumeInput(handle) == 0 {
            throw .callFailure("PQconsumeInput", connection: handle)
        }
    }
}
