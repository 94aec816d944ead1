import CPaymentsLinux

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every journal record,
/// segment header and snapshot. Castagnoli rather than the zlib CRC-32 because it detects more
/// error patterns at these lengths and is what storage formats (iSCSI, ext4, RocksDB) use.
///
/// On x86-64 with SSE4.2 the CPU's `crc32` instruction computes it (about ten times the table's
/// speed: snapshots of hundreds of MiB are checksummed on every write and every start).
/// Elsewhere, slicing-by-8: eight 256-entry tables let the loop consume eight bytes per step
/// with eight independent lookups instead of one dependent lookup per byte.
public enum CRC32C {
    /// Whether `checksum` uses the `crc32` instruction on this machine.
    public static let usesHardware = cpl_crc32c_hardware_available() == 1

    /// 8 tables × 256 entries, table `k` advancing a byte through `k` further zero bytes.
    nonisolated(unsafe) private static let tables: UnsafeMutablePointer<UInt32> = makeTables()

    private static func makeTables() -> UnsafeMutablePointer<UInt32> {
        let t = UnsafeMutablePointer<UInt32>.allocate(capacity: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let prev = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (prev >> 8) ^ t[Int(prev & 0xFF)]
            }
        }
        return t
    }

    /// The checksum of `bytes`, continuing from `crc` (the result of an earlier call) so a
    /// record's length field and payload can be checksummed without copying them together.
    @inline(__always)
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        if usesHardware { return cpl_crc32c_hardware(~crc, base, bytes.count) ^ 0xFFFF_FFFF }
        return update(~crc, base, bytes.count, tables) ^ 0xFFFF_FFFF
    }

    /// The table-driven computation, whatever the CPU (tests compare it with the hardware's).
    public static func portableChecksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress else { return crc }
        return update(~crc, base, bytes.count, tables) ^ 0xFFFF_FFFF
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    private static func update(
        _ start: UInt32, _ base: UnsafeRawPointer, _ count: Int, _ t: UnsafeMutablePointer<UInt32>
    ) -> UInt32 {
        var crc = start
        var p = base
        var n = count
        while n >= 8 {
            let word = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) ^ UInt64(crc)
            crc = t[7 * 256 + Int(word & 0xFF)] ^ t[6 * 256 + Int((word >> 8) & 0xFF)]
                ^ t[5 * 256 + Int((word >> 16) & 0xFF)] ^ t[4 * 256 + Int((word >> 24) & 0xFF)]
                ^ t[3 * 256 + Int((word >> 32) & 0xFF)] ^ t[2 * 256 + Int((word >> 40) & 0xFF)]
                ^ t[1 * 256 + Int((word >> 48) & 0xFF)] ^ t[Int(word >> 56)]
            p += 8
            n -= 8
        }
        while n > 0 {
            crc = (crc >> 8) ^ t[Int((crc ^ UInt32(p.load(as: UInt8.self))) & 0xFF)]
            p += 1
            n -= 1
        }
        return crc
    }
}
