import PaymentsPlatform

extension Recovery {
    /// Checks every record of every live segment, in LSN order, and that each segment starts
    /// where the previous one ended.
    mutating func scanSegments(_ live: [DirectoryListing.Entry]) throws(JournalError) {
        let reader = SegmentReader()
        var expected = report.snapshotLSN + 1
        for (i, entry) in live.enumerated() {
            let isLast = i == live.count - 1
            if i == 0 ? entry.lsn > expected || entry.lsn == 0 : entry.lsn != expected {
                throw .gap(file: path(directory, entry.name), expectedLSN: expected, foundLSN: entry.lsn)
            }
            guard let segment = try scanSegment(entry, isLast: isLast, reader: reader) else { continue }
            segments.append(segment)
            expected = segment.firstLSN + segment.records
        }
    }

    /// One segment: its header, then its records. Returns nil for a last segment whose header
    /// never made it to disk (a crash while rolling over), which is removed.
    private mutating func scanSegment(
        _ entry: DirectoryListing.Entry, isLast: Bool, reader: SegmentReader
    ) throws(JournalError) -> Segment? {
        let file = path(directory, entry.name)
        let flags = mode == .repair && isLast ? OpenFlags.readWrite : OpenFlags.readOnly
        let fd = try io { () throws(SystemError) in try FileDescriptor.open(file, flags) }
        defer { try? fd.close() }
        let size = try io { () throws(SystemError) in try fd.size() }
        if isLast && size < SegmentFormat.headerBytes {
            try cutHeaderlessSegment(entry, size: size)
            return nil
        }
        let version = try checkHeader(fd, entry: entry, file: file)
        let walked = try reader.walk(fd, from: SegmentFormat.headerBytes, to: size) { _ in }
        switch walked.stop {
        case .clean: break
        case .incomplete(let offset):
            try handleBadTail(fd, file: file, at: offset, size: size, isLast: isLast, reason: "incomplete record")
        case .corrupt(let offset, let reason):
            try handleBadTail(fd, file: file, at: offset, size: size, isLast: isLast, reason: reason)
        }
        return Segment(firstLSN: entry.lsn, name: entry.name, validEnd: walked.validEnd, records: walked.records, version: version)
    }

    /// Checks the header against the file name; returns the segment's format version.
    private func checkHeader(_ fd: FileDescriptor, entry: DirectoryListing.Entry, file: String) throws(JournalError) -> UInt32 {
        let head = try readBytes(fd, at: 0, count: SegmentFormat.headerBytes)
        let (first, version) = try head.withUnsafeBytes { raw in
            Result(catching: { () throws(JournalError) in try SegmentFormat.decodeHeader(raw, file: file) })
        }.get()
        if first != entry.lsn {
            throw .damaged(file: file, offset: 12, reason: "header says first LSN \(first), file name says \(entry.lsn)")
        }
        return version
    }

    private mutating func cutHeaderlessSegment(_ entry: DirectoryListing.Entry, size: Int) throws(JournalError) {
        let file = path(directory, entry.name)
        report.truncatedFile = file
        report.truncatedBytes = size
        report.removedFiles.append(entry.name)
        let verb = mode == .repair ? "removed" : "would remove"
        report.warnings.append("torn tail: \(verb) \(file), \(size) bytes, shorter than a segment header")
        if mode == .repair { try io { () throws(SystemError) in try FileSystem.remove(file) } }
    }

    /// A bad frame is a torn tail only in the last segment and only when no intact record follows
    /// it; then it is cut (repair) or reported (read-only). Anything else is damage.
    private mutating func handleBadTail(
        _ fd: FileDescriptor, file: String, at offset: Int, size: Int, isLast: Bool, reason: String
    ) throws(JournalError) {
        if !isLast {
            throw .damaged(file: file, offset: offset, reason: "\(reason) in a segment that is not the last")
        }
        let rest = try readBytes(fd, at: offset, count: size - offset)
        let followed = rest.withUnsafeBytes { raw in
            RecordFraming.anyValidRecord(raw.baseAddress!, from: 1, end: raw.count)
        }
        if followed {
            throw .damaged(file: file, offset: offset, reason: "\(reason), followed by intact records")
        }
        let cut = size - offset
        report.truncatedFile = file
        report.truncatedBytes = cut
        let verb = mode == .repair ? "cut" : "would cut"
        report.warnings.append("torn tail: \(verb) \(cut) bytes at the end of \(file) (from byte \(offset), \(reason))")
        if mode == .repair {
            try io { () throws(SystemError) in
                try fd.truncate(to: offset)
                try fd.sync()
            }
        }
    }
}
