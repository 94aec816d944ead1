/// PostgreSQL's binary wire format for integers: two's complement, big-endian ("network order"),
/// 2, 4 or 8 bytes for `int2`, `int4`, `int8`.
enum PostgresBinary {
    static func bigEndianBytes<T: FixedWidthInteger & UnsignedInteger>(of value: T) -> [UInt8] {
        let byteCount = T.bitWidth / 8
        return (0..<byteCount).map { index in UInt8(truncatingIfNeeded: value >> ((byteCount - 1 - index) * 8)) }
    }

    /// A signed big-endian integer of 2, 4 or 8 bytes, sign-extended to 64 bits; `nil` for any
    /// other length (the column is not an integer column).
    static func signedInteger(_ bytes: ArraySlice<UInt8>) -> Int64? {
        guard [2, 4, 8].contains(bytes.count) else { return nil }
        var raw: UInt64 = 0
        for byte in bytes { raw = raw << 8 | UInt64(byte) }
        let unusedBits = UInt64(64 - bytes.count * 8)
        // Shift the sign bit up to bit 63 and back down arithmetically to sign-extend.
        return Int64(bitPattern: raw << unusedBits) >> unusedBits
    }
}
