/// A segment file, `journal-<first LSN as 16 hex digits>.seg`, starts with a 24-byte header:
///
///     offset  0  8 bytes    magic "PAYJRNL\0"
///     offset  8  UInt32 LE  format version (2; 1 is still read)
///     offset 12  UInt64 LE  LSN of the first record in the file
///     offset 20  UInt32 LE  CRC-32C of bytes 0..<20
///
/// followed by records (see `RecordFraming`) back to back up to the end of the file. The file name
/// repeats the first LSN so a directory listing orders segments without opening them; the header
/// copy is what counts, and the two must agree.
///
/// Version 2 segments hold transaction records with their outcome and the account after them
/// (`TransactionRecord` version 2); version 1 segments hold the older, shorter records. Both are
/// replayed; the change stream serves version 2 segments only, and a journal whose last segment
/// is of version 1 starts a new segment at open, so that no segment mixes the two. An older
/// build refuses a version 2 segment at start with a message naming it.
enum SegmentFormat {
    static let headerBytes = 24
    static let magic: [UInt8] = Array("PAYJRNL\0".utf8)
    static let version: UInt32 = 2
    /// The first version whose records carry outcomes (what the change stream serves).
    static let firstVersionWithOutcomes: UInt32 = 2
    static let headerCheck = FileHeaderCheck(
        kind: "journal segment", magic: magic, headerBytes: headerBytes, checksumOffset: 20, versions: 1...version)
    static let filePrefix = "journal-"
    static let fileSuffix = ".seg"

    static func fileName(firstLSN: UInt64) -> String { filePrefix + hex16(firstLSN) + fileSuffix }

    static func firstLSN(fromName name: String) -> UInt64? {
        parseHexName(name, prefix: filePrefix, suffix: fileSuffix)
    }

    static func encodeHeader(firstLSN: UInt64) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: headerBytes)
        h.withUnsafeMutableBytes { raw in
            let p = raw.baseAddress!
            for (i, b) in magic.enumerated() { raw[i] = b }
            p.putLE32(version, 8)
            p.putLE64(firstLSN, 12)
            p.putLE32(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<20])), 20)
        }
        return h
    }

    /// Checks a header image; returns its first LSN and version or the damage found, naming `file`.
    static func decodeHeader(_ raw: UnsafeRawBufferPointer, file: String) throws(JournalError) -> (firstLSN: UInt64, version: UInt32) {
        try headerCheck.check(raw, file: file)
        return (raw.baseAddress!.le64(12), raw.baseAddress!.le32(8))
    }
}
