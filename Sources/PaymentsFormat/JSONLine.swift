import PaymentsCore

/// Reads one JSON transaction object (§1): `{"type":"deposit","client":1,"tx":7,"amount":"2.5"}`.
///
/// Keys in any order, unknown keys skipped whatever their value, the amount a string or a number
/// whose text goes through `AmountText` exactly as CSV amounts do, so no `Double` ever holds money.
/// `client` and `tx` must be JSON integers. Escapes in keys and in the type value are decoded, so
/// `"\u0074x"` is the key `tx` (and a duplicate of it), never an unknown key skipped in silence.
public enum JSONLine {
    /// Unknown values nest at most this deep: a bound on work, since lines are bounded anyway.
    static let maxDepth = 32

    public static func parse(_ line: UnsafeRawBufferPointer) -> ParsedLine {
        var reader = JSONReader(bytes: line)
        switch reader.readTransaction() {
        case .success(let parsed): return parsed
        case .failure(let error): return .malformed(error)
        }
    }
}

struct JSONReader {
    let bytes: UnsafeRawBufferPointer
    var i = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var atEnd: Bool { i >= bytes.count }
    var peek: UInt8 { bytes[i] }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0D || bytes[i] == 0x0A { i += 1 }
    }

    mutating func expect(_ byte: UInt8, _ error: JSONError) -> Result<Void, ParseError> {
        skipSpace()
        guard !atEnd, peek == byte else { return .failure(.badJSON(error)) }
        i += 1
        return .success(())
    }

    mutating func readTransaction() -> Result<ParsedLine, ParseError> {
        var kind: TransactionKind?, client: UInt64?, tx: UInt64?
        var amount: Range<Int>?
        var sawType = false, sawAmount = false
        if case .failure(let e) = expect(UInt8(ascii: "{"), .expectedObject) { return .failure(e) }
        skipSpace()
        if !atEnd, peek == UInt8(ascii: "}") { i += 1 } else {
            while true {
                skipSpace()
                guard case .success(let key) = readString() else { return .failure(.badJSON(.unterminatedString)) }
                if case .failure(let e) = expect(UInt8(ascii: ":"), .expectedColon) { return .failure(e) }
                skipSpace()
                switch keyName(key) {
                case .some(.type):
                    if sawType { return .failure(.badJSON(.duplicateKey)) }
                    sawType = true
                    guard !atEnd, peek == UInt8(ascii: "\"") else { return .failure(.badJSON(.typeNotString)) }
                    guard case .success(let r) = readString() else { return .failure(.badJSON(.unterminatedString)) }
                    guard let k = kindName(r) else { return .failure(.unknownType) }
                    kind = k
                case .some(.client):
                    if client != nil { return .failure(.badJSON(.duplicateKey)) }
                    guard let v = readInteger(limit: UInt64(ClientID.max)) else { return .failure(.badField(.client)) }
                    client = v
                case .some(.tx):
                    if tx != nil { return .failure(.badJSON(.duplicateKey)) }
                    guard let v = readInteger(limit: UInt64(TransactionID.max)) else { return .failure(.badField(.tx)) }
                    tx = v
                case .some(.amount):
                    if sawAmount { return .failure(.badJSON(.duplicateKey)) }
                    sawAmount = true
                    switch readAmountText() {
                    case .success(let r): amount = r
                    case .failure(let e): return .failure(e)
                    }
                case .none:
                    if case .failure(let e) = skipValue(depth: 0) { return .failure(e) }
                }
                skipSpace()
                guard !atEnd else { return .failure(.badJSON(.expectedCommaOrEnd)) }
                if peek == UInt8(ascii: ",") { i += 1; continue }
                if peek == UInt8(ascii: "}") { i += 1; break }
                return .failure(.badJSON(.expectedCommaOrEnd))
            }
        }
        skipSpace()
        guard atEnd else { return .failure(.badJSON(.trailingCharacters)) }
        guard let kind else { return .failure(.missingField(.type)) }
        guard let client else { return .failure(.missingField(.client)) }
        guard let tx else { return .failure(.missingField(.tx)) }
        return .success(makeTransaction(kind, client, tx, amount: amount.map { bytes.slice($0) }))
    }

    /// The contents of a string starting at `i` (which must be `"`), escapes left in place.
    mutating func readString() -> Result<Range<Int>, ParseError> {
        guard !atEnd, peek == UInt8(ascii: "\"") else { return .failure(.badJSON(.unterminatedString)) }
        i += 1
        let start = i
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { i += 1; return .success(start..<(i - 1)) }
            if b == UInt8(ascii: "\\") { i += 1 }
            else if b < 0x20 { return .failure(.badJSON(.badValue)) }
            i += 1
        }
        return .failure(.badJSON(.unterminatedString))
    }

    func keyName(_ r: Range<Int>) -> ParseError.Field? {
        for k in r where bytes[k] == UInt8(ascii: "\\") {
            // Rare: a key written with escapes. Decode it and compare what it spells.
            return decodedASCII(r)?.withUnsafeBytes { Self.field(named: $0) }
        }
        return Self.field(named: bytes.slice(r))
    }

    static func field(named key: UnsafeRawBufferPointer) -> ParseError.Field? {
        if key.elementsEqual("type".utf8) { return .type }
        if key.elementsEqual("client".utf8) { return .client }
        if key.elementsEqual("tx".utf8) { return .tx }
        if key.elementsEqual("amount".utf8) { return .amount }
        return nil
    }

    /// The transaction kind a string spells, escapes decoded.
    func kindName(_ r: Range<Int>) -> TransactionKind? {
        for k in r where bytes[k] == UInt8(ascii: "\\") {
            return decodedASCII(r)?.withUnsafeBytes { transactionKind($0, 0..<$0.count) }
        }
        return transactionKind(bytes, r)
    }

    /// A string's contents with escapes decoded, or nil when it holds anything but ASCII (or a
    /// control character or a bad escape): such a string is none of the names this reader knows.
    func decodedASCII(_ r: Range<Int>) -> [UInt8]? {
        var out: [UInt8] = []
        var k = r.lowerBound
        while k < r.upperBound {
            let b = bytes[k]
            if b >= 0x80 { return nil }
            if b != UInt8(ascii: "\\") { out.append(b); k += 1; continue }
            guard k + 1 < r.upperBound else { return nil }
            switch bytes[k + 1] {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"):
                out.append(bytes[k + 1])
                k += 2
            case UInt8(ascii: "u"):
                guard k + 6 <= r.upperBound else { return nil }
                var v: UInt32 = 0
                for h in (k + 2)..<(k + 6) {
                    let c = bytes[h]
                    switch c {
                    case UInt8(ascii: "0")...UInt8(ascii: "9"): v = v << 4 | UInt32(c - 0x30)
                    case UInt8(ascii: "a")...UInt8(ascii: "f"): v = v << 4 | UInt32(c - 0x57)
                    case UInt8(ascii: "A")...UInt8(ascii: "F"): v = v << 4 | UInt32(c - 0x37)
                    default: return nil
                    }
                }
                guard v >= 0x20, v < 0x80 else { return nil }
                out.append(UInt8(v))
                k += 6
            default:
                return nil
            }
        }
        return out
    }

    /// The raw token of a JSON number (`-`, digits, `.`, exponent), for checking by the caller.
    mutating func numberToken() -> Range<Int> {
        let start = i
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"),
                UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"):
                i += 1
            default: return start..<i
            }
        }
        return start..<i
    }

    mutating func readInteger(limit: UInt64) -> UInt64? {
        let token = numberToken()
        return bytes.parseUnsigned(token, limit: limit)
    }

    /// A string's contents or a number's text; `null` reads as no amount.
    mutating func readAmountText() -> Result<Range<Int>?, ParseError> {
        guard !atEnd else { return .failure(.badJSON(.badValue)) }
        if peek == UInt8(ascii: "\"") {
            switch readString() {
            case .success(let r): return .success(r)
            case .failure(let e): return .failure(e)
            }
        }
        if matchLiteral("null") { return .success(nil) }
        let token = numberToken()
        if token.isEmpty { return .failure(.badJSON(.badValue)) }
        return .success(token)
    }

    mutating func matchLiteral(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { return false }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { return false }
        i += n
        return true
    }

    /// Skips any JSON value: unknown keys may carry strings, numbers, literals, objects or arrays.
    mutating func skipValue(depth: Int) -> Result<Void, ParseError> {
        guard depth < JSONLine.maxDepth else { return .failure(.badJSON(.nestingTooDeep)) }
        skipSpace()
        guard !atEnd else { return .failure(.badJSON(.badValue)) }
        switch peek {
        case UInt8(ascii: "\""):
            if case .failure(let e) = readString() { return .failure(e) }
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            return skipContainer(depth: depth)
        default:
            if matchLiteral("true") || matchLiteral("false") || matchLiteral("null") { return .success(()) }
            if numberToken().isEmpty { return .failure(.badJSON(.badValue)) }
        }
        return .success(())
    }

    mutating func skipContainer(depth: Int) -> Result<Void, ParseError> {
        let isObject = peek == UInt8(ascii: "{")
        let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
        i += 1
        skipSpace()
        if !atEnd, peek == close { i += 1; return .success(()) }
        while true {
            if isObject {
                skipSpace()
                if case .failure(let e) = readString() { return .failure(e) }
                if case .failure(let e) = expect(UInt8(ascii: ":"), .expectedColon) { return .failure(e) }
            }
            if case .failure(let e) = skipValue(depth: depth + 1) { return .failure(e) }
            skipSpace()
            guard !atEnd else { return .failure(.badJSON(.expectedCommaOrEnd)) }
            if peek == UInt8(ascii: ",") { i += 1; continue }
            if peek == close { i += 1; return .success(()) }
            return .failure(.badJSON(.expectedCommaOrEnd))
        }
    }
}
