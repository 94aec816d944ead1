import PaymentsJournal
import PaymentsPostgres

/// `paymentsd verify --journal URI`: every snapshot and batch of a ledger checked as recovery
/// would (sizes, CRC-32C of snapshots and of every framed record, LSNs without gaps), without
/// changing anything.
public enum PostgresVerify {
    /// Exit status 0 and a summary when clean; 1 and the first damage found otherwise; 2 when
    /// PostgreSQL cannot be reached or refuses the login.
    public static func run(conninfo: String, ledger: String) -> (status: Int32, report: String) {
        let connection: PostgresConnection
        do { connection = try PostgresConnection.connect(ConnectionDefaults.apply(to: conninfo)) } catch { return (2, "PostgreSQL: \(error.message)") }
        defer { connection.close() }
        let reader = LedgerReader(connection: connection, ledger: ledger)
        do {
            let heads = try reader.snapshotHeads()
            for head in heads { _ = try reader.snapshotPayload(head) }
            // What recovery needs: the batches from the oldest kept snapshot on, without a gap.
            let from = (heads.last?.lsn ?? 0) + 1
            var records: UInt64 = 0, batches = 0
            var next: UInt64?
            var after: UInt64 = 0
            while true {
                let page = try reader.batches(after: after)
                if page.isEmpty { break }
                for batch in page {
                    if let expected = next, batch.first != expected {
                        throw JournalError.gap(file: "ledger \(ledger)", expectedLSN: expected, foundLSN: batch.first)
                    }
                    if next == nil && batch.first > from {
                        throw JournalError.gap(file: "ledger \(ledger)", expectedLSN: from, foundLSN: batch.first)
                    }
                    try LedgerReader.walk(batch, ledger: ledger) { _, _ in records += 1 }
                    next = batch.last + 1
                    after = batch.last
                    batches += 1
                }
            }
            let newest = heads.first.map { "snapshot at record \($0.lsn) (\($0.size) bytes)" } ?? "no snapshot"
            return (0, "ledger \(ledger): \(heads.count) snapshot(s) checked, \(newest); \(batches) batches, \(records) records checked, "
                + "last record \((next ?? from) - 1)")
        } catch {
            return (1, "\(error)")
        }
    }
}
