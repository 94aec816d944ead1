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
    /// `--insecure`: a non-loopback listener without tokens and TLS is served anyway, with a
    /// warning at start and every hour (§9).
    public var insecure = false
    /// `--auth-file`: tokens and their roles (§9); TCP and HTTP listeners then require one.
    public var authFile: String?
    /// `--auth-unix`: Unix sockets require a token too (otherwise their file mode guards them).
    public var authUnix = false
    /// `--tls-cert`, `--tls-key`: TLS on every TCP and HTTP listener; `--tls-client-ca`: and
    /// client certificates signed by this CA are required.
    public var tlsCertificate: String?
    public var tlsKey: String?
    public var tlsClientCA: String?
    /// A TLS handshake must finish within this long, or the connection is dropped.
    public var tlsHandshakeTimeoutSeconds = 10

    public var usesTLS: Bool { tlsCertificate != nil }

    /// §9: a listener other hosts can reach needs both tokens and TLS, unless `--insecure`.
    /// The refusal in words, naming `listening`; nil when it may be served.
    public func remoteAccessProblem(listening: String) -> String? {
        guard !insecure, authFile == nil || !usesTLS else { return nil }
        let missing = [authFile == nil ? "--auth-file" : nil, usesTLS ? nil : "--tls-cert/--tls-key"].compactMap { $0 }
        return "\(listening) is reachable from other hosts: it needs \(missing.joined(separator: " and ")) "
            + "(or --insecure to serve it without them)"
    }
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
