import PaymentsCore

/// Small byte-level helpers shared by the CSV and JSON readers and the daemon's command reader.
extension UnsafeRawBufferPointer {
    /// The range with leading and trailing spaces and tabs removed.
    @inline(__always)
    func trimmedRange(_ start: Int, _ end: Int) -> Range<Int> {
        var s = start, e = end
        while s < e, self[s] == 0x20 || self[s] == 0x09 { s += 1 }
        while e > s, self[e - 1] == 0x20 || self[e - 1] == 0x09 { e -= 1 }
        return s..<e
    }

    /// A slice as a buffer of its own.
    @inline(__always)
    func slice(_ r: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: self[r]) }

    /// Whether `range` equals `word` ignoring ASCII case (`word` is lower case).
    @inline(__always)
    public func equalsIgnoringCase(_ range: Range<Int>, _ word: StaticString) -> Bool {
        guard range.count == word.utf8CodeUnitCount else { return false }
        let w = word.utf8Start
        for k in 0..<range.count where self[range.lowerBound + k] | 0x20 != w[k] { return false }
        return true
    }

    /// A decimal integer made of digits only, no larger than `limit`; nil otherwise.
    @inline(__always)
    public func parseUnsigned(_ range: Range<Int>, limit: UInt64) -> UInt64? {
        if range.isEmpty { return nil }
        var value: UInt64 = 0
        for k in range {
            let d = self[k] &- 0x30
            if d >= 10 { return nil }
            value = value &* 10 &+ UInt64(d)
            if value > limit { return nil }
        }
        return value
    }
}

/// The transaction kind named by `range` (case-insensitive), or nil.
@inline(__always)
func transactionKind(_ line: UnsafeRawBufferPointer, _ range: Range<Int>) -> TransactionKind? {
    switch range.count {
    case 7:
        if line.equalsIgnoringCase(range, "deposit") { return .deposit }
        if line.equalsIgnoringCase(range, "dispute") { return .dispute }
        if line.equalsIgnoringCase(range, "resolve") { return .resolve }
    case 10:
        if line.equalsIgnoringCase(range, "withdrawal") { return .withdrawal }
        if line.equalsIgnoringCase(range, "chargeback") { return .chargeback }
    default: break
    }
    return nil
}

/// Builds the transaction once its fields are read: deposits and withdrawals need an amount
/// above zero; the others ignore whatever amount text they carry (§1).
@inline(__always)
func makeTransaction(
    _ kind: TransactionKind, _ client: UInt64, _ tx: UInt64, amount: UnsafeRawBufferPointer?
) -> ParsedLine {
    guard kind.movesMoney else {
        return .transaction(Transaction(kind: kind, client: ClientID(client), tx: TransactionID(tx)))
    }
    guard let amount, !amount.isEmpty else { return .malformed(.missingAmount) }
    switch AmountText.parse(amount) {
    case .failure(.noDigits) where amount.trimmedRange(0, amount.count).isEmpty:
        return .malformed(.missingAmount)
    case .failure(let e): return .malformed(.badAmount(e))
    case .success(let a):
        if a.units <= 0 { return .malformed(.nonPositiveAmount) }
        return .transaction(Transaction(kind: kind, client: ClientID(client), tx: TransactionID(tx), amount: a))
    }
}
