import PaymentsPlatform

/// Reads a segment's records in large chunks into one reusable buffer, so replay costs one
/// `pread` per `readChunkBytes` and no allocation per record.
final class SegmentReader {
    /// Bytes per read: large enough that syscalls vanish from the profile, small enough to stay
    /// in memory that is touched anyway (a whole 64 MiB segment would not be).
    static let readChunkBytes = 4 << 20

    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int

    init(capacity: Int = readChunkBytes) {
        self.capacity = capacity
        buffer = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// Where a walk over a segment ended.
    enum Stop: Equatable {
        /// Every byte up to `end` was intact records.
        case clean
        /// The frame at `offset` claims more bytes than the file holds.
        case incomplete(offset: Int)
        /// The frame at `offset` is damaged.
        case corrupt(offset: Int, reason: String)
    }

    /// Walks the records of `fd` in `start..<end`, calling `body` with each payload.
    /// Returns the reason it stopped, the offset after the last intact record and how many
    /// records it saw.
    func walk(
        _ fd: FileDescriptor, from start: Int, to end: Int,
        _ body: (UnsafeRawBufferPointer) -> Void
    ) throws(JournalError) -> (stop: Stop, validEnd: Int, records: UInt64) {
        var chunkStart = start   // file offset of buffer[0]
        var filled = 0           // bytes of the file in the buffer
        var at = 0               // decode position in the buffer
        var records: UInt64 = 0
        while true {
            switch RecordFraming.decode(buffer, at: at, end: filled) {
            case .record(let payload, let next):
                body(payload)
                records += 1
                at = next
            case .corrupt(let reason):
                return (.corrupt(offset: chunkStart + at, reason: reason), chunkStart + at, records)
            case .incomplete:
                if chunkStart + filled >= end {
                    let stop: Stop = at == filled ? .clean : .incomplete(offset: chunkStart + at)
                    return (stop, chunkStart + at, records)
                }
                try refill(fd, chunkStart: &chunkStart, filled: &filled, at: &at, end: end)
            }
        }
    }

    /// Moves the unread tail to the front of the buffer (growing it for an oversized record) and
    /// reads more of the file behind it.
    private func refill(
        _ fd: FileDescriptor, chunkStart: inout Int, filled: inout Int, at: inout Int, end: Int
    ) throws(JournalError) {
        let carry = filled - at
        if carry > 0 { buffer.copyMemory(from: buffer + at, byteCount: carry) }
        chunkStart += at
        filled = carry
        at = 0
        if carry >= RecordFraming.headerBytes {
            let need = RecordFraming.headerBytes + Int(UnsafeRawPointer(buffer).le32(0))
            if need > capacity { grow(to: need) }
        }
        let want = min(capacity - filled, end - (chunkStart + filled))
        let got = try io { () throws(SystemError) in
            try fd.read(into: UnsafeMutableRawBufferPointer(start: buffer + filled, count: want), at: chunkStart + filled)
        }
        if got == 0 {
            throw .damaged(file: fd.label ?? "segment", offset: chunkStart + filled, reason: "file shrank while being read")
        }
        filled += got
    }

    private func grow(to bytes: Int) {
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
        bigger.copyMemory(from: buffer, byteCount: capacity)
        buffer.deallocate()
        buffer = bigger
        capacity = bytes
    }
}

/// Reads `count` bytes at `offset` of `fd` into a new array (headers, damaged tails, snapshots).
func readBytes(_ fd: FileDescriptor, at offset: Int, count: Int) throws(JournalError) -> [UInt8] {
    var failure: SystemError?
    let bytes = [UInt8](unsafeUninitializedCapacity: count) { raw, initialized in
        var done = 0
        while done < count {
            let dest = UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(raw)[done...])
            do throws(SystemError) {
                let n = try fd.read(into: dest, at: offset + done)
                if n == 0 { break }
                done += n
            } catch { failure = error; break }
        }
        initialized = done
    }
    if let failure { throw .system(failure) }
    return bytes
}
