/// Sizes an operator may tune; every buffer and file the journal keeps is bounded by one of these.
public struct JournalOptions: Sendable {
    /// The data directory (created 0700 if missing). Files in it are created 0600.
    public var directory: String
    /// A segment rolls over once appending the next record would take it past this size.
    public var segmentBytes: Int
    /// Encoded records collect here until `flush` writes them with one `write`; a batch larger
    /// than this is written in several.
    public var writeBufferBytes: Int
    /// `shouldSnapshot` turns true once this many record bytes were appended since the last snapshot.
    public var snapshotAfterBytes: Int

    public static let defaultSegmentBytes = 64 << 20
    public static let defaultWriteBufferBytes = 1 << 20
    public static let defaultSnapshotAfterBytes = 256 << 20

    public init(
        directory: String,
        segmentBytes: Int = defaultSegmentBytes,
        writeBufferBytes: Int = defaultWriteBufferBytes,
        snapshotAfterBytes: Int = defaultSnapshotAfterBytes
    ) {
        self.directory = directory
        self.segmentBytes = segmentBytes
        self.writeBufferBytes = writeBufferBytes
        self.snapshotAfterBytes = snapshotAfterBytes
    }
}
