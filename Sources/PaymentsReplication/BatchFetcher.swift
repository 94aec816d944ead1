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
/// PostgreSQL unreachable (or failing the query) is an ordinary fault: the request stays open,
/// the thread reconnects with `Backoff` (one log line when PostgreSQL goes away, one when it is
/// back) and answers it then, so its follower simply waits. Only what is wrong with the rows
/// themselves comes back as a failure, for the follower to be ended with it.
///
/// The thread starts at the first request and lives until `stop`, which breaks a query in
/// flight (`ConnectionInterrupt`) rather than wait for it.
final class BatchFetcher: @unchecked Sendable {
    /// Rows per page: a row holds up to `maxRowBytes` (8 MiB by default), most far less.
    static let pageRows: Int64 = 4
    /// How long `stop` waits for the thread once its connection is broken (it then leaves it:
    /// only a `PQconnectdb` in progress, bounded by `connect_timeout`, can hold it that long).
    static let stopWaitNanoseconds: UInt64 = 2_000_000_000

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
    private let log: ReplicationLog
    private let lock = PthreadMutex()
    private let changed = PthreadCondition()
    private let interrupt = ConnectionInterrupt()
    private var queue: [Request] = []
    private var stopping = false
    private var finished = false
    private var thread: PosixThread?
    /// Requests answered since start (tests and metrics: how often the loop did not serve from memory).
    private(set) var pagesFetched: UInt64 = 0

    init(
        ledger: String, log: @escaping ReplicationLog, connect: @escaping @Sendable () throws(JournalError) -> PostgresConnection,
        done: @escaping @Sendable () -> Void
    ) {
        self.ledger = ledger
        self.log = log
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
            changed.broadcast()
        }
    }

    var fetched: UInt64 { lock.withLock { pagesFetched } }

    /// Ends the thread without waiting for PostgreSQL: a query in flight is broken off, a
    /// reconnection's backoff cut short; waits for the thread at most `stopWaitNanoseconds`.
    func stop() {
        let running = lock.withLock { () -> PosixThread? in
            stopping = true
            changed.broadcast()
            return thread
        }
        guard let running else { return }
        interrupt.interrupt()
        let deadline = MonotonicClock.nanoseconds() + Self.stopWaitNanoseconds
        let ended = lock.withLock { () -> Bool in
            while !finished && MonotonicClock.nanoseconds() < deadline { changed.wait(lock, untilMonotonicNanoseconds: deadline) }
            if finished { thread = nil }
            return finished
        }
        if ended {
            running.join()
        } else {
            log(.warning, "change stream: the PostgreSQL reader did not stop within \(Self.stopWaitNanoseconds / 1_000_000_000) s; not waiting for it")
        }
    }

    private enum Attempt {
        case page([Batch])
        /// PostgreSQL could not answer (unreachable, connection lost, statement failed): retry.
        case unreachable(String)
        /// The rows are wrong: retrying cannot help.
        case failed(JournalError)
    }

    private func run() {
        var connection: PostgresConnection?
        defer {
            drop(&connection)
            lock.withLock {
                finished = true
                changed.broadcast()
            }
        }
        var backoff = Backoff()
        var unreachable = false
        while true {
            let request = lock.withLock { () -> Request? in
                while queue.isEmpty && !stopping { changed.wait(lock) }
                return stopping ? nil : queue.removeFirst()
            }
            guard let request else { return }
            var result: Result<[Batch], JournalError>?
            attempts: while result == nil {
                switch fetch(after: request.after, &connection) {
                case .page(let rows): result = .success(rows)
                case .failed(let error): result = .failure(error)
                case .unreachable(let why):
                    drop(&connection)
                    if lock.withLock({ stopping }) { return }
                    if !unreachable {
                        log(.warning, "change stream: PostgreSQL unreachable, followers of older records wait; retrying with backoff: \(why)")
                        unreachable = true
                    }
                    guard waitToRetry(request, nanoseconds: backoff.take() * 1_000_000) else { break attempts }
                }
            }
            guard let result else { continue }
            if unreachable {
                log(.info, "change stream: PostgreSQL reachable again")
                unreachable = false
            }
            backoff.reset()
            let wanted = lock.withLock { () -> Bool in
                pagesFetched += 1
                guard !request.cancelled else { return false }
                request.result = result
                return true
            }
            if wanted { done() }
        }
    }

    /// One try at the page after `lsn`, connecting first if needed.
    private func fetch(after lsn: UInt64, _ connection: inout PostgresConnection?) -> Attempt {
        if connection == nil || connection!.isBroken {
            drop(&connection)
            let fresh: PostgresConnection
            do { fresh = try connect() } catch { return .unreachable("\(error)") }
            // Stopped meanwhile: the connection is never used.
            guard interrupt.attach(fresh) else { fresh.close(); return .unreachable("stopping") }
            connection = fresh
        }
        let result: PostgresResult
        do {
            result = try connection!.execute(LedgerSchema.batchesAfter, LedgerReader.batchesAfter(lsn, ledger: ledger, limit: Self.pageRows))
        } catch {
            return .unreachable("PostgreSQL: \(error.message)")
        }
        do { return .page(try LedgerReader.decodeBatches(result, ledger: ledger)) } catch { return .failed(error) }
    }

    /// Waits before the next try; false when the request is no longer wanted or the fetcher stops.
    private func waitToRetry(_ request: Request, nanoseconds: UInt64) -> Bool {
        let deadline = MonotonicClock.nanoseconds() + nanoseconds
        return lock.withLock { () -> Bool in
            while !stopping && !request.cancelled && MonotonicClock.nanoseconds() < deadline {
                changed.wait(lock, untilMonotonicNanoseconds: deadline)
            }
            return !stopping && !request.cancelled
        }
    }

    private func drop(_ connection: inout PostgresConnection?) {
        guard let open = connection else { return }
        interrupt.detach()
        open.close()
        connection = nil
    }
}
