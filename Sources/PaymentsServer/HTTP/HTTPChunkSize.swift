// The small grammar pieces of chunked transfer coding (RFC 9112 §7.1).

enum HTTPChunkSize {
    /// The size of a chunk-size line `1a2b[ ;ext...]`, or nil if it is not one. Saturates at
    /// `Int.max` so an absurd size is reported as too large (413), not as malformed.
    static func parse(_ b: UnsafeBufferPointer<UInt8>, _ line: Range<Int>) -> Int? {
        var i = line.lowerBound
        var size = 0
        while i < line.upperBound, let digit = hexValue(b[i]) {
            size = size > (Int.max >> 4) ? Int.max : (size << 4) | digit
            i += 1
        }
        guard i > line.lowerBound else { return nil }
        while i < line.upperBound, HTTPASCII.isWhitespace(b[i]) { i += 1 }  // BWS
        guard i == line.upperBound || b[i] == 0x3B else { return nil }  // ";" starts extensions
        for j in i..<line.upperBound {
            let c = b[j]
            guard c >= 0x20 || c == HTTPASCII.tab, c != 0x7F else { return nil }
        }
        return size
    }

    private static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case 0x30...0x39: Int(c - 0x30)
        case 0x41...0x46: Int(c - 0x41 + 10)
        case 0x61...0x66: Int(c - 0x61 + 10)
        default: nil
        }
    }

    /// A trailer line we are about to drop must still look like a field: a name, a colon,
    /// no fold. Garbage there means the framing is off.
    static func isPlausibleField(_ b: UnsafeBufferPointer<UInt8>, _ line: Range<Int>) -> Bool {
        var i = line.lowerBound
        while i < line.upperBound, HTTPASCII.isTokenChar(b[i]) { i += 1 }
        return i > line.lowerBound && i < line.upperBound && b[i] == HTTPASCII.colon
    }
}
