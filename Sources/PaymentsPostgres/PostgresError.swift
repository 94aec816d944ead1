/// Why a PostgreSQL operation failed, sorted by what the caller should do about it:
///
/// - `authentication`: the server refused the login (wrong password, no such role or database,
///   no `pg_hba.conf` entry). Retrying will not help; an operator must fix the configuration.
/// - `unreachable`: no server could be connected to (refused, timed out, starting up, or none
///   of the hosts is read-write). Retry with backoff.
/// - `readOnly`: the statement needed a read-write server and reached a read-only one
///   (SQLSTATE `25006`, e.g. a standby or a demoted primary). Reconnect to find the primary.
/// - `connectionLost`: the connection broke; a statement in flight may or may not have
///   committed. Reconnect and find out.
/// - `server`: the server rejected the statement (constraint, serialization failure `40001`,
///   syntax...). `sqlState` says which.
/// - `usage`: the client called libpq in a way it does not allow (e.g. a synchronous call in
///   pipeline mode). A programming error.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case authentication, unreachable, readOnly, connectionLost, server, usage }

    public let kind: Kind
    /// The five-character SQLSTATE when the server sent one (`28P01` wrong password, `25006`
    /// read-only transaction, `40001` serialization failure, ...). For a failed login libpq gives
    /// no SQLSTATE, so it is inferred from the message for the authentication failures only.
    public let sqlState: String?
    /// One line, without libpq's newlines, tabs and `FATAL:  ` / `ERROR:  ` prefixes.
    public let message: String

    public var description: String { message }

    public init(kind: Kind, sqlState: String? = nil, message: String) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = PostgresMessage.oneLine(message)
    }
}
