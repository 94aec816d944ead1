/// What a token may do (§9). Ordered: each role may do everything the ones before it may.
public enum Role: Int, Comparable, Sendable, CaseIterable {
    /// Queries: `GET`, `DUMP`, `TX`, `HISTORY`, `STATS`, the HTTP reads, `/metrics`.
    case read
    /// Queries and transactions.
    case write
    /// Everything, including `SYNC` and snapshots.
    case admin

    public var name: String {
        switch self {
        case .read: "read"
        case .write: "write"
        case .admin: "admin"
        }
    }

    public init?(name: some StringProtocol) {
        guard let role = Role.allCases.first(where: { $0.name == name }) else { return nil }
        self = role
    }

    public static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }
}
