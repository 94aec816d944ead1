import PaymentsPlatform

/// The one-request commands: send a request line, print the reply.
enum QueryCommands {
    /// A reply of one line; an `ERR ...` reply is the error message.
    static func single(_ request: String, on connection: DaemonConnection) -> Int32 {
        connection.request(request)
        guard let reply = connection.readLine() else { fail("\(connection.target) closed the connection without a reply") }
        let text = String(decoding: reply, as: UTF8.self)
        if text == "ERR" || text.hasPrefix("ERR ") { fail("\(request): \(text.dropFirst(4).isEmpty ? "error" : text.dropFirst(4))") }
        standardOutput.write(line: reply)
        standardOutput.flush()
        return ExitStatus.success
    }

    /// A reply of lines ended by an empty line (DUMP, HISTORY): printed without that line, so
    /// the output is a clean file.
    static func multiline(_ request: String, on connection: DaemonConnection) -> Int32 {
        connection.request(request)
        var first = true
        while let line = connection.readLine() {
            if line.isEmpty {
                standardOutput.flush()
                return ExitStatus.success
            }
            if first, line.starts(with: Array("ERR".utf8)) && (line.count == 3 || line[line.startIndex + 3] == 0x20) {
                fail("\(request): \(String(decoding: line.dropFirst(4), as: UTF8.self))")
            }
            first = false
            standardOutput.write(line: line)
        }
        fail("\(connection.target) closed the connection before the end of the reply")
    }

    /// Runs `command` against `targets`: `SYNC` on the leader, the queries on the first daemon
    /// that accepts a connection (SPEC §8).
    static func run(_ command: Command, targets: [SocketAddress]) -> Int32 {
        if command == .sync { return single("SYNC", on: DaemonRouting.leader(targets)) }
        let connection = DaemonRouting.firstReachable(targets)
        switch command {
        case .get(let client, let json): return single(json ? "GET \(client) JSON" : "GET \(client)", on: connection)
        case .dump(let json): return multiline(json ? "DUMP JSON" : "DUMP", on: connection)
        case .tx(let id): return single("TX \(id)", on: connection)
        case .history(let client): return multiline("HISTORY \(client)", on: connection)
        case .stats: return single("STATS", on: connection)
        case .ping: return single("PING", on: connection)
        case .send, .sync, .help: preconditionFailure("not a query")
        }
    }
}
