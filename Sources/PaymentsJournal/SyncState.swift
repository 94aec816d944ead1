import PaymentsPlatform

/// What the appending thread and the syncing thread share, always under `lock`.
///
/// Ownership of descriptors: the appender owns `current` until it rolls over, then hands it to
/// `retired`; the syncer closes a retired descriptor only after syncing it. So a sync that
/// started before a roll-over still syncs the old file through a descriptor that stays open,
/// and the old segment is fully synced before any LSN in it is published as durable.
struct SyncState {
    /// Records up to this LSN have been written to the OS.
    var writtenLSN: UInt64 = 0
    /// Records up to this LSN are on stable storage.
    var durableLSN: UInt64 = 0
    var current: FileDescriptor?
    var retired: [FileDescriptor] = []
    /// A segment file was created since the last sync: its directory entry must be synced too.
    var directoryDirty = false
    /// Set once by a failed write or sync; the journal takes no more writes.
    var failure: JournalError?
}
