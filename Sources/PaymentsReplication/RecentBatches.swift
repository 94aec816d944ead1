import PaymentsPlatform

/// The newest committed batches, kept in memory for the change stream (§10) so that a follower
/// near the end of the journal never costs a query: the leader adds each row once its `COMMIT`
/// succeeded, a standby each row it fetched (committed by definition). Only committed records
/// ever enter, so what is here is what PostgreSQL holds, whoever leads later.
///
/// Bounded by `limitBytes` of records: the oldest rows go first (the newest is always kept).
/// The rows share their storage with the batches the worker committed or queued for the loop,
/// so keeping them costs nothing until those are dropped. Any thread; one lock of its own.
final class RecentBatches: @unchecked Sendable {
    let limitBytes: Int
    private let lock = PthreadMutex()
    /// Rows in LSN order, each starting at or before the record after the previous one's last:
    /// together they hold every record from `rows[head].first` to `rows.last!.last`.
    private var rows: [Batch] = []
    private var head = 0
    private var bytes = 0

    init(limitBytes: Int) { self.limitBytes = limitBytes }

    /// Adds a committed row. A row wholly before the newest is already here; a row that leaves
    /// a gap after it (a standby restarting from a snapshot) starts the window afresh.
    func add(_ batch: Batch) {
        lock.withLock {
            if let last = rows.last?.last {
                if batch.last <= last { return }
                if batch.first > last + 1 { clear() }
            }
            rows.append(batch)
            bytes += batch.records.count
            while bytes > limitBytes && rows.count - head > 1 {
                bytes -= rows[head].records.count
                rows[head] = Batch(first: 0, last: 0, epoch: 0, records: [])
                head += 1
            }
            if head > 64 && head * 2 > rows.count {
                rows.removeFirst(head)
                head = 0
            }
        }
    }

    /// Up to `limit` rows from the one holding `lsn`, in order; empty when `lsn` is not here
    /// (older than the window, or not committed yet).
    func rows(from lsn: UInt64, limit: Int) -> [Batch] {
        lock.withLock {
            guard head < rows.count, rows[head].first <= lsn, lsn <= rows[rows.count - 1].last else { return [] }
            // The lasts rise strictly: the first row whose last reaches `lsn` holds it.
            var low = head, high = rows.count - 1
            while low < high {
                let mid = (low + high) / 2
                if rows[mid].last < lsn { low = mid + 1 } else { high = mid }
            }
            return Array(rows[low..<min(rows.count, low + limit)])
        }
    }

    /// The window, for tests and metrics: first and last LSN held (nil when empty).
    var window: (first: UInt64, last: UInt64)? {
        lock.withLock { head < rows.count ? (rows[head].first, rows[rows.count - 1].last) : nil }
    }

    private func clear() {
        rows = []
        head = 0
        bytes = 0
    }
}
