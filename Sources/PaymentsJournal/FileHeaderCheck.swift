/// The checks segment and snapshot headers share, in the order that names damage best: long
/// enough, the magic (what the file is), the header checksum (stored just after the bytes it
/// covers), then the version (only trusted once the checksum holds).
struct FileHeaderCheck {
    let kind: String
    let magic: [UInt8]
    let headerBytes: Int
    let checksumOffset: Int
    /// The versions this build reads.
    let versions: ClosedRange<UInt32>

    init(kind: String, magic: [UInt8], headerBytes: Int, checksumOffset: Int, version: UInt32) {
        self.init(kind: kind, magic: magic, headerBytes: headerBytes, checksumOffset: checksumOffset, versions: version...version)
    }

    init(kind: String, magic: [UInt8], headerBytes: Int, checksumOffset: Int, versions: ClosedRange<UInt32>) {
        self.kind = kind
        self.magic = magic
        self.headerBytes = headerBytes
        self.checksumOffset = checksumOffset
        self.versions = versions
    }

    /// Throws the first damage found, naming `file` and the byte offset.
    func check(_ raw: UnsafeRawBufferPointer, file: String) throws(JournalError) {
        guard raw.count >= headerBytes else {
            throw .damaged(file: file, offset: raw.count, reason: "\(kind) shorter than its \(headerBytes)-byte header")
        }
        let p = raw.baseAddress!
        for (i, b) in magic.enumerated() where raw[i] != b {
            throw .damaged(file: file, offset: i, reason: "not a \(kind) (bad magic)")
        }
        if CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<checksumOffset])) != p.le32(checksumOffset) {
            throw .damaged(file: file, offset: checksumOffset, reason: "\(kind) header checksum mismatch")
        }
        let v = p.le32(8)
        if !versions.contains(v) {
            let readable = versions.count == 1 ? "\(versions.lowerBound)" : "\(versions.lowerBound) to \(versions.upperBound)"
            throw .damaged(file: file, offset: 8, reason: "unknown \(kind) format version \(v) (this build reads \(readable))")
        }
    }
}
