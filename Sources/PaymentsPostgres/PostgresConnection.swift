internal import CLibPQ

/// One libpq connection (`PGconn`), blocking. Used by one thread at a time: the type is
/// `Sendable` so that it can be handed to the thread that owns it, not shared.
///
/// Statements go out with binary parameters and come back with binary results, so integers and
/// byte strings never pass through text. `close()` (or `deinit`) calls `PQfinish` exactly once.
public final class PostgresConnection: @unchecked Sendable {
    /// The `PGconn`; `nil` once closed.
    var handle: OpaquePointer?
    /// The first failure in the current pipeline segment (until the next sync), which libpq
    /// reports for every later statement only as "aborted".
    var pipelineFailure: PostgresError?

    private init(handle: OpaquePointer) { self.handle = handle }

    deinit { close() }

    /// Connects with `PQconnectdb`. `conninfo` is a URI (`postgresql://user@h1,h2/db?...`) or a
    /// keyword string (`host=... port=...`); it goes to libpq unchanged, so every libpq convention
    /// works as it does for `psql`: several hosts, `target_session_attrs`, `connect_timeout`,
    /// `sslmode`, `PGPASSFILE` and `~/.pgpass`, the `PG*` environment variables.
    ///
    /// Throws `.authentication` when the server refused the login (wrong password, no such role
    /// or database, no `pg_hba.conf` entry) and `.unreachable` for every other failure.
    public static func connect(_ conninfo: String) throws(PostgresError) -> PostgresConnection {
        guard let handle = PQconnectdb(conninfo) else {
            throw PostgresError(kind: .unreachable, message: "PQconnectdb: out of memory")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = PostgresError.connectionMessage(handle)
            PQfinish(handle)
            throw PostgresError.connectFailure(message)
        }
        return PostgresConnection(handle: handle)
    }

    /// Runs one statement (`PQexecParams`) with binary parameters and binary results, and waits
    /// for its result. Not allowed in pipeline mode (throws `.usage`).
    @discardableResult
    public func execute(_ sql: String, _ parameters: [PostgresValue] = []) throws(PostgresError) -> PostgresResult {
        let handle = try openHandle()
        let encoded = PostgresParameters(parameters)
        let result = encoded.withArrays { types, values, lengths, formats in
            PQexecParams(handle, sql, encoded.count, types, values, lengths, formats, 1)
        }
        return try Self.consume(result, connection: handle)
    }

    /// Runs a string of several `;`-separated statements with the simple-query protocol
    /// (`PQexec`), for schema DDL. No parameters; results are text and discarded. The statements
    /// run in one implicit transaction unless the script has its own `BEGIN`/`COMMIT`.
    public func executeScript(_ sql: String) throws(PostgresError) {
        let handle = try openHandle()
        _ = try Self.consume(PQexec(handle, sql), connection: handle)
    }

    /// The socket (`PQsocket`), for `poll()`; -1 when closed.
    public var socketDescriptor: Int32 { handle.map { PQsocket($0) } ?? -1 }

    /// A setting the server reports (`PQparameterStatus`): `server_version`, `in_hot_standby`
    /// (PostgreSQL 14+), `default_transaction_read_only`, `TimeZone`, ...
    public func parameterStatus(_ name: String) -> String? {
        guard let handle, let value = PQparameterStatus(handle, name) else { return nil }
        return String(cString: value)
    }

    /// `host:port` of the server this connection reached (`PQhost`, `PQport`): with several
    /// hosts in the conninfo, the one that was chosen. A Unix socket shows as its directory.
    public var serverAddress: String {
        guard let handle else { return "closed" }
        let host = PQhost(handle).map { String(cString: $0) } ?? ""
        let port = PQport(handle).map { String(cString: $0) } ?? ""
        return host + ":" + port
    }

    /// The connection is unusable (`PQstatus == CONNECTION_BAD`) or closed: reconnect.
    public var isBroken: Bool { handle.map { PQstatus($0) == CONNECTION_BAD } ?? true }

    /// Closes the connection (`PQfinish`). Idempotent.
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    func openHandle() throws(PostgresError) -> OpaquePointer {
        guard let handle else { throw PostgresError(kind: .usage, message: "the PostgreSQL connection is closed") }
        return handle
    }

    /// Turns a statement's `PGresult` into a `PostgresResult` or a `PostgresError`, and frees it.
    static func consume(_ result: OpaquePointer?, connection: OpaquePointer) throws(PostgresError) -> PostgresResult {
        defer { PQclear(result) }
        guard let result else { throw PostgresError.statementFailure(result: nil, connection: connection) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresResult(copying: result)
        case PGRES_FATAL_ERROR:
            throw PostgresError.statementFailure(result: result, connection: connection)
        case let status:
            let name = String(cString: PQresStatus(status))
            throw PostgresError(kind: .usage, message: "unexpected PostgreSQL result \(name)")
        }
    }
}
