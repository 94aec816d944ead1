import PaymentsCore
import PaymentsFormat

func parseAmount(_ s: String) -> Result<Amount, AmountError> { AmountText.parse(s) }

func line(_ s: String) -> ParsedLine { TransactionLine.parse(s) }

func csv(_ s: String) -> ParsedLine {
    var copy = s
    return copy.withUTF8 { CSVLine.parse(UnsafeRawBufferPointer($0)) }
}

func json(_ s: String) -> ParsedLine {
    var copy = s
    return copy.withUTF8 { JSONLine.parse(UnsafeRawBufferPointer($0)) }
}

func tx(_ kind: TransactionKind, _ client: ClientID, _ id: TransactionID, _ units: Int64 = 0) -> ParsedLine {
    .transaction(Transaction(kind: kind, client: client, tx: id, amount: Amount(units: units)))
}

extension ParsedLine {
    var isBadJSON: Bool { if case .malformed(.badJSON) = self { true } else { false } }
    var isMalformed: Bool { if case .malformed = self { true } else { false } }
}

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
