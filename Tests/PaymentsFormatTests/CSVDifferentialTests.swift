import PaymentsCore
import PaymentsTestSupport
import PaymentsFormat
import Testing

/// A naive reading of the CSV form of §1 (split on commas, trim, compare words, check digits),
/// written from the contract with none of the parser's byte tricks. On random lines built from
/// valid and invalid pieces, the parser must agree with it: same transaction, or skip, or malformed.
enum NaiveCSV {
    enum Reading: Equatable { case transaction(Transaction), skip, malformed }

    static func isPad(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }

    static func trim(_ f: ArraySlice<UInt8>) -> [UInt8] {
        var s = f.startIndex, e = f.endIndex
        while s < e, isPad(f[s]) { s += 1 }
        while e > s, isPad(f[e - 1]) { e -= 1 }
        return Array(f[s..<e])
    }

    static func lower(_ b: [UInt8]) -> String {
        String(decoding: b.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    static func integer(_ b: [UInt8], max: UInt64) -> UInt64? {
        guard !b.isEmpty, b.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        var v: Int128 = 0
        for d in b { v = v * 10 + Int128(d - 0x30); if v > Int128(max) { return nil } }
        return UInt64(v)
    }

    /// The amount in ten-thousandths, or nil when §1 refuses the text.
    static func amount(_ raw: [UInt8]) -> Int64? {
        let b = trim(raw[...])
        let parts = b.split(separator: 0x2E, maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0], fraction = parts.count > 1 ? parts[1] : []
        let digits = { (s: ArraySlice<UInt8>) in s.allSatisfy { (0x30...0x39).contains($0) } }
        guard digits(whole), digits(fraction), fraction.count <= 4, whole.count + fraction.count > 0 else { return nil }
        var v: Int128 = 0
        for d in whole { v = v * 10 + Int128(d - 0x30); if v > Int128(Int64.max) { return nil } }
        var f: Int128 = 0
        for d in fraction { f = f * 10 + Int128(d - 0x30) }
        for _ in fraction.count..<4 { f *= 10 }
        let units = v * 10_000 + f
        return units <= Int128(Int64.max) ? Int64(units) : nil
    }

    static func read(_ line: [UInt8]) -> Reading {
        var bytes = line[...]
        if bytes.last == 0x0D { bytes = bytes.dropLast() }
        let fields = bytes.split(separator: 0x2C, omittingEmptySubsequences: false).map { trim($0) }
        if fields.count == 1 && fields[0].isEmpty { return .skip }
        if fields.count > 4 { return .malformed }
        if fields.map(lower) == ["type", "client", "tx", "amount"] { return .skip }
        let kinds: [String: TransactionKind] = [
            "deposit": .deposit, "withdrawal": .withdrawal, "dispute": .dispute, "resolve": .resolve,
            "chargeback": .chargeback,
        ]
        guard let kind = kinds[lower(fields[0])], fields.count >= 3,
            let client = integer(fields[1], max: 65535), let tx = integer(fields[2], max: UInt64(UInt32.max))
        else { return .malformed }
        guard kind.movesMoney else {
            return .transaction(Transaction(kind: kind, client: ClientID(client), tx: TransactionID(tx)))
        }
        guard fields.count == 4, let units = amount(fields[3]), units > 0 else { return .malformed }
        return .transaction(Transaction(kind: kind, client: ClientID(client), tx: TransactionID(tx), amount: Amount(units: units)))
    }
}

@Suite struct CSVDifferentialTests {
    static let types = ["deposit", "DEPOSIT", "Withdrawal", "withdrawal", "dispute", "Resolve", "chargeback", "CHARGEBACK",
                        "type", "Type", "", "transfer", "depo sit", "deposits", "{", "withdraw"]
    static let clients = ["1", "65535", "65536", "0", "007", "-1", "+1", "", "a", "99999999999999999999", "12", "client",
                          "1.0", "6553 5"]
    static let txs = ["0", "4294967295", "4294967296", "-5", "", "1.0", "000000000000000000001", "77", "tx", "1e3", "18446744073709551616"]
    static let amounts = ["", " ", "0", "0.0", "-1", "+2", "1e3", "1.00001", ".", "922337203685477.5807", "922337203685477.5808",
                          "abc", "1 5", "2.5", "1.", ".5", "0001.2500", "0.0001", "amount", "1..2", "00000000000000000000009",
                          "922337203685477", "922337203685478", "99999999999999999999.0"]

    @Test(arguments: [1, 2, 3] as [UInt64])
    func parserAgreesWithTheNaiveReading(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        func pad() -> String { ["", "", " ", "\t", "  ", " \t"][rng.below(6)] }
        func pick(_ pool: [String]) -> String { pool[rng.below(pool.count)] }
        var disagreements: [String] = []
        var kinds = [0, 0, 0]
        for _ in 0..<30_000 {
            var fields = [pick(Self.types), pick(Self.clients), pick(Self.txs), pick(Self.amounts)]
            if rng.below(5) == 0 { fields = ["type", "client", "tx", "amount"].map { rng.below(2) == 0 ? $0.uppercased() : $0 } }
            if rng.below(6) == 0 {
                // A random amount in any accepted shape.
                fields[3] = String(rng.below(100_000)) + (rng.below(2) == 0 ? "." + String(rng.below(10_000)) : "")
            }
            let count = [1, 2, 3, 4, 4, 4, 4, 5, 6][rng.below(9)]
            while fields.count < count { fields.append(pick(Self.amounts)) }
            var line = fields.prefix(count).map { pad() + $0 + pad() }.joined(separator: ",")
            if rng.below(4) == 0 { line += "\r" }
            let bytes = Array(line.utf8)
            let want = NaiveCSV.read(bytes)
            let got: NaiveCSV.Reading = switch csv(line) {
            case .transaction(let t): .transaction(t)
            case .skip: .skip
            case .malformed: .malformed
            }
            switch want {
            case .transaction: kinds[0] += 1
            case .skip: kinds[1] += 1
            case .malformed: kinds[2] += 1
            }
            if got != want, disagreements.count < 10 { disagreements.append("\(line.debugDescription): got \(got), want \(want)") }
        }
        #expect(disagreements.isEmpty, "\(disagreements)")
        #expect(kinds.allSatisfy { $0 > 500 }, "each outcome is exercised: \(kinds)")
    }
}
