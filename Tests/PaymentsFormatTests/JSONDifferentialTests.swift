import Foundation
import PaymentsTestSupport
import PaymentsCore
import PaymentsFormat
import Testing

/// Random JSON transaction objects, keys shuffled, unknown keys carrying random nested values,
/// whitespace anywhere. The generator knows what it wrote, so it knows what §1 makes of it; every
/// object is also checked to be valid JSON by Foundation's reader, so the test is about real JSON.
@Suite struct JSONDifferentialTests {
    struct Generator {
        var rng: SplitMix64

        mutating func ws() -> String { ["", "", " ", "\t", "  ", "\r", " \t "][rng.below(7)] }

        mutating func string() -> String {
            let pieces = ["a", "Z", "}", "{", "[", "]", ",", ":", "\\\"", "\\\\", "\\n", "\\u00e9", "\\ud83d\\ude00", "é", " ", "type", "tx"]
            return "\"" + (0..<rng.below(6)).map { _ in pieces[rng.below(pieces.count)] }.joined() + "\""
        }

        mutating func value(depth: Int) -> String {
            switch depth >= 5 ? rng.below(5) : rng.below(7) {
            case 0: return string()
            case 1: return ["0", "-1", "12.5", "1e10", "-0.25E-3", "123456789012345678901234567890"][rng.below(6)]
            case 2: return ["true", "false", "null"][rng.below(3)]
            case 3, 4: return string()
            case 5: return "[" + ws() + (0..<rng.below(4)).map { _ in ws() + value(depth: depth + 1) + ws() }.joined(separator: ",") + "]"
            default:
                return "{" + (0..<rng.below(4)).map { i in ws() + "\"k\(i)\"" + ws() + ":" + ws() + value(depth: depth + 1) + ws() }
                    .joined(separator: ",") + ws() + "}"
            }
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func readerAgreesWithWhatWasWritten(seed: UInt64) throws {
        var g = Generator(rng: SplitMix64(seed: seed))
        var disagreements: [String] = []
        var outcomes = [0, 0]
        for _ in 0..<4_000 {
            var members: [String] = []
            var valid = true
            // type
            let kinds: [TransactionKind] = [.deposit, .withdrawal, .dispute, .resolve, .chargeback]
            let kind = kinds[g.rng.below(5)]
            switch g.rng.below(20) {
            case 0: valid = false  // absent
            case 1: members.append("\"type\":\"refund\""); valid = false
            case 2: members.append("\"type\":7"); valid = false
            default: members.append("\"type\":" + g.ws() + "\"\(kind.name)\"")
            }
            // client
            let client = ClientID(g.rng.below(65536))
            switch g.rng.below(20) {
            case 0: valid = false
            case 1: members.append("\"client\":\"\(client)\""); valid = false
            case 2: members.append("\"client\":\(client).0"); valid = false
            case 3: members.append("\"client\":65536"); valid = false
            case 4: members.append("\"client\":-\(client + 1)"); valid = false
            default: members.append("\"client\":" + g.ws() + "\(client)")
            }
            // tx
            let id = TransactionID(truncatingIfNeeded: g.rng.next())
            switch g.rng.below(20) {
            case 0: valid = false
            case 1: members.append("\"tx\":\"\(id)\""); valid = false
            case 2: members.append("\"tx\":4294967296"); valid = false
            case 3: members.append("\"tx\":1e3"); valid = false
            default: members.append("\"tx\":\(id)" + g.ws())
            }
            // amount: units and how it is written
            let units = Int64(g.rng.below(100_000_000))
            let text = "\(units / 10_000).\(String(units % 10_000).leftPadded(4))"
            var amount: Int64 = kind.movesMoney ? units : 0
            switch g.rng.below(12) {
            case 0:
                if kind.movesMoney { valid = false }
            case 1:
                members.append("\"amount\":null")
                if kind.movesMoney { valid = false }
            case 2:
                members.append("\"amount\":\"-\(text)\"")
                if kind.movesMoney { valid = false }
            case 3:
                members.append("\"amount\":\(text)e0")
                if kind.movesMoney { valid = false }
            case 4, 5, 6: members.append("\"amount\":\(text)")
            default: members.append("\"amount\":" + g.ws() + "\"\(g.ws() == "" ? "" : " ")\(text)\"")
            }
            if kind.movesMoney && units == 0 { valid = false }
            if !kind.movesMoney { amount = 0 }
            for i in 0..<g.rng.below(4) { members.append("\"x\(i)\":" + g.ws() + g.value(depth: 0)) }
            members.shuffle(using: &g.rng)
            // Before the brace only spaces and tabs: that is what makes a line JSON (§1).
            let object = ["", " ", "\t", " \t"][g.rng.below(4)] + "{" + members.map { g.ws() + $0 + g.ws() }.joined(separator: ",") + g.ws() + "}" + g.ws()

            // The generator must write real JSON.
            let parsed = try? JSONSerialization.jsonObject(with: Data(object.utf8))
            if parsed == nil, disagreements.count < 10 { disagreements.append("not JSON: \(object)") }

            let got = line(object)
            let want: ParsedLine = valid ? tx(kind, client, id, amount) : got.isMalformed ? got : .malformed(.unknownType)
            outcomes[valid ? 0 : 1] += 1
            if got != want, disagreements.count < 10 { disagreements.append("\(object): got \(got), want \(valid ? "\(want)" : "malformed")") }
        }
        #expect(disagreements.isEmpty, "\(disagreements)")
        #expect(outcomes.allSatisfy { $0 > 500 }, "\(outcomes)")
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: Swift.max(0, width - count)) + self }
}
