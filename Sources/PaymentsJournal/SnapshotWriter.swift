import PaymentsPlatform

extension Journal {
    /// Saves `payload` (the caller's whole state after applying every record up to `lsn`) as the
    /// newest snapshot, then removes the segments and snapshots it makes unnecessary.
    ///
    /// Order, each step durable before the next: the journal is synced through `lsn` (so a
    /// snapshot never claims records the journal could still lose); `snapshot-<lsn>.snap.tmp` is
    /// written and `fdatasync`ed; it is renamed to `.snap` and the directory `fsync`ed; only then
    /// are old files removed. A crash at any point leaves either the old state or the new one.
    ///
    /// Runs on the appending thread and blocks it for the write and syncs (the three steps below
    /// let a caller move the write elsewhere). A failure leaves the journal usable (the snapshot
    /// is simply not taken) unless it was the journal sync.
    public func writeSnapshot(throughLSN lsn: UInt64, payload: UnsafeRawBufferPointer) throws(JournalError) {
        let pending = try prepareSnapshot(throughLSN: lsn)
        try writeSnapshot(pending, payload: payload)
        try finishSnapshot(pending)
    }

    /// The same snapshot in three steps, so that the slow middle one can run on another thread
    /// while the appending thread goes on: `prepareSnapshot` (appending thread: writes out the
    /// buffered records), `writeSnapshot` (any thread: syncs the journal through `lsn`,
    /// writes, syncs and renames the snapshot, syncs the directory), `finishSnapshot`
    /// (appending thread, after the middle step succeeded: removes the files it covers).
    public func prepareSnapshot(throughLSN lsn: UInt64) throws(JournalError) -> PendingSnapshot {
        guard lsn <= lastLSN, lsn >= snapshotLSN else {
            throw .invalidArgument("snapshot LSN \(lsn) outside \(snapshotLSN)...\(lastLSN)")
        }
        try flush()
        return PendingSnapshot(lsn: lsn)
    }

    /// The middle step: touches only `sync()` (thread-safe) and files of its own. A failure of
    /// the journal's sync is the journal's (fatal); one of the snapshot's own file is
    /// `.snapshotFailed` (the temporary file is removed, the daemon goes on).
    public func writeSnapshot(_ pending: PendingSnapshot, payload: UnsafeRawBufferPointer) throws(JournalError) {
        let lsn = pending.lsn
        try sync()
        let dir = options.directory
        let temp = path(dir, SnapshotFormat.tempName(lsn: lsn))
        let final = path(dir, SnapshotFormat.fileName(lsn: lsn))
        do {
            try writeSnapshotFile(temp, lsn: lsn, payload: payload)
            try FileSystem.rename(temp, to: final)
            try FileSystem.syncDirectory(dir)
        } catch {
            // The journal itself is intact (it was synced above): only this snapshot is lost.
            try? FileSystem.remove(temp)
            throw .snapshotFailed("\(error)")
        }
    }

    /// The last step, on the appending thread: the snapshot is in place, older files can go.
    public func finishSnapshot(_ pending: PendingSnapshot) throws(JournalError) {
        snapshotWritten(pending.lsn)
        try removeFilesCovered(by: pending.lsn)
    }

    private func writeSnapshotFile(_ file: String, lsn: UInt64, payload: UnsafeRawBufferPointer) throws(SystemError) {
        let flags = OpenFlags.writeOnly | OpenFlags.create | OpenFlags.truncate
        let fd = try FileDescriptor.open(file, flags, mode: 0o600)
        do {
            try fd.writeAll(SnapshotFormat.encodeHeader(lsn: lsn, payload: payload))
            try fd.writeAll(payload)
            try fd.dataSync()
        } catch {
            try? fd.close()
            throw error
        }
        try fd.close()
    }

    /// Keeps the two newest snapshots and every segment after the older of them (§5), so that a
    /// damaged newest snapshot can be passed over at the next start; removes the rest (never
    /// the segment being appended to). The same rule as recovery's `dropCoveredSegments`. Removal need not be durable: recovery finishes it.
    private func removeFilesCovered(by lsn: UInt64) throws(JournalError) {
        let dir = options.directory
        let listing = try DirectoryListing(directory: dir)
        let kept = listing.snapshots.filter { $0.lsn <= lsn }
        // With a single snapshot there is no older one to fall back to: what it covers goes.
        let older = kept.count >= 2 ? kept[kept.count - 2].lsn : lsn
        try io { () throws(SystemError) in
            for old in listing.snapshots where old.lsn < older { try FileSystem.remove(path(dir, old.name)) }
            while segments.count > 1 && segments[1].firstLSN <= older + 1 {
                try FileSystem.remove(path(dir, segments[0].name))
                segments.removeFirst()
            }
        }
    }
}
