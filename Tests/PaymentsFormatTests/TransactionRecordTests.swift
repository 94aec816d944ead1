import PaymentsCore
import PaymentsFormat
import Testing

/// The journal's transaction record, versions 1 and 2 (SPEC §10: version 2 keeps the outcome
/// and the account after the transaction), and the change stream's JSON lines.
@Suite struct TransactionRecordTests {
    static func encodeV2(_ t: Transaction, _ outcome: Outcome, _ account: Account?) -> [UInt8] {
        var bytes = [UInt8](repeating: 0xEE, count: TransactionRecord.maxSize)
        let size = TransactionRecord.sizeWithEffect(of: t)
        bytes.withUnsafeMutableBytes { raw in
            let head = TransactionRecord.encode(t, into: raw.baseAddress!)
            TransactionRecord.encodeEffect(outcome, account, into: raw.baseAddress! + head)
        }
        return Array(bytes[..<size])
    }

    @Test func aVersion2DepositByHand() {
        let t = Transaction(kind: .deposit, client: 0x0102, tx: 0x0A0B0C0D, amount: Amount(units: 25_000))
        let account = Account(client: 0x0102, available: Amount(units: 25_000), held: Amount(units: -1), locked: true)
        let bytes = Self.encodeV2(t, .applied, account)
        #expect(bytes == [
            1, 0x02, 0x01, 0x0D, 0x0C, 0x0B, 0x0A,             // deposit, client, tx
            0xA8, 0x61, 0, 0, 0, 0, 0, 0,                        // amount 25000
            0,                                                   // outcome: applied
            0xA8, 0x61, 0, 0, 0, 0, 0, 0,                        // available 25000
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,      // held -1
            3,                                                   // exists, locked
        ])
        #expect(bytes.withUnsafeBytes { TransactionRecord.decodeFull($0) }
            == .full(t, .init(outcome: .applied, account: account)))
    }

    @Test func everyKindAndOutcomeRoundTrips() {
        for kind in TransactionKind.allCases {
            let t = Transaction(kind: kind, client: 7, tx: 99, amount: kind.movesMoney ? Amount(units: 12_345) : .zero)
            let outcomes: [Outcome] = [.applied] + Rejection.allCases.map { .rejected($0) }
            for outcome in outcomes {
                for account in [nil, Account(client: 7, available: Amount(units: -5), held: Amount(units: .max), locked: false)] {
                    let bytes = Self.encodeV2(t, outcome, account)
                    #expect(bytes.count == (kind.movesMoney ? 33 : 25))
                    #expect(bytes.withUnsafeBytes { TransactionRecord.decodeFull($0) } == .full(t, .init(outcome: outcome, account: account)))
                    #expect(bytes.withUnsafeBytes { TransactionRecord.decode($0) } == t, "replay reads version 2 too")
                }
            }
        }
    }

    @Test func version1RecordsByHandDecodeWithoutAnOutcome() {
        let withdrawal: [UInt8] = [2, 5, 0, 9, 0, 0, 0, 0x10, 0x27, 0, 0, 0, 0, 0, 0]  // client 5, tx 9, 1.0000
        let dispute: [UInt8] = [3, 5, 0, 9, 0, 0, 0]
        #expect(withdrawal.withUnsafeBytes { TransactionRecord.decodeFull($0) }
            == .transactionOnly(Transaction(kind: .withdrawal, client: 5, tx: 9, amount: Amount(units: 10_000))))
        #expect(dispute.withUnsafeBytes { TransactionRecord.decodeFull($0) }
            == .transactionOnly(Transaction(kind: .dispute, client: 5, tx: 9, amount: .zero)))
    }

    @Test func damagedVersion2TailsAreRefused() {
        let t = Transaction(kind: .dispute, client: 1, tx: 2, amount: .zero)
        let good = Self.encodeV2(t, .rejected(.unknownTx), nil)
        var badOutcome = good; badOutcome[7] = 11
        var badFlags = good; badFlags[24] = 4
        var ghostAccount = good; ghostAccount[8] = 1  // a balance on an account that does not exist
        for bytes in [badOutcome, badFlags, ghostAccount, Array(good.dropLast()), good + [0]] {
            #expect(bytes.withUnsafeBytes { TransactionRecord.decodeFull($0) } == .invalid, "\(bytes)")
        }
    }

    @Test func theChangeStreamLinesOfSection10() {
        func line(_ t: Transaction, _ outcome: Outcome, _ account: Account?) -> String {
            var out: [UInt8] = []
            ChangeText.appendJSON(lsn: 42, t, .init(outcome: outcome, account: account), to: &out)
            return String(decoding: out, as: UTF8.self)
        }
        let account = Account(client: 1, available: Amount(units: 25_000), held: .zero, locked: false)
        #expect(line(Transaction(kind: .deposit, client: 1, tx: 7, amount: Amount(units: 25_000)), .applied, account)
            == #"{"lsn":42,"type":"deposit","client":1,"tx":7,"amount":"2.5000","outcome":"ok","account":{"client":1,"available":"2.5000","held":"0.0000","total":"2.5000","locked":false}}"# + "\n")
        #expect(line(Transaction(kind: .withdrawal, client: 1, tx: 8, amount: Amount(units: 90_000)), .rejected(.insufficientFunds), account)
            == #"{"lsn":42,"type":"withdrawal","client":1,"tx":8,"amount":"9.0000","outcome":"rejected","reason":"insufficient funds","account":{"client":1,"available":"2.5000","held":"0.0000","total":"2.5000","locked":false}}"# + "\n")
        #expect(line(Transaction(kind: .chargeback, client: 3, tx: 7, amount: .zero), .rejected(.unknownTx), nil)
            == #"{"lsn":42,"type":"chargeback","client":3,"tx":7,"outcome":"rejected","reason":"unknown tx","account":null}"# + "\n")
        var snapshot: [UInt8] = []
        ChangeText.appendSnapshotJSON(lsn: 9, account, to: &snapshot)
        #expect(String(decoding: snapshot, as: UTF8.self)
            == #"{"lsn":9,"snapshot":true,"account":{"client":1,"available":"2.5000","held":"0.0000","total":"2.5000","locked":false}}"# + "\n")
    }
}
