import PaymentsCore

/// Exact conversion between amount text and `Amount`, byte by byte. No floating point.
public enum AmountText {
    /// Parses §1 amount text: optional spaces or tabs, digits with an optional point and at most
    /// four fraction digits (`1`, `1.`, `1.5`, `.5`, `0001.2500`). Leading zeros are fine; a sign,
    /// an exponent, a fifth fraction digit, no digit at all, or a value beyond `Int64` are refused.
    public static func parse(_ text: UnsafeRawBufferPointer) -> Result<Amount, AmountError> {
        var i = 0, end = text.count
        while i < end, text[i] == 0x20 || text[i] == 0x09 { i += 1 }
        while end > i, text[end - 1] == 0x20 || text[end - 1] == 0x09 { end -= 1 }
        var whole: UInt64 = 0
        var digits = 0
        while i < end, case let d = text[i] &- 0x30, d < 10 {
            // 922337203685477 is the largest whole part of an Int64 count of ten-thousandths.
            whole = whole &* 10 &+ UInt64(d)
            if whole > 922_337_203_685_477 { return .failure(.tooLarge) }
            digits += 1
            i += 1
        }
        var fraction: UInt64 = 0
        var fractionDigits = 0
        if i < end, text[i] == UInt8(ascii: ".") {
            i += 1
            while i < end, case let d = text[i] &- 0x30, d < 10 {
                if fractionDigits == Amount.fractionDigits { return .failure(.tooManyFractionDigits) }
                fraction = fraction &* 10 &+ UInt64(d)
                fractionDigits += 1
                i += 1
            }
        }
        if i < end { return .failure(refusal(text[i])) }
        if digits + fractionDigits == 0 { return .failure(.noDigits) }
        for _ in fractionDigits..<Amount.fractionDigits { fraction &*= 10 }
        let units = whole &* UInt64(Amount.unitsPerWhole) &+ fraction
        if units > UInt64(Int64.max) { return .failure(.tooLarge) }
        return .success(Amount(units: Int64(units)))
    }

    /// Parses amount text held in a `String` (tests, arguments).
    public static func parse(_ text: String) -> Result<Amount, AmountError> {
        var copy = text
        return copy.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    static func refusal(_ byte: UInt8) -> AmountError {
        switch byte {
        case UInt8(ascii: "+"), UInt8(ascii: "-"): .sign
        case UInt8(ascii: "e"), UInt8(ascii: "E"): .exponent
        default: .invalidCharacter
        }
    }

    /// Appends `amount` with exactly four decimals (`1.5000`, `-0.2500`).
    public static func append(_ amount: Amount, to out: inout [UInt8]) {
        let negative = amount.units < 0
        let magnitude = amount.units.magnitude
        if negative { out.append(UInt8(ascii: "-")) }
        appendDecimal(magnitude / UInt64(Amount.unitsPerWhole), to: &out)
        out.append(UInt8(ascii: "."))
        let fraction = magnitude % UInt64(Amount.unitsPerWhole)
        out.append(0x30 + UInt8(fraction / 1000))
        out.append(0x30 + UInt8(fraction / 100 % 10))
        out.append(0x30 + UInt8(fraction / 10 % 10))
        out.append(0x30 + UInt8(fraction % 10))
    }

    /// The four-decimal text of `amount`.
    public static func format(_ amount: Amount) -> String {
        var bytes: [UInt8] = []
        append(amount, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends an unsigned integer in decimal.
    public static func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor &*= 10 }
        while divisor > 0 {
            out.append(0x30 + UInt8(value / divisor % 10))
            divisor /= 10
        }
    }
}
