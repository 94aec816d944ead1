// Byte-level helpers shared by the HTTP parser, router and renderers. Everything works on
// [UInt8] and index ranges so that the hot path never builds a String.

enum HTTPASCII {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A

    /// `tchar` of RFC 9110 §5.6.2: the bytes allowed in methods and header names.
    @inline(__always)
    static func isTokenChar(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true  // DIGIT, ALPHA
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E:
            true  // ! # $ % & ' * + - . ^ _ ` | ~
        default: false
        }
    }

    @inline(__always)
    static func isWhitespace(_ c: UInt8) -> Bool { c == space || c == tab }

    @inline(__always)
    static func lowercased(_ c: UInt8) -> UInt8 { (c >= 0x41 && c <= 0x5A) ? c | 0x20 : c }

    /// Exact, case-sensitive comparison of `b[r]` with an ASCII literal.
    static func matches<Bytes: RandomAccessCollection<UInt8>>(_ b: Bytes, _ r: Range<Int>, _ literal: StaticString) -> Bool
    where Bytes.Index == Int {
        guard r.count == literal.utf8CodeUnitCount else { return false }
        let p = literal.utf8Start
        var i = 0
        for j in r {
            if b[j] != p[i] { return false }
            i += 1
        }
        return true
    }

    /// Case-insensitive comparison of `b[r]` with a lowercase ASCII literal.
    static func matchesIgnoringCase<Bytes: RandomAccessCollection<UInt8>>(
        _ b: Bytes, _ r: Range<Int>, _ lowercase: StaticString
    ) -> Bool where Bytes.Index == Int {
        guard r.count == lowercase.utf8CodeUnitCount else { return false }
        let p = lowercase.utf8Start
        var i = 0
        for j in r {
            if lowercased(b[j]) != p[i] { return false }
            i += 1
        }
        return true
    }

    /// Whether `b[r]` starts with a lowercase ASCII literal, ignoring case.
    static func hasPrefixIgnoringCase<Bytes: RandomAccessCollection<UInt8>>(
        _ b: Bytes, _ r: Range<Int>, _ lowercase: StaticString
    ) -> Bool where Bytes.Index == Int {
        let n = lowercase.utf8CodeUnitCount
        guard r.count >= n else { return false }
        return matchesIgnoringCase(b, r.lowerBound..<(r.lowerBound + n), lowercase)
    }

    /// `r` without leading and trailing spaces and tabs (OWS of RFC 9110 §5.6.3).
    static func trimmed<Bytes: RandomAccessCollection<UInt8>>(_ b: Bytes, _ r: Range<Int>) -> Range<Int> where Bytes.Index == Int {
        var lo = r.lowerBound
        var hi = r.upperBound
        while lo < hi, isWhitespace(b[lo]) { lo += 1 }
        while hi > lo, isWhitespace(b[hi - 1]) { hi -= 1 }
        return lo..<hi
    }

    /// Calls `body` with each comma-separated element of a header list, trimmed, empty ones
    /// skipped (RFC 9110 §5.6.1).
    static func forEachListElement<Bytes: RandomAccessCollection<UInt8>>(
        _ b: Bytes, _ r: Range<Int>, _ body: (Range<Int>) -> Void
    ) where Bytes.Index == Int {
        var start = r.lowerBound
        for i in r where b[i] == 0x2C {
            let element = trimmed(b, start..<i)
            if !element.isEmpty { body(element) }
            start = i + 1
        }
        let last = trimmed(b, start..<r.upperBound)
        if !last.isEmpty { body(last) }
    }

    /// Appends a literal's bytes: one copy, no String.
    @inline(__always)
    static func append(_ literal: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Appends the decimal digits of `value` without building a String.
    static func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
        if value < 10 {
            out.append(0x30 + UInt8(value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var v = value
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 {
                d[19 - n] = 0x30 + UInt8(v % 10)
                v /= 10
                n += 1
            }
            out.append(contentsOf: d[(20 - n)...])
        }
    }

    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if value < 0 {
            out.append(0x2D)  // "-"
            appendDecimal(UInt64(value.magnitude), to: &out)
        } else {
            appendDecimal(UInt64(value), to: &out)
        }
    }
}
