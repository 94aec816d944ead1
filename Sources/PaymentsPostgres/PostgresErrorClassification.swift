internal import CLibPQ

/// Turning libpq's failure reports (a connection's error message, a result's error fields) into
/// a `PostgresError` of the right kind. The one place that decides what is retryable.
extension PostgresError {
    /// A failed `PQconnectdb`. libpq 15 exposes no SQLSTATE for it, so authentication failures
    /// are recognised by the server's (English) messages; everything else is "try again later".
    static func connectFailure(_ rawMessage: String) -> PostgresError {
        if let sqlState = refusedLoginState(rawMessage) {
            return PostgresError(kind: .authentication, sqlState: sqlState.isEmpty ? nil : sqlState, message: rawMessage)
        }
        return PostgresError(kind: .unreachable, message: rawMessage)
    }

    /// The SQLSTATE of a refused login recognised in `message` ("" for libpq's own
    /// "no password supplied"), or `nil` when the message is not a refusal.
    private static func refusedLoginState(_ message: String) -> String? {
        if message.contains("password authentication failed") { return "28P01" }
        if message.contains("no password supplied") { return "" }
        if message.contains("no pg_hba.conf entry") || message.contains("is not permitted to log in") { return "28000" }
        guard message.contains("does not exist") else { return nil }
        if message.contains("database \"") { return "3D000" }  // database "x" does not exist
        if message.contains("role \"") { return "28000" }  // role "x" does not exist
        return nil
    }

    /// The error carried by a `PGRES_FATAL_ERROR` result (or a missing result) on `connection`.
    static func statementFailure(result: OpaquePointer?, connection: OpaquePointer?) -> PostgresError {
        let sqlState = result.flatMap { errorField($0, "C") }
        let message = result.flatMap(primaryMessage) ?? connectionMessage(connection)
        // A FATAL or PANIC error ends the session (the server closes the connection right after
        // it, e.g. "terminating connection due to administrator command", 57P01), even while
        // libpq has not noticed the close yet.
        let severity = result.flatMap { errorField($0, "V") }
        if PQstatus(connection) == CONNECTION_BAD || severity == "FATAL" || severity == "PANIC" {
            return PostgresError(kind: .connectionLost, sqlState: sqlState, message: message)
        }
        guard let sqlState else {
            // No result at all while the connection is fine: libpq refused the call itself.
            let kind: Kind = result == nil ? .usage : .connectionLost
            return PostgresError(kind: kind, message: message)
        }
        let kind: Kind = sqlState == "25006" ? .readOnly : .server
        return PostgresError(kind: kind, sqlState: sqlState, message: message)
    }

    /// A call such as `PQsendQueryParams` or `PQpipelineSync` that returned failure.
    static func callFailure(_ call: String, connection: OpaquePointer?) -> PostgresError {
        let kind: Kind = PQstatus(connection) == CONNECTION_BAD ? .connectionLost : .usage
        return PostgresError(kind: kind, message: "\(call): \(connectionMessage(connection))")
    }

    static func connectionMessage(_ connection: OpaquePointer?) -> String {
        guard let connection, let text = PQerrorMessage(connection) else { return "no connection" }
        return String(cString: text)
    }

    /// The server's primary message with its detail, when there is one; `nil` for client-side
    /// errors, whose text is only in `PQresultErrorMessage`.
    private static func primaryMessage(_ result: OpaquePointer) -> String? {
        guard let primary = errorField(result, "M") else {
            let whole = String(cString: PQresultErrorMessage(result))
            return whole.isEmpty ? nil : whole
        }
        guard let detail = errorField(result, "D") else { return primary }
        return primary + " (" + detail + ")"
    }

    /// `PQresultErrorField` with a field code such as `PG_DIAG_SQLSTATE` (`'C'`).
    private static func errorField(_ result: OpaquePointer, _ code: Unicode.Scalar) -> String? {
        guard let field = PQresultErrorField(result, Int32(code.value)) else { return nil }
        return String(cString: field)
    }
}
