import PaymentsPlatform

extension Journal {
    /// The first record of the oldest segment of the current format: older records were
    /// removed by snapshots, or are in a segment of format 1 (no outcomes to stream).
    public var oldestReadableLSN: UInt64 {
        segments.first(where: { $0.version >= SegmentFormat.firstVersionWithOutcomes })?.firstLSN ?? lastLSN + 1
    }

    public func makeCursor(from lsn: UInt64) -> any JournalCursor { SegmentCursor(journal: self, from: lsn) }
}

/// A cursor over the local journal's segments: one open segment, a read position in it and a
/// small buffer. Placing it at an LSN walks the frames of that segment from its start once;
/// after that each read goes on from where the last stopped, so a follower costs one `pread`
/// per `bufferBytes` of records. A segment removed by a snapshot while it is open stays
/// readable through its descriptor; the next one must still be in the journal's list.
final class SegmentCursor: JournalCursor {
    /// Bytes read per `pread`: records of a few dozen bytes, a few thousand per read.
    static let bufferBytes = 64 << 10

    unowned let journal: Journal
    private(set) var nextLSN: UInt64
    private var fd: FileDescriptor?
    /// The open segment's first LSN, and the LSN of the record at `at` in the buffer.
    private var segmentFirstLSN: UInt64 = 0
    private var positionLSN: UInt64 = 0
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    /// File offset of `buffer[0]`, bytes of the file in the buffer, decode position in it.
    private var chunkStart = 0
    private var filled = 0
    private var at = 0

    init(journal: Journal, from lsn: UInt64) {
        self.journal = journal
        nextLSN = max(lsn, 1)
        capacity = Self.bufferBytes
        buffer = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        close()
        buffer.deallocate()
    }

    func close() {
        try? fd?.close()
        fd = nil
    }

    func read(
        through lsn: UInt64, maxRecords: Int, _ body: (UInt64, UnsafeRawBufferPointer) -> Void
    ) throws(JournalError) -> CursorProgress {
        var count = 0
        // The journal does not change during a read (same thread): its segment is looked up
        // once, and again only when the position passes that segment's last record.
        var current: Recovery.Segment?
        while count < maxRecords && nextLSN <= lsn {
            if current == nil {
                guard let found = try currentSegment() else { return .gone(oldest: journal.oldestReadableLSN) }
                current = found
            }
            switch RecordFraming.decode(buffer, at: at, end: filled) {
            case .record(let payload, let next):
                if positionLSN == nextLSN {
                    body(nextLSN, payload)
                    nextLSN += 1
                    count += 1
                }
                positionLSN += 1
                at = next
                if positionLSN > current!.lastLSN { current = nil }
            case .corrupt(let reason):
                throw .damaged(file: path(journal.options.directory, current!.name), offset: chunkStart + at, reason: reason + " while following")
            case .incomplete:
                guard chunkStart + filled < current!.validEnd else {
                    throw .damaged(file: path(journal.options.directory, current!.name), offset: chunkStart + at,
                                   reason: "record \(positionLSN) missing while following")
                }
                try refill(current!)
            }
        }
        return .records(count)
    }

    /// The segment that holds `nextLSN`, opened and placed at its first record if it was not
    /// open yet; nil when it is no longer kept (or of a format the stream does not serve).
    private func currentSegment() throws(JournalError) -> Recovery.Segment? {
        if fd != nil, let open = journal.segments.last(where: { $0.firstLSN == segmentFirstLSN }) {
            // Past its last record, the next one is in a later segment (the caller reads only
            // what was written); the last segment itself grows in place.
            if positionLSN <= open.lastLSN || journal.segments.last?.firstLSN == open.firstLSN { return open }
        }
        close()
        guard nextLSN >= journal.oldestReadableLSN,
            let segment = journal.segments.last(where: { $0.firstLSN <= nextLSN && $0.records > 0 && nextLSN <= $0.lastLSN })
        else { return nil }
        let file = path(journal.options.directory, segment.name)
        fd = try io { () throws(SystemError) in try FileDescriptor.open(file, OpenFlags.readOnly) }
        segmentFirstLSN = segment.firstLSN
        positionLSN = segment.firstLSN
        chunkStart = SegmentFormat.headerBytes
        filled = 0
        at = 0
        return segment
    }

    /// Moves the unread tail to the front and reads more of the segment behind it.
    private func refill(_ segment: Recovery.Segment) throws(JournalError) {
        let carry = filled - at
        if carry > 0 { buffer.copyMemory(from: buffer + at, byteCount: carry) }
        chunkStart += at
        filled = carry
        at = 0
        if carry >= RecordFraming.headerBytes {
            let need = RecordFraming.headerBytes + Int(UnsafeRawPointer(buffer).le32(0))
            if need > capacity { grow(to: need) }
        }
        let want = min(capacity - filled, segment.validEnd - (chunkStart + filled))
        guard let fd else { return }
        let got = try io { () throws(SystemError) in
            try fd.read(into: UnsafeMutableRawBufferPointer(start: buffer + filled, count: want), at: chunkStart + filled)
        }
        if got == 0 {
            throw .damaged(file: path(journal.options.directory, segment.name), offset: chunkStart + filled,
                           reason: "file shrank while being followed")
        }
        filled += got
    }

    private func grow(to bytes: Int) {
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
        bigger.copyMemory(from: buffer, byteCount: filled)
        buffer.deallocate()
        buffer = bigger
        capacity = bytes
    }
}
