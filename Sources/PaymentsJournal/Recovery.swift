import PaymentsPlatform

/// Works out what a data directory holds: the newest snapshot, the segments after it, a torn
/// tail. In `.repair` mode it also fixes what may be fixed (cuts the torn tail, removes leftovers);
/// in `.readOnly` mode it changes nothing and only says what it would do.
///
/// Damage that could mean lost acknowledged data is never repaired: it throws, naming the file
/// and byte offset.
struct Recovery {
    enum Mode { case repair, readOnly }

    /// One segment that replay reads: where its intact records end and how many there are.
    struct Segment {
        var firstLSN: UInt64
        var name: String
        var validEnd: Int
        var records: UInt64
        /// The segment's format version (`SegmentFormat.version` for the ones this build creates).
        var version: UInt32 = SegmentFormat.version
        var lastLSN: UInt64 { firstLSN + records - 1 }
    }

    let directory: String
    let mode: Mode
    var report = RecoveryReport()
    var segments: [Segment] = []
    /// The newest snapshot's payload, read and checked (only when asked for).
    var snapshotPayload: [UInt8]?
    /// Damaged snapshots passed over: renamed `.damaged` once the chain after the one chosen checks.
    var setAside: [String] = []

    init(directory: String, mode: Mode) {
        self.directory = directory
        self.mode = mode
    }

    mutating func run(loadSnapshot: Bool) throws(JournalError) {
        let listing = try DirectoryListing(directory: directory)
        try removeTempSnapshots(listing.tempSnapshots)
        let damage = try chooseSnapshot(listing, keepPayload: loadSnapshot)
        let live = try dropCoveredSegments(listing.segments)
        do {
            try scanSegments(live)
        } catch .gap(_, let expected, _) where damage != nil && expected == report.snapshotLSN + 1 {
            // No chain of journal after an older snapshot: the newest one was needed.
            throw damage!
        }
        if mode == .repair {
            for file in setAside {
                try io { () throws(SystemError) in try FileSystem.rename(file, to: file + ".damaged") }
            }
        }
        if let last = segments.last { report.lastLSN = max(last.lastLSN, report.snapshotLSN) }
        else { report.lastLSN = report.snapshotLSN }
        report.segmentFiles = segments.map(\.name)
    }

    private mutating func removeTempSnapshots(_ names: [String]) throws(JournalError) {
        for name in names {
            report.warnings.append("ignoring unfinished snapshot \(path(directory, name))")
        }
        try removeFiles(names, why: nil)
    }

    private mutating func removeFiles(_ names: [String], why: String?) throws(JournalError) {
        for name in names {
            report.removedFiles.append(name)
            if let why { report.warnings.append("removing \(why) \(path(directory, name))") }
            if mode == .repair {
                try io { () throws(SystemError) in try FileSystem.remove(path(directory, name)) }
            }
        }
    }

    /// The newest snapshot that checks, falling back to the previous one (then to none) when
    /// the newest is damaged; the journal after the one chosen must then be complete, which
    /// `scanSegments` checks. A damaged snapshot passed over is set aside as `.damaged` (never
    /// deleted: an operator may want it) so the next start does not trip on it again. Returns
    /// the damage passed over, for the error when no chain remains.
    private mutating func chooseSnapshot(_ listing: DirectoryListing, keepPayload: Bool) throws(JournalError) -> JournalError? {
        var firstDamage: JournalError?
        for (index, candidate) in listing.snapshots.enumerated().reversed() {
            do {
                try checkSnapshot(candidate, keepPayload: keepPayload)
            } catch .damaged(let file, let offset, let reason) {
                let error = JournalError.damaged(file: file, offset: offset, reason: reason)
                if firstDamage == nil { firstDamage = error }
                report.fellBackFrom.append(file)
                report.warnings.append("snapshot \(file) is damaged at byte \(offset) (\(reason)): trying the one before it")
                setAside.append(file)
                continue
            }
            // Kept: the one chosen and the one before it (§5: the two newest); older ones go.
            let older = listing.snapshots[..<max(0, index - 1)].map(\.name)
            try removeFiles(older, why: "superseded snapshot")
            report.previousSnapshotLSN = index > 0 ? listing.snapshots[index - 1].lsn : nil
            return firstDamage
        }
        return firstDamage
    }

    /// The snapshot of `lsn` alone, read and checked (no segment is scanned).
    mutating func loadSnapshot(lsn: UInt64) throws(JournalError) {
        let listing = try DirectoryListing(directory: directory)
        guard let entry = listing.snapshots.first(where: { $0.lsn == lsn }) else {
            throw .gap(file: path(directory, SnapshotFormat.fileName(lsn: lsn)), expectedLSN: lsn, foundLSN: 0)
        }
        try checkSnapshot(entry, keepPayload: true)
    }

    /// Reads the snapshot whole and checks its header and payload checksum.
    private mutating func checkSnapshot(_ entry: DirectoryListing.Entry, keepPayload: Bool) throws(JournalError) {
        let file = path(directory, entry.name)
        let fd = try io { () throws(SystemError) in try FileDescriptor.open(file, OpenFlags.readOnly) }
        defer { try? fd.close() }
        let size = try io { () throws(SystemError) in try fd.size() }
        let head = try readBytes(fd, at: 0, count: min(size, SnapshotFormat.headerBytes))
        let header = try head.withUnsafeBytes { raw in
            Result(catching: { () throws(JournalError) in
                try SnapshotFormat.decodeHeader(raw, file: file, fileBytes: size, nameLSN: entry.lsn)
            })
        }.get()
        let payload = try readBytes(fd, at: SnapshotFormat.headerBytes, count: header.payloadBytes)
        if payload.count != header.payloadBytes || CRC32C.checksum(payload) != header.payloadCRC {
            throw .damaged(file: file, offset: SnapshotFormat.headerBytes, reason: "snapshot payload checksum mismatch")
        }
        report.snapshotLSN = header.lsn
        report.snapshotFile = file
        report.snapshotPayloadBytes = header.payloadBytes
        if keepPayload { snapshotPayload = payload }
    }

    /// Segments whose every record is in the older of the two kept snapshots (the next segment
    /// starts at or before its LSN + 1) are not needed: a crash interrupted their removal.
    /// Removes them; the ones after it stay, so that a damaged newest snapshot can be passed over.
    private mutating func dropCoveredSegments(_ all: [DirectoryListing.Entry]) throws(JournalError) -> [DirectoryListing.Entry] {
        let keepAfter = report.previousSnapshotLSN ?? report.snapshotLSN
        var covered = 0
        while covered + 1 < all.count && all[covered + 1].lsn <= keepAfter + 1 { covered += 1 }
        try removeFiles(all[..<covered].map(\.name), why: "segment covered by the snapshot")
        return Array(all[covered...])
    }
}
