/// A snapshot file, `snapshot-<LSN as 16 hex digits>.snap`, holds the engine state after applying
/// every record up to and including that LSN:
///
///     offset  0  8 bytes    magic "PAYSNAP\0"
///     offset  8  UInt32 LE  format version (1)
///     offset 12  UInt32 LE  reserved, 0
///     offset 16  UInt64 LE  LSN the snapshot covers
///     offset 24  UInt64 LE  payload length n
///     offset 32  UInt32 LE  CRC-32C of the payload
///     offset 36  UInt32 LE  CRC-32C of bytes 0..<36
///     offset 40  n bytes    payload (opaque: the engine's snapshot codec)
///
/// It is written as `….snap.tmp`, synced, then renamed, so a `.snap` name is only ever seen on a
/// complete file; a leftover `.tmp` is a snapshot that never happened.
enum SnapshotFormat {
    static let headerBytes = 40
    static let magic: [UInt8] = Array("PAYSNAP\0".utf8)
    static let version: UInt32 = 1
    static let headerCheck = FileHeaderCheck(
        kind: "snapshot", magic: magic, headerBytes: headerBytes, checksumOffset: 36, version: version)
    static let filePrefix = "snapshot-"
    static let fileSuffix = ".snap"
    static let tempSuffix = ".snap.tmp"

    static func fileName(lsn: UInt64) -> String { filePrefix + hex16(lsn) + fileSuffix }
    static func tempName(lsn: UInt64) -> String { filePrefix + hex16(lsn) + tempSuffix }
    static func lsn(fromName name: String) -> UInt64? { parseHexName(name, prefix: filePrefix, suffix: fileSuffix) }
    static func isTemp(_ name: String) -> Bool { name.hasPrefix(filePrefix) && name.hasSuffix(tempSuffix) }

    static func encodeHeader(lsn: UInt64, payload: UnsafeRawBufferPointer) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: headerBytes)
        h.withUnsafeMutableBytes { raw in
            let p = raw.baseAddress!
            for (i, b) in magic.enumerated() { raw[i] = b }
            p.putLE32(version, 8)
            p.putLE64(lsn, 16)
            p.putLE64(UInt64(payload.count), 24)
            p.putLE32(CRC32C.checksum(payload), 32)
            p.putLE32(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<36])), 36)
        }
        return h
    }

    struct Header {
        var lsn: UInt64
        var payloadBytes: Int
        var payloadCRC: UInt32
    }

    /// Checks a header image against the file's name and size; throws the damage, naming `file`.
    static func decodeHeader(
        _ raw: UnsafeRawBufferPointer, file: String, fileBytes: Int, nameLSN: UInt64
    ) throws(JournalError) -> Header {
        try headerCheck.check(raw, file: file)
        let p = raw.baseAddress!
        let h = Header(lsn: p.le64(16), payloadBytes: Int(truncatingIfNeeded: p.le64(24)), payloadCRC: p.le32(32))
        if h.lsn != nameLSN {
            throw .damaged(file: file, offset: 16, reason: "snapshot LSN \(h.lsn) does not match its file name")
        }
        if h.payloadBytes < 0 || headerBytes + h.payloadBytes != fileBytes {
            throw .damaged(file: file, offset: min(fileBytes, headerBytes + max(h.payloadBytes, 0)),
                           reason: "snapshot is \(fileBytes) bytes, its header says \(headerBytes + h.payloadBytes)")
        }
        return h
    }
}
