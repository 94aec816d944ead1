import PaymentsPlatform

/// The journal files in a data directory, classified by name. Anything else is left alone.
struct DirectoryListing {
    struct Entry { var lsn: UInt64; var name: String }

    /// Ordered by first LSN.
    var segments: [Entry] = []
    /// Ordered by LSN; the last one is the newest.
    var snapshots: [Entry] = []
    /// Snapshots that were being written when the process stopped.
    var tempSnapshots: [String] = []

    static let lockFileName = "LOCK"

    init(directory: String) throws(JournalError) {
        let names = try io { () throws(SystemError) in try FileSystem.listDirectory(directory) }
        for name in names {
            if let lsn = SegmentFormat.firstLSN(fromName: name) {
                segments.append(Entry(lsn: lsn, name: name))
            } else if let lsn = SnapshotFormat.lsn(fromName: name) {
                snapshots.append(Entry(lsn: lsn, name: name))
            } else if SnapshotFormat.isTemp(name) {
                tempSnapshots.append(name)
            }
        }
        segments.sort { $0.lsn < $1.lsn }
        snapshots.sort { $0.lsn < $1.lsn }
    }
}

func path(_ directory: String, _ name: String) -> String { directory + "/" + name }
