import PaymentsCore

/// Reads one CSV line, `type,client,tx,amount` (§1): fields padded with spaces or tabs, type in
/// any case, amount optional on disputes, resolves and chargebacks. The line comes without its
/// `\n`; a trailing `\r` is ignored here so callers need not care.
public enum CSVLine {
    public static func parse(_ line: UnsafeRawBufferPointer) -> ParsedLine {
        var end = line.count
        if end > 0, line[end - 1] == 0x0D { end -= 1 }
        if let parsed = CSVFastPath.parse(line, end) { return parsed }
        return parseGeneral(line, end)
    }

    /// Every form §1 allows, and the precise reason for every form it refuses.
    static func parseGeneral(_ line: UnsafeRawBufferPointer, _ end: Int) -> ParsedLine {
        // Field boundaries: at most four fields, so at most three commas.
        var commas = (end, end, end)
        var found = 0
        for i in 0..<end where line[i] == UInt8(ascii: ",") {
            switch found {
            case 0: commas.0 = i
            case 1: commas.1 = i
            case 2: commas.2 = i
            default: return .malformed(.tooManyFields)
            }
            found += 1
        }
        let typeRange = line.trimmedRange(0, commas.0)
        if found == 0 && typeRange.isEmpty { return .skip }
        guard let kind = transactionKind(line, typeRange) else {
            return isHeader(line, typeRange, found, commas, end) ? .skip : .malformed(.unknownType)
        }
        guard found >= 2 else { return .malformed(.missingField(found == 0 ? .client : .tx)) }
        let clientRange = line.trimmedRange(commas.0 + 1, commas.1)
        guard let client = line.parseUnsigned(clientRange, limit: UInt64(ClientID.max)) else {
            return .malformed(clientRange.isEmpty ? .missingField(.client) : .badField(.client))
        }
        let txRange = line.trimmedRange(commas.1 + 1, commas.2)
        guard let tx = line.parseUnsigned(txRange, limit: UInt64(TransactionID.max)) else {
            return .malformed(txRange.isEmpty ? .missingField(.tx) : .badField(.tx))
        }
        let amount = found == 3 ? line.slice(commas.2 + 1..<end) : nil
        return makeTransaction(kind, client, tx, amount: amount)
    }

    static func isHeader(
        _ line: UnsafeRawBufferPointer, _ typeRange: Range<Int>, _ found: Int, _ commas: (Int, Int, Int), _ end: Int
    ) -> Bool {
        found == 3 && line.equalsIgnoringCase(typeRange, "type")
            && line.equalsIgnoringCase(line.trimmedRange(commas.0 + 1, commas.1), "client")
            && line.equalsIgnoringCase(line.trimmedRange(commas.1 + 1, commas.2), "tx")
            && line.equalsIgnoringCase(line.trimmedRange(commas.2 + 1, end), "amount")
    }
}
