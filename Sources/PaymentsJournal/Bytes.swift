/// Little-endian loads and stores at byte offsets: every integer on disk is little-endian and
/// unaligned, so the format is the same whatever the host.
extension UnsafeRawPointer {
    @inline(__always) func le32(_ at: Int) -> UInt32 { UInt32(littleEndian: loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    @inline(__always) func le64(_ at: Int) -> UInt64 { UInt64(littleEndian: loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
}

extension UnsafeMutableRawPointer {
    @inline(__always) func putLE32(_ v: UInt32, _ at: Int) { storeBytes(of: v.littleEndian, toByteOffset: at, as: UInt32.self) }
    @inline(__always) func putLE64(_ v: UInt64, _ at: Int) { storeBytes(of: v.littleEndian, toByteOffset: at, as: UInt64.self) }
}

/// Sixteen lowercase hex digits, the LSN part of file names (sorts like the number).
func hex16(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}

/// Parses `prefix<16 hex>suffix`; nil for any other name.
func parseHexName(_ name: String, prefix: String, suffix: String) -> UInt64? {
    guard name.hasPrefix(prefix), name.hasSuffix(suffix),
          name.utf8.count == prefix.utf8.count + 16 + suffix.utf8.count else { return nil }
    let digits = name.dropFirst(prefix.count).dropLast(suffix.count)
    guard digits.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
    return UInt64(digits, radix: 16)
}
