import PaymentsCore

/// The shape nearly every partner line has: `kind,client,tx[,amount]` with no padding. Read in
/// one pass with no trimming; anything else (padding, headers, errors) returns nil and goes to
/// the general reader, which also produces the exact error message. Both must agree on every
/// line the fast path accepts: the tests compare them.
enum CSVFastPath {
    @inline(__always)
    static func parse(_ line: UnsafeRawBufferPointer, _ end: Int) -> ParsedLine? {
        var i = 0
        while i < end, line[i] != UInt8(ascii: ",") { i += 1 }
        guard i < end, let kind = kindOf(line, i) else { return nil }
        i += 1
        guard let client = digits(line, &i, end, maxDigits: 5), client <= UInt64(ClientID.max) else { return nil }
        guard i < end, line[i] == UInt8(ascii: ",") else { return nil }
        i += 1
        guard let tx = digits(line, &i, end, maxDigits: 10), tx <= UInt64(TransactionID.max) else { return nil }
        if i == end {
            return kind.movesMoney ? nil : .transaction(Transaction(kind: kind, client: ClientID(client), tx: TransactionID(tx)))
        }
        guard line[i] == UInt8(ascii: ",") else { return nil }
        i += 1
        if !kind.movesMoney {
            // The amount is ignored, but a fifth field is still too many.
            while i < end { if line[i] == UInt8(ascii: ",") { return nil }; i += 1 }
            return .transaction(Transaction(kind: kind, client: ClientID(client), tx: TransactionID(tx)))
        }
        guard let units = amount(line, i, end), units > 0 else { return nil }
        return .transaction(
            Transaction(kind: kind, client: ClientID(client), tx: TransactionID(tx), amount: Amount(units: units)))
    }

    /// A run of 1...maxDigits digits starting at `i`; `i` ends on the first non-digit.
    @inline(__always)
    static func digits(_ line: UnsafeRawBufferPointer, _ i: inout Int, _ end: Int, maxDigits: Int) -> UInt64? {
        let start = i
        var value: UInt64 = 0
        while i < end, case let d = line[i] &- 0x30, d < 10 {
            value = value &* 10 &+ UInt64(d)
            i += 1
        }
        let n = i - start
        return n > 0 && n <= maxDigits ? value : nil
    }

    /// `digits[.digits]` to the end of the line, at most 15 whole digits and 4 fraction digits.
    @inline(__always)
    static func amount(_ line: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int64? {
        var i = start
        guard let whole = digits(line, &i, end, maxDigits: 15), whole <= 922_337_203_685_476 else { return nil }
        var units = whole &* 10_000
        if i == end { return Int64(units) }
        guard line[i] == UInt8(ascii: ".") else { return nil }
        i += 1
        var scale: UInt64 = 1000
        while i < end, case let d = line[i] &- 0x30, d < 10, scale > 0 {
            units &+= UInt64(d) &* scale
            scale /= 10
            i += 1
        }
        return i == end ? Int64(units) : nil
    }

    /// The kind named by the first `length` bytes, in any case, compared a word at a time.
    @inline(__always)
    static func kindOf(_ line: UnsafeRawBufferPointer, _ length: Int) -> TransactionKind? {
        @inline(__always) func word32(_ at: Int) -> UInt32 {
            line.loadUnaligned(fromByteOffset: at, as: UInt32.self) | 0x2020_2020
        }
        switch length {
        case 7:
            let head = word32(0), tail = word32(3)
            if head == 0x6f70_6564 && tail == 0x7469_736f { return .deposit }     // "depo" "osit"
            if head == 0x7073_6964 && tail == 0x6574_7570 { return .dispute }     // "disp" "pute"
            if head == 0x6f73_6572 && tail == 0x6576_6c6f { return .resolve }     // "reso" "olve"
        case 10:
            let head = line.loadUnaligned(fromByteOffset: 0, as: UInt64.self) | 0x2020_2020_2020_2020
            let tail = word32(6)
            if head == 0x7761_7264_6874_6977 && tail == 0x6c61_7761 { return .withdrawal }  // "withdraw" "awal"
            if head == 0x6162_6567_7261_6863 && tail == 0x6b63_6162 { return .chargeback }  // "chargeba" "back"
        default: break
        }
        return nil
    }
}
