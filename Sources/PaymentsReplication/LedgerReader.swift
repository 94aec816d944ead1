import PaymentsJournal
import PaymentsPostgres

/// Reads a ledger's batches and snapshots back, checking every frame and that LSNs run on
/// without a gap: used at start, by a standby catching up, and by `paymentsd verify`.
struct LedgerReader {
    let connection: PostgresConnection
    let ledger: String
    /// Batches per round trip: bounds the memory one page of results takes.
    static let pageRows: Int64 = 256

    /// The batches after `lsn`, a page at a time, in order.
    func batches(after lsn: UInt64, limit: Int64 = pageRows) throws(JournalError) -> [Batch] {
        try Self.decodeBatches(try query(LedgerSchema.batchesAfter, Self.batchesAfter(lsn, ledger: ledger, limit: limit)), ledger: ledger)
    }

    /// The parameters of `LedgerSchema.batchesAfter`.
    static func batchesAfter(_ lsn: UInt64, ledger: String, limit: Int64) -> [PostgresValue] {
        [.text(ledger), .int64(Int64(lsn)), .int64(limit)]
    }

    /// The rows of a `LedgerSchema.batchesAfter` result; a row with a missing or invalid column
    /// is refused (what the rows hold is for the caller's `walk` to check).
    static func decodeBatches(_ result: PostgresResult, ledger: String) throws(JournalError) -> [Batch] {
        var batches: [Batch] = []
        batches.reserveCapacity(result.rowCount)
        for row in 0..<result.rowCount {
            guard let first = result.int64(row, 0), let last = result.int64(row, 1), let epoch = result.int64(row, 2),
                let records = result.bytes(row, 3), first >= 1, last >= first
            else { throw .store("ledger \(ledger): a batch row with missing or invalid columns") }
            batches.append(Batch(first: UInt64(first), last: UInt64(last), epoch: UInt64(epoch), records: records))
        }
        return batches
    }

    /// Calls `body` for every record with LSN >= `lsn`, checking frames and continuity. The
    /// batches must start at or before `lsn` (nothing deleted that is needed).
    func forEachRecord(from lsn: UInt64, _ body: (UInt64, UnsafeRawBufferPointer) -> Void) throws(JournalError) {
        var next = lsn
        var after = lsn > 0 ? lsn - 1 : 0
        while true {
            let page = try batches(after: after)
            if page.isEmpty { return }
            for batch in page {
                guard batch.first <= next else {
                    throw .gap(file: "ledger \(ledger)", expectedLSN: next, foundLSN: batch.first)
                }
                try Self.walk(batch, ledger: ledger) { recordLSN, payload in
                    if recordLSN >= next { body(recordLSN, payload) }
                }
                next = batch.last + 1
                after = batch.last
            }
        }
    }

    /// The records of one batch with their LSNs; damage names the ledger, the batch and the offset.
    static func walk(_ batch: Batch, ledger: String, _ body: (UInt64, UnsafeRawBufferPointer) -> Void) throws(JournalError) {
        var lsn = batch.first
        let walked = batch.records.withUnsafeBytes { raw in
            RecordFraming.forEach(in: raw) { payload in
                body(lsn, payload)
                lsn += 1
                return true
            }
        }
        let name = "ledger \(ledger) batch at record \(batch.first)"
        if let damage = walked.damage { throw .damaged(file: name, offset: damage.offset, reason: damage.reason) }
        guard lsn == batch.last + 1 else {
            throw .damaged(file: name, offset: 0, reason: "holds \(lsn - batch.first) records, its LSNs say \(batch.last - batch.first + 1)")
        }
    }

    struct SnapshotHead {
        var lsn: UInt64
        var size: Int
        var crc: UInt32
        var chunks: Int
    }

    /// The complete snapshots, newest first.
    func snapshotHeads() throws(JournalError) -> [SnapshotHead] {
        let result = try query(LedgerSchema.snapshots, [.text(ledger)])
        var heads: [SnapshotHead] = []
        for row in 0..<result.rowCount {
            guard let lsn = result.int64(row, 0), let size = result.int64(row, 1), let crc = result.int64(row, 2),
                let chunks = result.int64(row, 3)
            else { throw .store("ledger \(ledger): a snapshot row with missing columns") }
            heads.append(SnapshotHead(lsn: UInt64(lsn), size: Int(size), crc: UInt32(truncatingIfNeeded: crc), chunks: Int(chunks)))
        }
        return heads
    }

    /// A snapshot's payload, whole and checked against its size and CRC-32C.
    func snapshotPayload(_ head: SnapshotHead) throws(JournalError) -> [UInt8] {
        let result = try query(LedgerSchema.snapshotChunks, [.text(ledger), .int64(Int64(head.lsn))])
        var payload: [UInt8] = []
        payload.reserveCapacity(head.size)
        let name = "ledger \(ledger) snapshot at record \(head.lsn)"
        guard result.rowCount == head.chunks else {
            throw .damaged(file: name, offset: payload.count, reason: "\(result.rowCount) chunks, expected \(head.chunks)")
        }
        for row in 0..<result.rowCount {
            guard result.int64(row, 0) == Int64(row), let data = result.bytes(row, 1) else {
                throw .damaged(file: name, offset: payload.count, reason: "chunk \(row) missing")
            }
            payload.append(contentsOf: data)
        }
        guard payload.count == head.size else {
            throw .damaged(file: name, offset: payload.count, reason: "\(payload.count) bytes, expected \(head.size)")
        }
        guard CRC32C.checksum(payload) == head.crc else { throw .damaged(file: name, offset: 0, reason: "checksum mismatch") }
        return payload
    }

    /// The first record of the oldest batch row kept; nil when there is none.
    func oldestLSN() throws(JournalError) -> UInt64? {
        let result = try query(LedgerSchema.oldestLSN, [.text(ledger)])
        return result.int64(0, 0).map { UInt64($0) }
    }

    func lastLSN() throws(JournalError) -> UInt64 {
        let result = try query(LedgerSchema.lastLSN, [.text(ledger)])
        return UInt64(result.int64(0, 0) ?? 0)
    }

    func query(_ sql: String, _ parameters: [PostgresValue]) throws(JournalError) -> PostgresResult {
        do { return try connection.execute(sql, parameters) } catch { throw .store("PostgreSQL: \(error.message)") }
    }
}
