/// When the group committer syncs (the daemon's `--fsync`).
public enum SyncPolicy: String, Sendable, CaseIterable {
    /// Whenever the loop asks and something new was written: nothing is acknowledged before it
    /// is on stable storage.
    case always
    /// About every `GroupCommitter.periodNanoseconds`: a power loss may lose the last moments,
    /// a crash of the process alone loses nothing (the data is in the page cache).
    case periodic
    /// Only on an explicit request; otherwise the OS writes back when it likes.
    case never
}
