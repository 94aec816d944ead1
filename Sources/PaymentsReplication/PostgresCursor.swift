public import PaymentsJournal
import PaymentsPlatform
import PaymentsPostgres

extension PostgresJournal {
    /// The first record of the oldest batch row kept, as last seen: at start, by a standby at
    /// each poll, by the leader after each snapshot deleted rows. A cursor that finds older rows
    /// gone meanwhile reports `.gone` itself.
    public var oldestReadableLSN: UInt64 { lock.withLock { max(shared.oldestLSN, 1) } }

    public func makeCursor(from lsn: UInt64) -> any JournalCursor { PostgresCursor(journal: self, from: lsn) }
}

/// A change-stream cursor over the journal in PostgreSQL. It never waits for PostgreSQL on the
/// loop: the records it reads come from `RecentBatches` (the rows this daemon committed or, on
/// a standby, fetched and applied) when they are still there, and otherwise from a page of rows
/// the `BatchFetcher` thread reads for it; until that page comes, `read` hands over nothing and
/// the fetcher's wake brings the follower back.
final class PostgresCursor: JournalCursor {
    /// Rows taken from memory per refill (a row holds a few to a few thousand records).
    static let recentRowsPerRefill = 16
    /// A page that came back empty (the rows are not readable yet) is asked for again after this.
    static let emptyRetryNanoseconds: UInt64 = 100_000_000

    unowned let journal: PostgresJournal
    private(set) var nextLSN: UInt64
    private var page: [Batch] = []
    private var head = 0
    private var request: BatchFetcher.Request?
    private var retryAt: UInt64 = 0

    init(journal: PostgresJournal, from lsn: UInt64) {
        self.journal = journal
        nextLSN = max(lsn, 1)
    }

    deinit { close() }

    func close() {
        if let request { journal.fetcher.cancel(request) }
        request = nil
        page = []
        head = 0
    }

    func read(
        through lsn: UInt64, maxRecords: Int, _ body: (UInt64, UnsafeRawBufferPointer) -> Void
    ) throws(JournalError) -> CursorProgress {
        var count = 0
        while count < maxRecords && nextLSN <= lsn {
            if head == page.count {
                switch try refill() {
                case .ready: break
                case .waiting: return .records(count)
                case .gone(let oldest): return count > 0 ? .records(count) : .gone(oldest: oldest)
                }
            }
            let batch = page[head]
            // A row that does not hold the next record would leave the cursor where it is forever.
            guard batch.first <= nextLSN, nextLSN <= batch.last else {
                page = []
                head = 0
                throw .gap(file: "ledger \(journal.options.ledger)", expectedLSN: nextLSN, foundLSN: batch.first)
            }
            try LedgerReader.walk(batch, ledger: journal.options.ledger) { recordLSN, payload in
                guard recordLSN == nextLSN, recordLSN <= lsn, count < maxRecords else { return }
                body(recordLSN, payload)
                nextLSN += 1
                count += 1
            }
            if nextLSN > batch.last { head += 1 }
        }
        return .records(count)
    }

    private enum Refill { case ready, waiting, gone(UInt64) }

    /// The rows holding `nextLSN`: from memory if they are there, else the page asked of the
    /// fetcher (asked now if it was not).
    private func refill() throws(JournalError) -> Refill {
        page = []
        head = 0
        let recent = journal.recent.rows(from: nextLSN, limit: Self.recentRowsPerRefill)
        if !recent.isEmpty {
            if let request { journal.fetcher.cancel(request) }
            request = nil
            page = recent
            return .ready
        }
        if let pending = request {
            guard let result = journal.fetcher.take(pending) else { return .waiting }
            request = nil
            let rows = try result.get()
            guard let first = rows.first else {
                retryAt = MonotonicClock.nanoseconds() + Self.emptyRetryNanoseconds
                return .waiting
            }
            if first.first > nextLSN { return .gone(first.first) }
            page = rows
            return .ready
        }
        guard MonotonicClock.nanoseconds() >= retryAt else { return .waiting }
        request = try journal.fetcher.submit(after: nextLSN - 1)
        return .waiting
    }
}
