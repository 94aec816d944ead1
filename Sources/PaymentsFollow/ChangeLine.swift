// PaymentsFollow: the client side of the change stream (SPEC §10), without I/O policy:
// `ChangeLine` reads one stream line, `LineBuffer` cuts lines out of what a socket gave,
// `LSNFile` records the last LSN printed, `MirrorBatch` coalesces a batch of lines into the
// Redis commands of one MULTI/EXEC.

/// The fields of one change-stream line that a follower needs, read by a purpose-built
/// scanner (no Foundation JSON, no `Double`): the LSN, whether it is a snapshot line, and the
/// account after the change, whose amounts stay the exact text the daemon wrote.
///
/// `{"lsn":42,"type":"deposit",...,"account":{"client":1,"available":"2.5000","held":"0.0000","total":"2.5000","locked":false}}`
/// `{"lsn":40,"snapshot":true,"account":{...}}`
public struct ChangeLine: Equatable, Sendable {
    public var lsn: UInt64
    public var isSnapshot: Bool
    /// The account after the change; nil when the line has none (a refusal that created no
    /// account) or `"account":null`.
    public var account: AccountFields?

    /// The §3 fields of an account. The amounts are byte ranges of the line they were read
    /// from (the text between the quotes), checked to be `-?DIGITS.DDDD`.
    public struct AccountFields: Equatable, Sendable {
        public var client: UInt16
        public var available: Range<Int>
        public var held: Range<Int>
        public var total: Range<Int>
        public var locked: Bool
    }

    /// A line that is not a change-stream line: what was wrong, and at which byte.
    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public let offset: Int
        public let reason: String
        public var description: String { "\(reason) at byte \(offset)" }
    }

    /// Reads `line` (without its newline). Keys may come in any order; unknown keys and their
    /// values (strings, numbers, literals, nested objects and arrays) are skipped.
    public static func parse(_ line: UnsafeBufferPointer<UInt8>) throws(ParseError) -> ChangeLine {
        var scanner = Scanner(bytes: line)
        var lsn: UInt64?, snapshot = false, account: AccountFields?
        try scanner.beginObject()
        while let key = try scanner.nextKey() {
            switch key {
            case .lsn: lsn = try scanner.unsigned(max: UInt64.max)
            case .snapshot: snapshot = try scanner.boolean()
            case .account: account = scanner.isNull() ? nil : try scanner.account()
            default: try scanner.skipValue(depth: 0)
            }
        }
        try scanner.end()
        guard let lsn else { throw ParseError(offset: 0, reason: "no \"lsn\"") }
        if snapshot && account == nil { throw ParseError(offset: 0, reason: "a snapshot line without its account") }
        return ChangeLine(lsn: lsn, isSnapshot: snapshot, account: account)
    }

    /// Reads a line held in an array or a slice of one.
    public static func parse(_ line: some Collection<UInt8>) throws(ParseError) -> ChangeLine {
        let bytes = Array(line)
        let result: Result<ChangeLine, ParseError> = bytes.withUnsafeBufferPointer { raw in
            do throws(ParseError) { return .success(try parse(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}

/// The keys the scanner knows, matched on their bytes.
enum ChangeKey {
    case lsn, snapshot, account, client, available, held, total, locked, other
}

struct Scanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var at = 0
    /// Objects and arrays nested deeper than this in a skipped value are refused.
    static let maxDepth = 16

    typealias ParseError = ChangeLine.ParseError

    func fail(_ reason: String) -> ParseError { ParseError(offset: at, reason: reason) }

    mutating func blanks() {
        while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x09 || bytes[at] == 0x0D { at += 1 }
    }

    mutating func expect(_ byte: UInt8) throws(ParseError) {
        blanks()
        guard at < bytes.count, bytes[at] == byte else { throw fail("expected '\(Character(UnicodeScalar(byte)))'") }
        at += 1
    }

    /// `{`: then `nextKey` until it returns nil, reading each value in between.
    mutating func beginObject() throws(ParseError) {
        try expect(UInt8(ascii: "{"))
        blanks()
        if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; objectEnded = true } else { objectEnded = false }
        firstMember = true
    }

    /// Whether the object just begun was `{}`, and whether no member was read yet.
    var objectEnded = false
    var firstMember = true

    /// The next member's key, the scanner left before its value; nil after the closing `}`.
    mutating func nextKey() throws(ParseError) -> ChangeKey? {
        if objectEnded { objectEnded = false; return nil }
        if !firstMember {
            blanks()
            guard at < bytes.count else { throw fail("unterminated object") }
            if bytes[at] == UInt8(ascii: "}") { at += 1; return nil }
            guard bytes[at] == UInt8(ascii: ",") else { throw fail("expected ',' or '}'") }
            at += 1
        }
        firstMember = false
        let key = try self.key()
        try expect(UInt8(ascii: ":"))
        blanks()
        return key
    }

    mutating func key() throws(ParseError) -> ChangeKey {
        let range = try string()
        switch range.count {
        case 3: return matches(range, "lsn") ? .lsn : .other
        case 4: return matches(range, "held") ? .held : .other
        case 5: return matches(range, "total") ? .total : .other
        case 6: return matches(range, "client") ? .client : matches(range, "locked") ? .locked : .other
        case 7: return matches(range, "account") ? .account : .other
        case 8: return matches(range, "snapshot") ? .snapshot : .other
        case 9: return matches(range, "available") ? .available : .other
        default: return .other
        }
    }

    func matches(_ range: Range<Int>, _ word: StaticString) -> Bool {
        let pointer = word.utf8Start
        for index in 0..<word.utf8CodeUnitCount where bytes[range.lowerBound + index] != pointer[index] { return false }
        return true
    }

    /// A string's contents (between the quotes; escapes skipped over, not decoded).
    mutating func string() throws(ParseError) -> Range<Int> {
        try expect(UInt8(ascii: "\""))
        let start = at
        while at < bytes.count {
            let byte = bytes[at]
            if byte == UInt8(ascii: "\"") { at += 1; return start..<at - 1 }
            if byte == UInt8(ascii: "\\") { at += 1 } else if byte < 0x20 { throw fail("control byte in a string") }
            at += 1
        }
        throw fail("unterminated string")
    }

    mutating func unsigned(max: UInt64) throws(ParseError) -> UInt64 {
        let start = at
        var value: UInt64 = 0
        while at < bytes.count, bytes[at] &- 48 < 10 {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(UInt64(bytes[at] &- 48))
            guard !o1, !o2, sum <= max else { throw ParseError(offset: start, reason: "number out of range") }
            value = sum
            at += 1
        }
        guard at > start else { throw fail("expected a number") }
        if at < bytes.count, bytes[at] == UInt8(ascii: ".") || bytes[at] | 0x20 == UInt8(ascii: "e") {
            throw ParseError(offset: start, reason: "expected an integer")
        }
        return value
    }

    mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard at + count <= bytes.count, matches(at..<at + count, word) else { return false }
        at += count
        return true
    }

    mutating func boolean() throws(ParseError) -> Bool {
        if literal("true") { return true }
        if literal("false") { return false }
        throw fail("expected true or false")
    }

    mutating func isNull() -> Bool { literal("null") }

    /// An amount string: `-?DIGITS.DDDD` (the daemon's §3 form), as the range of its text.
    mutating func amount() throws(ParseError) -> Range<Int> {
        let range = try string()
        var index = range.lowerBound
        if index < range.upperBound, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let digits = index
        while index < range.upperBound, bytes[index] &- 48 < 10 { index += 1 }
        let fraction = index + 1
        guard index > digits, index - digits <= 15, index < range.upperBound, bytes[index] == UInt8(ascii: "."),
              range.upperBound - fraction == 4,
              (fraction..<range.upperBound).allSatisfy({ bytes[$0] &- 48 < 10 })
        else { throw ParseError(offset: range.lowerBound, reason: "not an amount with 4 decimals") }
        return range
    }

    mutating func account() throws(ParseError) -> ChangeLine.AccountFields {
        let start = at
        var client: UInt16?, available: Range<Int>?, held: Range<Int>?, total: Range<Int>?, locked: Bool?
        try beginObject()
        while let key = try nextKey() {
            switch key {
            case .client: client = UInt16(try unsigned(max: UInt64(UInt16.max)))
            case .available: available = try amount()
            case .held: held = try amount()
            case .total: total = try amount()
            case .locked: locked = try boolean()
            default: try skipValue(depth: 1)
            }
        }
        guard let client, let available, let held, let total, let locked else {
            throw ParseError(offset: start, reason: "an account without client, available, held, total and locked")
        }
        return .init(client: client, available: available, held: held, total: total, locked: locked)
    }

    /// Skips any JSON value.
    mutating func skipValue(depth: Int) throws(ParseError) {
        blanks()
        guard at < bytes.count else { throw fail("expected a value") }
        switch bytes[at] {
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard depth < Self.maxDepth else { throw fail("nested too deep") }
            if bytes[at] == UInt8(ascii: "{") {
                try beginObject()
                while try nextKey() != nil { try skipValue(depth: depth + 1) }
            } else {
                at += 1
                blanks()
                if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return }
                while true {
                    try skipValue(depth: depth + 1)
                    blanks()
                    guard at < bytes.count else { throw fail("unterminated array") }
                    if bytes[at] == UInt8(ascii: "]") { at += 1; return }
                    guard bytes[at] == UInt8(ascii: ",") else { throw fail("expected ',' or ']'") }
                    at += 1
                }
            }
        case UInt8(ascii: "t"), UInt8(ascii: "f"): _ = try boolean()
        case UInt8(ascii: "n"): guard isNull() else { throw fail("expected a value") }
        default:
            let start = at
            if bytes[at] == UInt8(ascii: "-") { at += 1 }
            while at < bytes.count, bytes[at] &- 48 < 10 || bytes[at] == UInt8(ascii: ".")
                || bytes[at] | 0x20 == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard at > start else { throw fail("expected a value") }
        }
    }

    mutating func end() throws(ParseError) {
        blanks()
        guard at == bytes.count else { throw fail("text after the object") }
    }
}
