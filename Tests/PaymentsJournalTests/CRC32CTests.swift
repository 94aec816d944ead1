import Testing
@testable import PaymentsJournal

@Suite struct CRC32CTests {
    @Test func knownVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        // RFC 3720 (iSCSI) B.4 test vectors.
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
    }

    /// Both ways of computing it (the `crc32` instruction where the CPU has it, and slicing-by-8)
    /// against the one-byte-at-a-time definition, at every length and alignment.
    @Test func matchesBitwiseDefinition() {
        var rng = SystemRandomNumberGenerator()
        let data = (0..<300).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for start in 0..<9 {
            for end in stride(from: start, through: data.count, by: 7) {
                let slice = Array(data[start..<end])
                #expect(CRC32C.checksum(slice) == bitwise(slice))
                #expect(slice.withUnsafeBytes { CRC32C.portableChecksum($0) } == bitwise(slice))
            }
        }
    }

    @Test func continuingEqualsWhole() {
        let data = Array("The quick brown fox jumps over the lazy dog, twice over.".utf8)
        for split in 0...data.count {
            let head = CRC32C.checksum(Array(data[..<split]))
            let whole = Array(data[split...]).withUnsafeBytes { CRC32C.checksum($0, continuing: head) }
            #expect(whole == CRC32C.checksum(data))
        }
    }

    private func bitwise(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }
}
