import PaymentsPlatform

/// The local write-ahead journal: segment files in one directory, appended by one thread (the
/// event loop), synced by any thread (usually a `GroupCommitter`).
///
/// Opening it runs recovery (see `Recovery`); the caller then takes `snapshotPayload`, replays
/// `replay(_:)` into its state, and appends.
public final class Journal: DurableStore, @unchecked Sendable {
    public let options: JournalOptions
    /// What recovery found and did, for the start-up log.
    public let recovery: RecoveryReport

    // Appending thread only.
    private var writeBuffer: UnsafeMutableRawPointer
    private var writeBufferCapacity: Int
    private var buffered = 0
    private var appendFailure: JournalError?
    private var currentBytes: Int
    private(set) var currentFD: FileDescriptor
    /// Segments replay reads, oldest first; the last is the one being appended to.
    var segments: [Recovery.Segment]
    public private(set) var lastLSN: UInt64
    /// Record bytes not covered by the newest snapshot, those replayed at open included, so that
    /// the journal to replay stays bounded however often the daemon is killed.
    private var bytesSinceSnapshot = 0
    private var retrySnapshotAtBytes = 0
    /// The newest snapshot on disk (recovered or written since).
    public internal(set) var snapshotLSN: UInt64
    private var snapshotPayloadTaken: [UInt8]?
    private let lockFile: FileDescriptor

    // Shared with the syncing thread.
    let stateLock = PthreadMutex()
    var state = SyncState()
    /// One sync at a time: a second caller waits and then usually finds nothing left to do.
    private let syncSerial = PthreadMutex()

    /// Opens (creating if needed) the journal in `options.directory`, recovering what is there.
    /// Throws on damage that recovery must not repair, and `.locked` if another process has it.
    public static func open(_ options: JournalOptions) throws(JournalError) -> Journal {
        try makeDataDirectory(options.directory)
        let lock = try lockDirectory(options.directory)
        do {
            var recovery = Recovery(directory: options.directory, mode: .repair)
            try recovery.run(loadSnapshot: true)
            try syncRecovered(recovery.segments, in: options.directory)
            return try Journal(options: options, recovery: recovery, lockFile: lock)
        } catch {
            try? lock.close()
            throw error
        }
    }

    /// What recovery read may still be only in the page cache (the previous process died before
    /// its sync): make it durable before new records are appended after it, so a power loss
    /// cannot take an older segment and leave a newer one. Cheap when it is already clean.
    private static func syncRecovered(_ segments: [Recovery.Segment], in directory: String) throws(JournalError) {
        try io { () throws(SystemError) in
            for segment in segments {
                let fd = try FileDescriptor.open(path(directory, segment.name), OpenFlags.readOnly)
                defer { try? fd.close() }
                try fd.dataSync()
            }
            try FileSystem.syncDirectory(directory)
        }
    }

    /// Creates the data directory if missing, and syncs its parent so the new directory itself
    /// survives a power loss along with the records later synced inside it.
    private static func makeDataDirectory(_ directory: String) throws(JournalError) {
        if FileSystem.isDirectory(directory) { return }
        try io { () throws(SystemError) in
            try FileSystem.makeDirectory(directory)
            var parent = String(directory.reversed().drop { $0 == "/" }.drop { $0 != "/" }.reversed())
            if parent.isEmpty { parent = directory.hasPrefix("/") ? "/" : "." }
            try FileSystem.syncDirectory(parent)
        }
    }

    /// Takes `LOCK` so that two processes never append to the same journal.
    private static func lockDirectory(_ directory: String) throws(JournalError) -> FileDescriptor {
        let file = path(directory, DirectoryListing.lockFileName)
        let fd = try io { () throws(SystemError) in try FileDescriptor.open(file, OpenFlags.readWrite | OpenFlags.create) }
        // A lock can outlive its process by a moment: a process that is exiting, or a child
        // spawned by any process that held it open and not yet at its exec, keeps a copy of the
        // descriptor. Half a second of retries tells that from a second daemon, which holds it.
        let deadline = MonotonicClock.nanoseconds() + 500_000_000
        while true {
            let locked: Bool
            do { locked = try fd.tryLockExclusive() } catch { try? fd.close(); throw .system(error) }
            if locked { return fd }
            if MonotonicClock.nanoseconds() >= deadline { try? fd.close(); throw .locked(directory: directory) }
            MonotonicClock.sleep(nanoseconds: 10_000_000)
        }
    }

    private init(options: JournalOptions, recovery: Recovery, lockFile: FileDescriptor) throws(JournalError) {
        self.options = options
        self.recovery = recovery.report
        self.lockFile = lockFile
        snapshotPayloadTaken = recovery.snapshotPayload
        writeBufferCapacity = max(options.writeBufferBytes, RecordFraming.headerBytes)
        writeBuffer = .allocate(byteCount: writeBufferCapacity, alignment: 16)
        lastLSN = recovery.report.lastLSN
        snapshotLSN = recovery.report.snapshotLSN
        segments = recovery.segments
        // A last segment of an older format is not appended to: records of the current format
        // go to a new segment, so that no segment mixes two record formats.
        if let last = segments.last, last.lastLSN >= recovery.report.snapshotLSN, last.version == SegmentFormat.version {
            currentFD = try Self.reopen(path(options.directory, last.name), at: last.validEnd)
            currentBytes = last.validEnd
        } else {
            // No segment, every record is in the snapshot, or the last segment is of an older
            // format: start afresh after it (the older segment stays, for replay).
            if segments.last.map({ $0.lastLSN < recovery.report.snapshotLSN }) ?? true { segments = [] }
            if let last = segments.last, last.records == 0 {
                // An empty segment of the older format has the name the new one takes.
                try io { () throws(SystemError) in try FileSystem.remove(path(options.directory, last.name)) }
                segments.removeLast()
            }
            (currentFD, currentBytes) = try Self.createSegment(options.directory, firstLSN: lastLSN + 1)
            segments.append(Recovery.Segment(firstLSN: lastLSN + 1, name: SegmentFormat.fileName(firstLSN: lastLSN + 1),
                                             validEnd: currentBytes, records: 0))
            state.directoryDirty = true
        }
        bytesSinceSnapshot = segments.reduce(0) { sum, segment in
            segment.records > 0 && segment.lastLSN > snapshotLSN ? sum + segment.validEnd - SegmentFormat.headerBytes : sum
        }
        state.current = currentFD
        state.writtenLSN = lastLSN
        state.durableLSN = lastLSN  // recovery read it back from disk (and synced any cut)
    }

    deinit { writeBuffer.deallocate() }

    private static func reopen(_ file: String, at offset: Int) throws(JournalError) -> FileDescriptor {
        try io { () throws(SystemError) in
            let fd = try FileDescriptor.open(file, OpenFlags.writeOnly)
            try fd.seek(to: offset)
            return fd
        }
    }

    static func createSegment(_ directory: String, firstLSN: UInt64) throws(JournalError) -> (FileDescriptor, Int) {
        let file = path(directory, SegmentFormat.fileName(firstLSN: firstLSN))
        return try io { () throws(SystemError) in
            let fd = try FileDescriptor.open(file, OpenFlags.writeOnly | OpenFlags.create | OpenFlags.exclusive, mode: 0o600)
            try fd.writeAll(SegmentFormat.encodeHeader(firstLSN: firstLSN))
            return (fd, SegmentFormat.headerBytes)
        }
    }

    // MARK: Appending (event-loop thread)

    public func appendRecord(
        payloadSize: Int, _ encode: (UnsafeMutableRawBufferPointer) -> Void
    ) throws(JournalError) -> UInt64 {
        if let appendFailure { throw .failed(appendFailure) }
        guard payloadSize >= 0 && payloadSize <= RecordFraming.maxRecordBytes else {
            throw .invalidArgument("record of \(payloadSize) bytes (limit \(RecordFraming.maxRecordBytes))")
        }
        let frame = RecordFraming.headerBytes + payloadSize
        try makeRoom(frame)
        let p = writeBuffer + buffered
        encode(UnsafeMutableRawBufferPointer(start: p + RecordFraming.headerBytes, count: payloadSize))
        RecordFraming.seal(p, length: payloadSize)
        buffered += frame
        lastLSN += 1
        bytesSinceSnapshot += frame
        return lastLSN
    }

    /// Appends a copy of `payload`.
    @discardableResult
    public func append(_ payload: UnsafeRawBufferPointer) throws(JournalError) -> UInt64 {
        try appendRecord(payloadSize: payload.count) { dest in
            if payload.count > 0 { dest.baseAddress!.copyMemory(from: payload.baseAddress!, byteCount: payload.count) }
        }
    }

    /// Rolls the segment over or flushes the buffer when `frame` more bytes would not fit.
    private func makeRoom(_ frame: Int) throws(JournalError) {
        let segmentHasRecords = currentBytes + buffered > SegmentFormat.headerBytes
        if segmentHasRecords && currentBytes + buffered + frame > options.segmentBytes {
            try flush()
            try rollOver()
        }
        if buffered + frame > writeBufferCapacity {
            try flush()
            if frame > writeBufferCapacity { growWriteBuffer(to: frame) }
        }
    }

    private func growWriteBuffer(to bytes: Int) {
        writeBuffer.deallocate()
        writeBuffer = .allocate(byteCount: bytes, alignment: 16)
        writeBufferCapacity = bytes
    }

    /// Writes the buffered records with one `write`. A failure is fatal: the journal is failed
    /// from then on (part of the batch may be in the file, and the page cache may have dropped it).
    @discardableResult
    public func flush() throws(JournalError) -> UInt64 {
        if let appendFailure { throw .failed(appendFailure) }
        if let shared = stateLock.withLock({ state.failure }) { appendFailure = shared; throw .failed(shared) }
        if buffered == 0 { return lastLSN }
        do {
            try currentFD.writeAll(UnsafeRawBufferPointer(start: writeBuffer, count: buffered))
        } catch where error.isNoSpace {
            try cutBack(after: error)
            throw .noSpace(error)
        } catch {
            fail(.system(error))
            throw .system(error)
        }
        currentBytes += buffered
        buffered = 0
        let last = lastLSN
        segments[segments.count - 1].validEnd = currentBytes
        segments[segments.count - 1].records = last + 1 - segments[segments.count - 1].firstLSN
        stateLock.withLock { state.writtenLSN = last }
        return last
    }

    /// A write found the disk full: part of the batch may be in the file. The file is cut back
    /// to its last whole record and the batch dropped (none of it was acknowledged); the caller
    /// rebuilds its state from what the journal holds. A failure to cut back is fatal.
    private func cutBack(after error: SystemError) throws(JournalError) {
        do {
            try currentFD.truncate(to: currentBytes)
            _ = try currentFD.seek(to: currentBytes)
        } catch {
            fail(.system(error))
            throw .system(error)
        }
        buffered = 0
        lastLSN = stateLock.withLock { state.writtenLSN }
        spaceMissing = true
    }

    /// Set by a write that found the disk full, cleared by a `probeSpace` that succeeded.
    public private(set) var spaceMissing = false

    /// Whether the disk takes writes again: writes and removes a 1 MiB file beside the journal
    /// (more than a typical batch). Any error but no-space is reported as it is.
    public func probeSpace() throws(JournalError) -> Bool {
        let probe = path(options.directory, "space-probe.tmp")
        let block = [UInt8](repeating: 0, count: 1 << 20)
        do {
            let fd = try FileDescriptor.open(probe, OpenFlags.writeOnly | OpenFlags.create | OpenFlags.truncate, mode: 0o600)
            defer { try? fd.close(); try? FileSystem.remove(probe) }
            try fd.writeAll(block)
        } catch where error.isNoSpace {
            return false
        } catch {
            throw .system(error)
        }
        spaceMissing = false
        return true
    }

    private func fail(_ error: JournalError) {
        appendFailure = error
        stateLock.withLock { if state.failure == nil { state.failure = error } }
    }

    /// Starts a new segment after everything flushed; the old descriptor goes to the syncer.
    private func rollOver() throws(JournalError) {
        let first = lastLSN + 1
        let created: (FileDescriptor, Int)
        do {
            created = try Self.createSegment(options.directory, firstLSN: first)
        } catch .system(let e) where e.isNoSpace {
            // No new segment: nothing was appended, the old segment stays current.
            try? FileSystem.remove(path(options.directory, SegmentFormat.fileName(firstLSN: first)))
            spaceMissing = true
            throw .noSpace(e)
        } catch {
            fail(error)
            throw error
        }
        let old = currentFD
        (currentFD, currentBytes) = created
        segments.append(Recovery.Segment(firstLSN: first, name: SegmentFormat.fileName(firstLSN: first),
                                         validEnd: currentBytes, records: 0))
        let fd = currentFD
        stateLock.withLock {
            state.retired.append(old)
            state.current = fd
            state.directoryDirty = true
        }
    }

    // MARK: Syncing (any thread)

    public var durableLSN: UInt64 { stateLock.withLock { state.durableLSN } }

    /// The first failure of a write or sync, if any.
    public var failure: JournalError? { stateLock.withLock { state.failure } }

    /// `fdatasync`s everything written before the call (older segments first, then the directory
    /// if a segment was created), then publishes the durable LSN. Does not flush the caller's
    /// buffer: the appending thread calls `flush()` first. A failure is fatal, never retried.
    @discardableResult
    public func sync() throws(JournalError) -> UInt64 {
        syncSerial.lock()
        defer { syncSerial.unlock() }
        guard let work = try takeSyncWork() else { return durableLSN }
        do {
            try io { () throws(SystemError) in
                for fd in work.retired { try fd.dataSync(); try? fd.close() }
                try work.current?.dataSync()
                if work.directory { try FileSystem.syncDirectory(options.directory) }
            }
        } catch {
            stateLock.withLock { if state.failure == nil { state.failure = error } }
            throw error
        }
        return stateLock.withLock {
            state.durableLSN = max(state.durableLSN, work.target)
            return state.durableLSN
        }
    }

    private typealias SyncWork = (target: UInt64, retired: [FileDescriptor], current: FileDescriptor?, directory: Bool)?

    private func takeSyncWork() throws(JournalError) -> SyncWork {
        try stateLock.withLock { () throws(JournalError) -> SyncWork in
            if let failure = state.failure { throw .failed(failure) }
            if state.writtenLSN == state.durableLSN && state.retired.isEmpty && !state.directoryDirty { return nil }
            let work = (state.writtenLSN, state.retired, state.current, state.directoryDirty)
            state.retired = []
            state.directoryDirty = false
            return work
        }
    }

    /// Flushes, syncs and closes the files. The journal must not be used afterwards; stop any
    /// `GroupCommitter` first.
    public func close() throws(JournalError) {
        defer { try? lockFile.close() }
        if appendFailure == nil && failure == nil {
            try flush()
            try sync()
        }
        let fds = stateLock.withLock { () -> [FileDescriptor] in
            let all = state.retired + (state.current.map { [$0] } ?? [])
            state.retired = []
            state.current = nil
            return all
        }
        for fd in fds { try? fd.close() }
    }

    // MARK: Snapshots support

    /// True once `snapshotAfterBytes` of records were appended since the last snapshot (or open).
    /// Bytes in the live segments plus the unflushed buffer (the daemon's `journal_bytes`).
    public var journalBytes: Int { segments.reduce(buffered) { $0 + $1.validEnd } }

    public var location: String { "directory \(options.directory)" }

    public var shouldSnapshot: Bool { bytesSinceSnapshot >= max(options.snapshotAfterBytes, retrySnapshotAtBytes) }

    /// After a failed snapshot the next is due after a quarter of the setting more growth (not
    /// at once: a full disk would make every loop iteration try again).
    public func snapshotFailed() {
        retrySnapshotAtBytes = bytesSinceSnapshot + max(options.snapshotAfterBytes / 4, 1)
    }

    public var shouldSnapshotOnClose: Bool { lastLSN > snapshotLSN }

    /// The newest snapshot's payload as recovery read and checked it (nil if none); handed over
    /// once, so its memory is released as soon as the caller has restored its state.
    public func takeSnapshotPayload() -> [UInt8]? {
        defer { snapshotPayloadTaken = nil }
        return snapshotPayloadTaken
    }

    /// Reads and checks the snapshot `snapshotLSN` names, changing nothing on disk.
    public func reloadSnapshotPayload() throws(JournalError) {
        guard snapshotLSN > 0 else { snapshotPayloadTaken = nil; return }
        var recovery = Recovery(directory: options.directory, mode: .readOnly)
        try recovery.loadSnapshot(lsn: snapshotLSN)
        snapshotPayloadTaken = recovery.snapshotPayload
    }

    func snapshotWritten(_ lsn: UInt64) {
        bytesSinceSnapshot = 0
        retrySnapshotAtBytes = 0
        snapshotLSN = lsn
    }
}
