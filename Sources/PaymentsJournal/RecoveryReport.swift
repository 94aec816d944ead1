/// What opening (or verifying) a journal directory found, for the daemon's start-up log and the
/// operator's `verify` command.
public struct RecoveryReport: Sendable, Equatable, CustomStringConvertible {
    /// The LSN the newest snapshot covers, 0 when there is none.
    public var snapshotLSN: UInt64 = 0
    /// That snapshot's file and payload size.
    public var snapshotFile: String?
    public var snapshotPayloadBytes: Int = 0
    /// The snapshot before it, kept with every segment after it (nil when there is none).
    public var previousSnapshotLSN: UInt64?
    /// Damaged newer snapshots passed over to reach the one loaded (newest first).
    public var fellBackFrom: [String] = []
    /// The last intact record, 0 for an empty journal (or `snapshotLSN` if all records are in it).
    public var lastLSN: UInt64 = 0
    /// Records after the snapshot that replay will deliver (`lastLSN - snapshotLSN`).
    public var recordsToReplay: UInt64 { lastLSN > snapshotLSN ? lastLSN - snapshotLSN : 0 }
    /// Segment files that replay reads.
    public var segmentFiles: [String] = []
    /// The torn tail cut from the last segment (or that verify would cut): file and byte count.
    public var truncatedFile: String?
    public var truncatedBytes: Int = 0
    /// Files removed (or that would be): leftover temporary snapshots, superseded snapshots,
    /// segments wholly covered by the snapshot.
    public var removedFiles: [String] = []
    /// One line each, for the log.
    public var warnings: [String] = []

    public init() {}

    public var description: String {
        var s = "snapshot LSN \(snapshotLSN)"
        if let f = snapshotFile { s += " (\(f), \(snapshotPayloadBytes) bytes)" }
        if !fellBackFrom.isEmpty { s += ", falling back past damaged \(fellBackFrom.joined(separator: ", "))" }
        s += ", \(recordsToReplay) records to replay in \(segmentFiles.count) segment(s), last LSN \(lastLSN)"
        if let f = truncatedFile { s += ", torn tail of \(truncatedBytes) bytes in \(f)" }
        return s
    }
}
