import PaymentsCore
import PaymentsFormat
import Testing

/// The change stream's lines are rendered in place (`ChangeText.render`, `RawText`) for speed;
/// here they are checked byte for byte against a plain rendering built from the §3 account text,
/// `AmountText` and the names the protocol prints (`TransactionKind.name`, `Rejection.reason`),
/// over every kind, every outcome and numbers at their edges.
@Suite struct ChangeTextTests {
    /// The line as the change stream was first written: `[UInt8]` appends, one piece at a time.
    static func plainLine(lsn: UInt64, _ t: Transaction, _ outcome: Outcome, _ account: Account?) -> String {
        var out: [UInt8] = []
        out.append(contentsOf: #"{"lsn":"#.utf8)
        out.append(contentsOf: String(lsn).utf8)
        out.append(contentsOf: #","type":""#.utf8)
        out.append(contentsOf: t.kind.name.utf8)
        out.append(contentsOf: #"","client":"#.utf8)
        out.append(contentsOf: String(t.client).utf8)
        out.append(contentsOf: #","tx":"#.utf8)
        out.append(contentsOf: String(t.tx).utf8)
        if t.kind.movesMoney {
            out.append(contentsOf: #","amount":""#.utf8)
            AmountText.append(t.amount, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        switch outcome {
        case .applied: out.append(contentsOf: #","outcome":"ok","account":"#.utf8)
        case .rejected(let r):
            out.append(contentsOf: #","outcome":"rejected","reason":""#.utf8)
            out.append(contentsOf: r.reason.utf8)
            out.append(contentsOf: #"","account":"#.utf8)
        }
        if let account {
            AccountText.appendJSON(account, to: &out)
            out.removeLast()
        } else {
            out.append(contentsOf: "null".utf8)
        }
        out.append(contentsOf: "}\n".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    static let edgeUnits: [Int64] = [
        0, 1, 9, 10, 99, 100, 9_999, 10_000, 10_001, 25_000, 99_999_999, 100_000_000,
        123_456_789_012, 999_999_999_999_999, Int64.max, -1, -9_999, -10_000, -25_000, Int64.min + 1, Int64.min,
    ]
    static let edgeLSNs: [UInt64] = [0, 1, 9, 10, 99, 100, 101, 999, 1_000, 65_535, 1_000_000, 9_999_999_999,
                                     10_000_000_000, UInt64(Int64.max), UInt64.max - 1, UInt64.max]

    @Test func everyKindOutcomeAndEdgeMatchesThePlainRendering() {
        let outcomes: [Outcome] = [.applied] + Rejection.allCases.map { .rejected($0) }
        var lines = 0
        for kind in TransactionKind.allCases {
            for outcome in outcomes {
                for (i, units) in Self.edgeUnits.enumerated() {
                    let lsn = Self.edgeLSNs[i % Self.edgeLSNs.count]
                    let client = [ClientID.min, 1, 9, 10, 12_345, ClientID.max][i % 6]
                    let tx = [TransactionID.min, 7, 100, 65_536, TransactionID.max][i % 5]
                    let amount = Amount(units: kind.movesMoney ? max(units, 1) : 0)
                    let t = Transaction(kind: kind, client: client, tx: tx, amount: amount)
                    let held = Self.edgeUnits[(i + 3) % Self.edgeUnits.count]
                    let accounts: [Account?] = [
                        nil,
                        Account(client: client, available: Amount(units: units), held: Amount(units: held), locked: false),
                        Account(client: client, available: Amount(units: units), held: Amount(units: held), locked: true),
                    ]
                    for account in accounts {
                        var out: [UInt8] = []
                        ChangeText.appendJSON(lsn: lsn, t, .init(outcome: outcome, account: account), to: &out)
                        #expect(out.count <= ChangeText.maxLineBytes)
                        #expect(String(decoding: out, as: UTF8.self) == Self.plainLine(lsn: lsn, t, outcome, account))
                        lines += 1
                    }
                }
            }
        }
        #expect(lines == 5 * 11 * Self.edgeUnits.count * 3)
    }

    @Test func theLongestLineFitsItsRoom() {
        let account = Account(client: .max, available: Amount(units: .min), held: Amount(units: .min), locked: false)
        let t = Transaction(kind: .withdrawal, client: .max, tx: .max, amount: Amount(units: .max))
        var out: [UInt8] = []
        ChangeText.appendJSON(lsn: .max, t, .init(outcome: .rejected(.insufficientFunds), account: account), to: &out)
        #expect(out.count <= ChangeText.maxLineBytes)
        var snapshot: [UInt8] = []
        ChangeText.appendSnapshotJSON(lsn: .max, account, to: &snapshot)
        #expect(snapshot.count <= ChangeText.maxLineBytes)
    }

    @Test func decimalsAroundEveryPowerOfTen() {
        var values: [UInt64] = [0, UInt64.max, UInt64.max - 1]
        var power: UInt64 = 1
        for _ in 0..<20 {
            values += [power - 1, power, power + 1, power &* 2 &+ 3]
            if power > UInt64.max / 10 { break }
            power *= 10
        }
        for v in values {
            var bytes = [UInt8](repeating: 0, count: RawText.maxDecimalBytes + 1)
            let n = bytes.withUnsafeMutableBufferPointer { b in RawText.decimal(v, at: b.baseAddress!) - b.baseAddress! }
            #expect(String(decoding: bytes[..<n], as: UTF8.self) == String(v))
            #expect(bytes[n] == 0, "wrote past the digits of \(v)")
        }
    }

    @Test func amountsAsAmountTextPrintsThem() {
        for units in Self.edgeUnits + [5_000, -5_000, 1_234_567, -1_234_567] {
            var bytes = [UInt8](repeating: 0, count: RawText.maxAmountBytes + 1)
            let n = bytes.withUnsafeMutableBufferPointer { b in
                RawText.amount(Amount(units: units), at: b.baseAddress!) - b.baseAddress!
            }
            #expect(String(decoding: bytes[..<n], as: UTF8.self) == AmountText.format(Amount(units: units)))
            #expect(bytes[n] == 0, "wrote past the amount \(units)")
        }
    }
}
