import PaymentsJournal

/// Everything an operator can set on `paymentsd`, with the contract's defaults (§5, §7).
public struct DaemonConfiguration: Sendable {
    /// Where the journal and snapshots live; nil means `$STATE_DIRECTORY` under systemd, else
    /// `./paymentsd-data`.
    public var dataDirectory: String?
    public var unixPaths: [String] = []
    public var tcpAddresses: [String] = []
    public var httpAddresses: [String] = []
    public var fsync: SyncPolicy = .always
    public var maxConnections = 1024
    public var maxLineBytes = 4096
    /// Reply bytes a connection may have pending before it stops being read (backpressure).
    public var maxPendingReplyBytes = 1 << 20
    /// Largest HTTP request body (§7: 16 MiB).
    public var maxBodyBytes = 16 << 20
    /// An HTTP request must be complete within this long, or it gets 408 and the connection closes.
    public var httpIdleTimeoutSeconds = 30
    public var snapshotAfterBytes = JournalOptions.defaultSnapshotAfterBytes
    public var segmentBytes = JournalOptions.defaultSegmentBytes
    /// Non-loopback TCP or HTTP addresses are refused unless this is set.
    public var allowRemote = false
    public var logLevel: LogLevel = .info
    /// `--journal URI`: the journal in PostgreSQL (§8) instead of files in the data directory.
    public var journalURI: String?
    /// The state the daemons on one database share.
    public var ledger = "default"
    /// What the other daemons report as the leader; nil means host name and pid.
    public var nodeName: String?
    public var leaseMilliseconds = 2000
    /// How often a standby polls PostgreSQL for new batches.
    public var pollMilliseconds = 20

    /// Connections taken beyond `maxConnections` on Unix sockets only: operators on the socket
    /// are never locked out by TCP or HTTP clients holding every connection.
    public static let reservedUnixConnections = 8

    public static let defaultDataDirectory = "./paymentsd-data"
    public static let defaultUnixPath = "./paymentsd.sock"
    public static let defaultTCPAddress = "127.0.0.1:7300"
    public static let defaultHTTPAddress = "127.0.0.1:7380"

    public init() {}

    /// No listener flag at all: the daemon opens its three default listeners.
    public var usesDefaultListeners: Bool { unixPaths.isEmpty && tcpAddresses.isEmpty && httpAddresses.isEmpty }
}
