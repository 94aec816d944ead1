import PaymentsCore
import PaymentsFormat
import PaymentsTestSupport

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

