public import PaymentsJournal
import PaymentsPostgres

extension PostgresJournal {
    /// Not known without asking PostgreSQL (the leader deletes batches covered by the
    /// second-newest snapshot): a cursor finds out at its first read and reports `.gone`.
    public var oldestReadableLSN: UInt64 { 1 }

    public func makeCursor(from lsn: UInt64) -> any JournalCursor { PostgresCursor(journal: self, from: lsn) }
}

/// A cursor over the batches in PostgreSQL, on a connection of its own opened at its first
/// read. It fetches `pageRows` batches per round trip and keeps them until read.
///
/// Known cost: the round trips are made on the caller's thread (the event loop), so a follower
/// of a daemon on PostgreSQL delays the loop by one query each time it reads new batches.
final class PostgresCursor: JournalCursor {
    /// Batches per round trip (a batch holds up to a few thousand records).
    static let pageRows: Int64 = 16

    unowned let journal: PostgresJournal
    private(set) var nextLSN: UInt64
    private var connection: PostgresConnection?
    private var batches: [Batch] = []
    private var head = 0

    init(journal: PostgresJournal, from lsn: UInt64) {
        self.journal = journal
        nextLSN = max(lsn, 1)
    }

    deinit { close() }

    func close() {
        connection?.close()
        connection = nil
    }

    func read(
        through lsn: UInt64, maxRecords: Int, _ body: (UInt64, UnsafeRawBufferPointer) -> Void
    ) throws(JournalError) -> CursorProgress {
        var count = 0
        while count < maxRecords && nextLSN <= lsn {
            if head == batches.count {
                batches = try fetch()
                head = 0
                guard let first = batches.first else { break }
                if first.first > nextLSN { batches = []; return .gone(oldest: first.first) }
            }
            let batch = batches[head]
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

    private func fetch() throws(JournalError) -> [Batch] {
        if connection == nil { connection = try journal.connect() }
        do {
            return try LedgerReader(connection: connection!, ledger: journal.options.ledger)
                .batches(after: nextLSN - 1, limit: Self.pageRows)
        } catch {
            close()  // a fresh connection next time
            throw error
        }
    }
}
