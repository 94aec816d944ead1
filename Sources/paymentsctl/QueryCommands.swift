import PaymentsPlatform

/// The one-request commands: send a request line, print the reply.
enum QueryCommands {
    /// A reply of one line; an `ERR ...` reply is the error message.
    static func single(_ request: String, to target: SocketAddress) -> Int32 {
        let connection = DaemonConnection(target)
        connection.request(request)
        guard let reply = connection.readLine() else { fail("\(target) closed the connection without a reply") }
        let text = String(decoding: reply, as: UTF8.self)
        if text == "ERR" || text.hasPrefix("ERR ") { fail("\(request): \(text.dropFirst(4).isEmpty ? "error" : text.dropFirst(4))") }
        standardOutput.write(line: reply)
        standardOutput.flush()
        return ExitStatus.success
    }

    /// A reply of lines ended by an empty line (DUMP, HISTORY): printed without that line, so
    /// the output is a clean file.
    static func multiline(_ request: String, to target: SocketAddress) -> Int32 {
        let connection = DaemonConnection(target)
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
        fail("\(target) closed the connection before the end of the reply")
    }

    static func run(_ command: Command, target: SocketAddress) -> Int32 {
        switch command {
        case .get(let client, let json): return single(json ? "GET \(client) JSON" : "GET \(client)", to: target)
        case .dump(let json): return multiline(json ? "DUMP JSON" : "DUMP", to: target)
        case .tx(let id): return single("TX \(id)", to: target)
        case .history(let client): return multiline("HISTORY \(client)", to: target)
        case .stats: return single("STATS", to: target)
        case .ping: return single("PING", to: target)
        case .sync: return single("SYNC", to: target)
        case .send, .help: preconditionFailure("not a query")
        }
    }
}
