import PaymentsPlatform

extension Journal {
    /// Replays every record after the snapshot (`recovery.snapshotLSN + 1` on), in LSN order.
    public func replay(_ body: (UInt64, UnsafeRawBufferPointer) -> Void) throws(JournalError) {
        try read(from: recovery.snapshotLSN + 1, body)
    }

    /// Calls `body` for each flushed record with LSN >= `lsn`, in order. Reads in large chunks
    /// into one buffer; the payload view is valid only during the call. Appending thread only.
    /// Records are checked again as they are read: damage found now throws `.damaged`.
    public func read(from lsn: UInt64, _ body: (UInt64, UnsafeRawBufferPointer) -> Void) throws(JournalError) {
        let reader = SegmentReader()
        for segment in segments where segment.records > 0 && segment.lastLSN >= lsn {
            try read(segment, from: lsn, reader: reader, body)
        }
    }

    private func read(
        _ segment: Recovery.Segment, from lsn: UInt64, reader: SegmentReader,
        _ body: (UInt64, UnsafeRawBufferPointer) -> Void
    ) throws(JournalError) {
        let file = path(options.directory, segment.name)
        let fd = try io { () throws(SystemError) in try FileDescriptor.open(file, OpenFlags.readOnly) }
        defer { try? fd.close() }
        var next = segment.firstLSN
        let walked = try reader.walk(fd, from: SegmentFormat.headerBytes, to: segment.validEnd) { payload in
            if next >= lsn { body(next, payload) }
            next += 1
        }
        switch walked.stop {
        case .clean: break
        case .incomplete(let offset):
            throw .damaged(file: file, offset: offset, reason: "incomplete record during replay")
        case .corrupt(let offset, let reason):
            throw .damaged(file: file, offset: offset, reason: reason + " during replay")
        }
    }
}
