/// How one record sits in a segment:
///
///     offset 0  UInt32 LE  payload length n (0 ... maxRecordBytes)
///     offset 4  UInt32 LE  CRC-32C of bytes 0..<4 (the length) followed by the payload
///     offset 8  n bytes    payload (opaque to the journal)
///
/// The checksum covers the length too, so a flipped bit in a length is caught rather than
/// misframing everything after it; a zero-filled region never checks (CRC-32C of four zero
/// bytes is not zero).
public enum RecordFraming {
    public static let headerBytes = 8
    /// The largest payload one record may carry (16 MiB): bounds buffers, and lets recovery
    /// reject a garbage length without reading past it.
    public static let maxRecordBytes = 16 << 20

    @inline(__always)
    static func checksum(length: UInt32, payload: UnsafeRawBufferPointer) -> UInt32 {
        var le = length.littleEndian
        let head = withUnsafeBytes(of: &le) { CRC32C.checksum($0) }
        return CRC32C.checksum(payload, continuing: head)
    }

    /// Writes the header for the `length` payload bytes already at `frame + headerBytes`.
    @inline(__always)
    public static func seal(_ frame: UnsafeMutableRawPointer, length: Int) {
        let n = UInt32(length)
        let payload = UnsafeRawBufferPointer(start: frame + headerBytes, count: length)
        frame.putLE32(n, 0)
        frame.putLE32(checksum(length: n, payload: payload), 4)
    }

    /// What is at `offset` of a segment image of `end` bytes.
    enum Decoded {
        case record(payload: UnsafeRawBufferPointer, next: Int)
        /// Fewer bytes left than the frame claims (or than a header).
        case incomplete
        /// Length out of range or checksum mismatch.
        case corrupt(String)
    }

    @inline(__always)
    static func decode(_ base: UnsafeRawPointer, at offset: Int, end: Int) -> Decoded {
        if end - offset < headerBytes { return .incomplete }
        let n = base.le32(offset)
        if Int(n) > maxRecordBytes { return .corrupt("record length \(n) exceeds the limit \(maxRecordBytes)") }
        let next = offset + headerBytes + Int(n)
        if next > end { return .incomplete }
        let payload = UnsafeRawBufferPointer(start: base + offset + headerBytes, count: Int(n))
        if checksum(length: n, payload: payload) != base.le32(offset + 4) {
            return .corrupt("record checksum mismatch")
        }
        return .record(payload: payload, next: next)
    }

    /// Whether any intact record starts anywhere in `from..<end`: tells a torn tail (nothing valid
    /// after the bad spot) from damage in the middle (good records after a bad one).
    static func anyValidRecord(_ base: UnsafeRawPointer, from: Int, end: Int) -> Bool {
        var at = from
        while at + headerBytes <= end {
            if case .record = decode(base, at: at, end: end) { return true }
            at += 1
        }
        return false
    }
}

extension RecordFraming {
    /// Walks the framed records of one stored batch (a PostgreSQL row holds the same frames as a
    /// segment file), checking each: the payloads in order, or where and why the bytes are damaged.
    public static func forEach(
        in batch: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Bool
    ) -> (records: Int, damage: (offset: Int, reason: String)?) {
        guard let base = batch.baseAddress else { return (0, nil) }
        var offset = 0, records = 0
        while offset < batch.count {
            switch decode(base, at: offset, end: batch.count) {
            case .record(let payload, let next):
                guard body(payload) else { return (records, nil) }
                records += 1
                offset = next
            case .incomplete: return (records, (offset, "incomplete record"))
            case .corrupt(let reason): return (records, (offset, reason))
            }
        }
        return (records, nil)
    }
}
