/// Who may send what over the line protocol on a listener with tokens (§9).
extension LineRequest {
    /// The role a request needs; nil for `AUTH` and `QUIT`, which anyone may send.
    var requiredRole: Role? {
        switch self {
        case .transaction: .write
        case .sync: .admin
        case .auth, .quit: nil
        case .malformed, .skip, .get, .dump, .tx, .history, .stats, .ping, .help, .usage, .unknownCommand, .follow: .read
        }
    }
}

/// Why a request was turned away, as counted in `/metrics` (`reason` label).
enum AuthFailure: String, CaseIterable {
    /// A request before any `AUTH` line, or an HTTP request without a token.
    case required
    /// A token that is not in the auth file (or was removed from it by a reload).
    case failed
    /// A valid token whose role may not do this.
    case forbidden
}
