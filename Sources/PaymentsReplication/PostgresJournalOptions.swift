/// How a daemon reaches and shares a ledger in PostgreSQL (§8); every limit has a default.
public struct PostgresJournalOptions: Sendable {
    /// A libpq URI or keyword string: several hosts, `target_session_attrs`, `sslmode`,
    /// `PGPASSFILE` and the `PG*` variables work as they do for `psql`. Time limits it does not
    /// name are added (`ConnectionDefaults`).
    public var conninfo: String
    /// The state the daemons share; several ledgers may live in one database.
    public var ledger: String
    /// What the other daemons report as the leader.
    public var node: String
    /// The leader's lease on the ledger, renewed well before it ends (every third of it).
    public var leaseMilliseconds: Int
    /// How often a standby asks for new batches (it applies them within this plus one round trip).
    public var pollMilliseconds: Int
    /// A snapshot is due once this many record bytes were committed since the newest one.
    public var snapshotAfterBytes: Int
    /// Record bytes a leader may hold uncommitted (queued or in flight) before it refuses new
    /// transactions: PostgreSQL being slow or away never grows the daemon without bound.
    public var maxPendingBytes: Int
    /// Commits in flight at once on the pipelined connection.
    public var maxInFlight: Int
    /// The largest batch row: queued batches are merged into one row up to this size.
    public var maxRowBytes: Int
    /// Committed record bytes kept in memory for the change stream: followers within this much
    /// of the end are served without a query (older records are read in pages, off the loop).
    public var followCacheBytes: Int
    /// Where the lock file goes (the data directory: the state itself lives in PostgreSQL).
    public var directory: String

    public static let defaultLeaseMilliseconds = 2000
    public static let defaultPollMilliseconds = 20
    public static let schemaName = "payments"

    public init(conninfo: String, ledger: String = "default", node: String, directory: String) {
        self.conninfo = ConnectionDefaults.apply(to: conninfo)
        self.ledger = ledger
        self.node = node
        self.directory = directory
        leaseMilliseconds = Self.defaultLeaseMilliseconds
        pollMilliseconds = Self.defaultPollMilliseconds
        snapshotAfterBytes = 256 << 20
        maxPendingBytes = 256 << 20
        maxInFlight = 4
        maxRowBytes = 8 << 20
        followCacheBytes = 32 << 20
    }
}

/// One line for the daemon's log: the replication layer does not know the daemon's logger.
public typealias ReplicationLog = @Sendable (_ level: ReplicationLogLevel, _ message: String) -> Void

public enum ReplicationLogLevel: Sendable { case info, warning, error }
