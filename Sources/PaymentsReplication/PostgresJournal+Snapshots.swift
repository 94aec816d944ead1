public import PaymentsJournal
import PaymentsPlatform
import PaymentsPostgres

extension PostgresJournal {
    /// Bytes per snapshot row: bounds one statement's size.
    static let snapshotChunkBytes = 1 << 20

    /// On the snapshot thread: once the batches through `pending.lsn` are committed, stores the
    /// payload as chunk rows and a header row in one transaction (whole or not at all), then
    /// deletes what the second-newest snapshot covers. Its own connection, so the commit
    /// pipeline never waits for it.
    public func writeSnapshot(_ pending: PendingSnapshot, payload: UnsafeRawBufferPointer) throws(JournalError) {
        try waitCommitted(pending.lsn)
        let connection: PostgresConnection
        do { connection = try connect() } catch { throw .snapshotFailed("\(error)") }
        defer { connection.close() }
        let ledger = options.ledger
        let crc = CRC32C.checksum(payload)
        let chunks = (payload.count + Self.snapshotChunkBytes - 1) / Self.snapshotChunkBytes
        do {
            try connection.executeScript("BEGIN")
            for chunk in 0..<chunks {
                let start = chunk * Self.snapshotChunkBytes
                let slice = UnsafeRawBufferPointer(rebasing: payload[start..<min(payload.count, start + Self.snapshotChunkBytes)])
                try connection.execute(LedgerSchema.insertChunk, [
                    .text(ledger), .int64(Int64(pending.lsn)), .int32(Int32(chunk)), .bytes(Array(slice)),
                ])
            }
            try connection.execute(LedgerSchema.insertSnapshot, [
                .text(ledger), .int64(Int64(pending.lsn)), .int64(Int64(payload.count)), .int64(Int64(crc)), .int32(Int32(chunks)),
            ])
            try connection.executeScript("COMMIT")
            let heads = try LedgerReader(connection: connection, ledger: ledger).snapshotHeads()
            if heads.count >= 2 {
                let keep = Int64(heads[1].lsn)
                try connection.executeScript("BEGIN")
                try connection.execute(LedgerSchema.deleteCoveredBatches, [.text(ledger), .int64(keep)])
                try connection.execute(LedgerSchema.deleteOldChunks, [.text(ledger), .int64(keep)])
                try connection.execute(LedgerSchema.deleteOldSnapshots, [.text(ledger), .int64(keep)])
                try connection.executeScript("COMMIT")
                if let oldest = try LedgerReader(connection: connection, ledger: ledger).oldestLSN() {
                    lock.withLock { shared.oldestLSN = max(shared.oldestLSN, oldest) }
                }
            }
        } catch let error as PostgresError {
            throw .snapshotFailed("PostgreSQL: \(error.message)")
        } catch {
            throw .snapshotFailed("\(error)")
        }
    }

    /// Blocks until `lsn` is committed; throws if this daemon stops leading first (or its
    /// worker stopped before committing it: a final snapshot after the lease was given back
    /// covers committed records only).
    func waitCommitted(_ lsn: UInt64) throws(JournalError) {
        try lock.withLock { () throws(JournalError) in
            while shared.durable < lsn && shared.failure == nil && !shared.stopping && shared.role == .leader {
                changed.wait(lock)
            }
            if let failure = shared.failure { throw .failed(failure) }
            guard shared.durable >= lsn else { throw .snapshotFailed("abandoned at record \(lsn): no longer the leader") }
        }
    }
}
