import PaymentsCore

/// Text written straight into memory the caller reserved, for the lines rendered by the
/// million (the change stream, §10): no array growth, no `String`, no division per digit.
///
/// Each function writes at `p` and returns the first byte after what it wrote; the caller
/// guarantees the room (`ChangeText.maxLineBytes` per line). Amounts stay exact: `Int64`
/// ten-thousandths split into whole and fraction with integer arithmetic only.
public enum RawText {
    /// "00", "01", ... "99": two digits per lookup.
    @usableFromInline static var digitPairs: StaticString {
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
    }

    /// The longest `decimal` output (`UInt64.max` has 20 digits).
    public static let maxDecimalBytes = 20
    /// The longest `amount` output: a sign, 15 whole digits, the point and four decimals.
    public static let maxAmountBytes = 21

    /// Copies a constant fragment (`{"lsn":`, `","held":"`).
    @inlinable @inline(__always)
    public static func put(_ s: StaticString, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        let n = s.utf8CodeUnitCount
        p.update(from: s.utf8Start, count: n)
        return p + n
    }

    @inlinable @inline(__always)
    public static func put(_ byte: UInt8, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        p.pointee = byte
        return p + 1
    }

    /// How many decimal digits `value` has (1 for 0): a few comparisons for the numbers a line
    /// holds (LSNs, ids, whole amounts below 10^8), a loop past that.
    @inlinable @inline(__always)
    static func digitCount(_ value: UInt64) -> Int {
        if value < 100_000_000 {
            if value < 10_000 { return value < 100 ? (value < 10 ? 1 : 2) : (value < 1_000 ? 3 : 4) }
            return value < 1_000_000 ? (value < 100_000 ? 5 : 6) : (value < 10_000_000 ? 7 : 8)
        }
        var n = 9
        var bound: UInt64 = 1_000_000_000
        while n < 20 && value >= bound {
            n += 1
            bound &*= 10
        }
        return n
    }

    /// The two digits of `n` (0...99) as they lie in memory.
    @inlinable @inline(__always)
    static func pair(_ n: UInt64) -> UInt16 {
        UnsafeRawPointer(digitPairs.utf8Start + Int(truncatingIfNeeded: n &* 2)).loadUnaligned(as: UInt16.self)
    }

    /// Writes `value` in decimal, the last two digits first, two per step (no checked
    /// arithmetic: every operand is in range by construction).
    @inlinable
    public static func decimal(_ value: UInt64, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        let end = p + digitCount(value)
        var q = UnsafeMutableRawPointer(end)
        var v = value
        while v >= 100 {
            let r = v % 100
            v /= 100
            q -= 2
            q.storeBytes(of: pair(r), as: UInt16.self)
        }
        if v >= 10 {
            (q - 2).storeBytes(of: pair(v), as: UInt16.self)
        } else {
            (q - 1).storeBytes(of: 0x30 &+ UInt8(truncatingIfNeeded: v), as: UInt8.self)
        }
        return end
    }

    /// Writes `amount` with exactly four decimals (`1.5000`, `-0.2500`), as `AmountText` does.
    @inlinable
    public static func amount(_ amount: Amount, at p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var p = p
        if amount.units < 0 { p = put(UInt8(ascii: "-"), at: p) }
        let magnitude = amount.units.magnitude
        let unitsPerWhole = UInt64(Amount.unitsPerWhole)
        p = decimal(magnitude / unitsPerWhole, at: p)
        let fraction = magnitude % unitsPerWhole
        p[0] = UInt8(ascii: ".")
        let raw = UnsafeMutableRawPointer(p + 1)
        raw.storeBytes(of: pair(fraction / 100), as: UInt16.self)
        (raw + 2).storeBytes(of: pair(fraction % 100), as: UInt16.self)
        return p + 5
    }
}

extension Array where Element == UInt8 {
    /// Appends what `render` writes into at most `maxBytes` of scratch memory.
    @inlinable
    mutating func appendRendered(
        maxBytes: Int, _ render: (UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8>
    ) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxBytes) { scratch in
            let start = scratch.baseAddress!
            let end = render(start)
            precondition(end - start <= maxBytes, "rendered past the room reserved")
            append(contentsOf: UnsafeBufferPointer(start: start, count: end - start))
        }
    }
}
