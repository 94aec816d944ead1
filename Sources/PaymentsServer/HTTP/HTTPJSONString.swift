// JSON string escaping (RFC 8259 §7) for the bodies this layer renders itself: the error
// objects. The engine's JSON is rendered by the formats layer.

enum HTTPJSONString {
    /// Appends `"text"` with quotes, backslashes and control characters escaped. Bytes ≥ 0x80
    /// pass through: the input is a Swift String, so they are valid UTF-8.
    static func append(_ text: some StringProtocol, to out: inout [UInt8]) {
        out.append(0x22)
        for c in text.utf8 {
            switch c {
            case 0x22: out.append(0x5C); out.append(0x22)  // \"
            case 0x5C: out.append(0x5C); out.append(0x5C)  // \\
            case 0x0A: out.append(0x5C); out.append(0x6E)  // \n
            case 0x0D: out.append(0x5C); out.append(0x72)  // \r
            case 0x09: out.append(0x5C); out.append(0x74)  // \t
            case 0x08: out.append(0x5C); out.append(0x62)  // \b
            case 0x0C: out.append(0x5C); out.append(0x66)  // \f
            case 0x00..<0x20:
                HTTPASCII.append("\\u00", to: &out)
                out.append(hexDigit(c >> 4))
                out.append(hexDigit(c & 0x0F))
            default: out.append(c)
            }
        }
        out.append(0x22)
    }

    /// Bytes `append` would write, so a Content-Length can precede the body without rendering
    /// it twice.
    static func encodedCount(_ text: some StringProtocol) -> Int {
        var n = 2
        for c in text.utf8 {
            switch c {
            case 0x22, 0x5C, 0x0A, 0x0D, 0x09, 0x08, 0x0C: n += 2
            case 0x00..<0x20: n += 6
            default: n += 1
            }
        }
        return n
    }

    private static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x61 + v - 10 }
}
