import PaymentsJournal
import PaymentsPlatform
import PaymentsPostgres

/// Reads batches older than `RecentBatches` holds for change-stream cursors (§10), on a thread
/// and a connection of its own, so the event loop never waits for PostgreSQL: a cursor asks for
/// one page, goes on with other work, and takes the page when `done` (the loop's wake) says it
/// came. One page per request, `pageRows` rows at most, and a cursor asks for the next only when
/// it has used up the last (and only while its follower's output is under the high-water mark),
/// so a follower never holds more than one page.
///
/// The thread starts at the first request and lives until `stop`.
final class BatchFetcher: @unchecked Sendable {
    /// Rows per page: a row holds up to `maxRowBytes` (8 MiB by default), most far less.
    static let pageRows: Int64 = 4

    final class Request: @unchecked Sendable {
        /// The rows holding records after this LSN.
        let after: UInt64
        /// Set by the thread (under the fetcher's lock).
        var result: Result<[Batch], JournalError>?
        var cancelled = false
        init(after: UInt64) { self.after = after }
    }

    private let ledger: String
    private let connect: @Sendable () throws(JournalError) -> PostgresConnection
    private let done: @Sendable () -> Void
    private let lock = PthreadMutex()
    private let changed = PthreadCondition()
    private var queue: [Request] = []
    private var stopping = false
    private var thread: PosixThread?
    /// Requests answered since start (tests and metrics: how often the loop did not serve from memory).
    private(set) var pagesFetched: UInt64 = 0

    init(ledger: String, connect: @escaping @Sendable () throws(JournalError) -> PostgresConnection, done: @escaping @Sendable () -> Void) {
        self.ledger = ledger
        self.connect = connect
        self.done = done
    }

    /// Queues a request; the page arrives through `take`.
    func submit(after lsn: UInt64) throws(JournalError) -> Request {
        let request = Request(after: lsn)
        let start = lock.withLock { () -> Bool in
            queue.append(request)
            changed.signal()
            return thread == nil && !stopping
        }
        if start {
            do {
                let started = try PosixThread { [self] in run() }
                lock.withLock { thread = started }
            } catch {
                throw .system(error)
            }
        }
        return request
    }

    /// The request's page once it came (nil while it is on its way).
    func take(_ request: Request) -> Result<[Batch], JournalError>? {
        lock.withLock { request.result }
    }

    /// The cursor no longer wants it: dropped if not started, its page discarded otherwise.
    func cancel(_ request: Request) {
        lock.withLock {
            request.cancelled = true
            queue.removeAll { $0 === request }
        }
    }

    var fetched: UInt64 { lock.withLock { pagesFetched } }

    /// Ends the thread after the query it is in (bounded by the session's statement timeout).
    func stop() {
        let running = lock.withLock { () -> PosixThread? in
            stopping = true
            changed.broadcast()
            defer { thread = nil }
            return thread
        }
        running?.join()
    }

    private func run() {
        var connection: PostgresConnection?
        defer { connection?.close() }
        while true {
            let request = lock.withLock { () -> Request? in
                while queue.isEmpty && !stopping { changed.wait(lock) }
                return stopping ? nil : queue.removeFirst()
            }
            guard let request else { return }
            let result: Result<[Batch], JournalError>
            do throws(JournalError) {
                if connection == nil || connection!.isBroken {
                    connection?.close()
                    connection = try connect()
                }
                result = .success(try LedgerReader(connection: connection!, ledger: ledger).batches(after: request.after, limit: Self.pageRows))
            } catch {
                connection?.close()
                connection = nil
                result = .failure(error)
            }
            let wanted = lock.withLock { () -> Bool in
                pagesFetched += 1
                guard !request.cancelled else { return false }
                request.result = result
                return true
            }
            if wanted { done() }
        }
    }
}
