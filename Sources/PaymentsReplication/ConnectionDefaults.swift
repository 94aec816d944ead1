/// Time limits the daemon adds to the operator's connection string when it names none, so that
/// a PostgreSQL server that vanishes without a word (a powered-off host, a cut network) is
/// noticed in seconds, not after TCP's retransmissions (about 15 minutes): a leader then stops
/// taking writes when its lease runs out, and reconnects to whichever host is writable.
/// Anything the operator wrote wins.
enum ConnectionDefaults {
    static let parameters: [(String, String)] = [
        ("connect_timeout", "5"),
        ("tcp_user_timeout", "10000"),
        ("keepalives_idle", "5"),
        ("keepalives_interval", "2"),
        ("keepalives_count", "3"),
    ]

    /// `conninfo` with every missing parameter added, as URI query parameters or as keywords.
    static func apply(to conninfo: String) -> String {
        let isURI = conninfo.hasPrefix("postgresql://") || conninfo.hasPrefix("postgres://")
        var result = conninfo
        for (key, value) in parameters where !names(key, in: conninfo, isURI: isURI) {
            if isURI {
                result += (result.contains("?") ? "&" : "?") + "\(key)=\(value)"
            } else {
                result += (result.isEmpty ? "" : " ") + "\(key)=\(value)"
            }
        }
        return result
    }

    private static func names(_ key: String, in conninfo: String, isURI: Bool) -> Bool {
        if isURI {
            guard let query = conninfo.split(separator: "?", maxSplits: 1).dropFirst().first else { return false }
            return query.split(separator: "&").contains { $0.split(separator: "=").first.map(String.init) == key }
        }
        // `key=value` or `key = value`: libpq allows spaces around the `=`.
        return conninfo.split(separator: " ").contains { $0 == key || $0.hasPrefix(key + "=") }
    }
}
