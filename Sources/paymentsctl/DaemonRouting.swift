import PaymentsPlatform

/// Which daemon a command talks to when several addresses are given (SPEC §8): transactions
/// and `SYNC` go to the leader, found the way libpq's `target_session_attrs=read-write` finds a
/// primary (connect to each in turn, ask, keep the first that says yes); queries go to the
/// first daemon that accepts a connection. Either way, when none will do, the command fails
/// with one line naming every address and why it was passed over.
enum DaemonRouting {
    /// How long a daemon has to answer the `STATS` probe. One that is stopped (`SIGSTOP`) still
    /// accepts connections; past this it counts as not the leader instead of hanging the command.
    static let probeTimeoutMilliseconds: UInt64 = 5_000
    /// A `STATS` reply is one short line; a server that sends more without a newline is not paymentsd.
    static let probeReplyMaxBytes = 4096

    /// A connection to the first of `targets` that accepts one; unreachable ones are skipped.
    static func firstReachable(_ targets: [SocketAddress]) -> DaemonConnection {
        precondition(!targets.isEmpty, "no address to connect to")
        var passedOver: [String] = []
        for target in targets {
            do throws(ConnectError) { return try DaemonConnection(target) } catch {
                if targets.count == 1 { fail("cannot connect to \(target): \(DaemonConnection.explain(error, target))") }
                passedOver.append("\(target): \(DaemonConnection.explain(error, target))")
            }
        }
        fail("cannot connect to any of \(list(targets)) (\(passedOver.joined(separator: "; ")))")
    }

    /// A connection to the leader among `targets`, its `STATS` reply already read, ready for
    /// writes. A daemon whose `STATS` has no `role` is not replicated and counts as a leader.
    /// With one address there is nothing to choose and no probe: a standby there answers each
    /// write `ERR standby: ...`, which the command reports.
    static func leader(_ targets: [SocketAddress]) -> DaemonConnection {
        if targets.count == 1 { return firstReachable(targets) }
        var passedOver: [String] = []
        for target in targets {
            let connection: DaemonConnection
            do throws(ConnectError) { connection = try DaemonConnection(target) } catch {
                passedOver.append("\(target): \(DaemonConnection.explain(error, target))")
                continue
            }
            if let reason = notLeaderReason(connection) {
                connection.close()
                passedOver.append("\(target): \(reason)")
                continue
            }
            return connection
        }
        fail("no leader among \(list(targets)) (\(passedOver.joined(separator: "; ")))")
    }

    /// Sends `STATS` and reads its one-line reply; nil for a leader, else why it is not one.
    private static func notLeaderReason(_ connection: DaemonConnection) -> String? {
        // A daemon at its connection limit may have closed before the request was sent: what
        // it said is read all the same.
        var sendError: SystemError?
        do throws(SystemError) { try connection.send("STATS") } catch { sendError = error }
        switch connection.readLine(within: probeTimeoutMilliseconds, maxBytes: probeReplyMaxBytes) {
        case .line(let bytes):
            let text = String(decoding: bytes, as: UTF8.self)
            guard let stats = StatsReply(text) else {
                if connection.linesTaken == 1 && text == refusalLine { return "refused the connection: too many connections" }
                if isErrorLine(text) { return quotedReply(text) }
                return "unexpected reply to STATS: \"\(quotedReply(text))\""
            }
            return stats.isLeader ? nil : stats.roleDescription
        case .closed: return sendError?.message ?? "closed the connection without answering STATS"
        case .timedOut: return "no answer to STATS within \(probeTimeoutMilliseconds / 1000) s"
        case .tooLong: return "unexpected reply to STATS (over \(probeReplyMaxBytes) bytes without a newline)"
        case .failed(let error): return error.message
        }
    }

    private static func list(_ targets: [SocketAddress]) -> String {
        targets.map(\.description).joined(separator: ", ")
    }
}

/// A `STATS` reply: one line of `key=value` pairs separated by spaces (SPEC §5, §8).
struct StatsReply {
    let pairs: [String: String]
    /// The pairs in the daemon's order.
    let ordered: [(key: String, value: String)]

    /// Nil unless every word is `key=value` with a key, and there is at least one.
    init?(_ line: String) {
        var ordered: [(key: String, value: String)] = []
        for word in line.split(separator: " ") {
            guard let equals = word.firstIndex(of: "="), equals > word.startIndex else { return nil }
            ordered.append((String(word[..<equals]), String(word[word.index(after: equals)...])))
        }
        if ordered.isEmpty { return nil }
        self.ordered = ordered
        pairs = Dictionary(ordered, uniquingKeysWith: { _, last in last })
    }

    /// `role=leader`, or no `role` at all: a daemon without replication takes every write.
    var isLeader: Bool { pairs["role"].map { $0 == "leader" } ?? true }

    /// `role=standby leader=node-1`: what a non-leader says about itself.
    var roleDescription: String {
        ["role", "leader"].compactMap { key in pairs[key].map { "\(key)=\($0)" } }.joined(separator: " ")
    }
}
