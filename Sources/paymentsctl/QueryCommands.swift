import PaymentsPlatform

/// The one-request commands: send a request line, check the reply against what the request
/// gets (SPEC §6), print it. An `ERR` reply is the error message, on standard error.
enum QueryCommands {
    /// The request line a command sends and the reply it expects.
    static func request(for command: Command) -> (line: String, shape: ReplyShape) {
        switch command {
        case .get(let client, let json): return (json ? "GET \(client) JSON" : "GET \(client)", .account(json: json))
        case .dump(let json): return (json ? "DUMP JSON" : "DUMP", .accounts(json: json))
        case .tx(let id): return ("TX \(id)", .transaction)
        case .history(let client, _): return ("HISTORY \(client)", .history)
        case .stats: return ("STATS", .stats)
        case .ping: return ("PING", .pong)
        case .sync: return ("SYNC", .ok)
        case .raw(let line): return (line, ReplyShape.of(requestLine: line) ?? .unknown)
        case .send, .session, .latency, .hashToken, .help, .version, .follow, .mirror: preconditionFailure("not a query: \(command)")
        }
    }

    /// Runs `command` once against `targets`: writes (`SYNC`, a transaction) on the leader,
    /// queries on the first daemon that accepts a connection (SPEC §8). The exit status.
    static func run(_ command: Command, targets: [SocketAddress]) -> Int32 {
        let (line, shape) = request(for: command)
        let isWrite = shape == .ok || shape == .outcome
        let connection = isWrite ? DaemonRouting.leader(targets) : DaemonRouting.firstReachable(targets)
        defer { connection.close() }
        let sendError = connection.request(line)
        var rejected = false
        let result = connection.readReply(shape) { reply in
            if shape == .outcome && reply != "OK" { rejected = true }
            standardOutput.write(output(command, reply) + "\n")
        }
        switch result {
        case .success(.done):
            standardOutput.flush()
            return rejected ? ExitStatus.failure : ExitStatus.success
        case .success(.error(let text)):
            fail("\(line): \(text == "ERR" ? "error" : String(text.dropFirst(4)))")
        case .failure(.closed(partly: false)) where sendError != nil:
            fail("cannot send to \(connection.target): \(sendError!.message)")
        case .failure(let failure):
            fail(failure.message(connection.target))
        }
    }

    /// A reply line as the command prints it: as the daemon sent it, or turned into JSON.
    private static func output(_ command: Command, _ reply: String) -> String {
        switch command {
        case .stats(json: true): return StatsReply(reply).map(JSONText.stats) ?? reply
        case .history(_, json: true): return JSONText.historyEntry(reply)
        default: return reply
        }
    }

    /// `-r N -i SECONDS` (as `redis-cli`): the command N times (`-1`: until interrupted), a new
    /// connection each time, pausing between runs; the first failure ends the program.
    static func repeating(_ invocation: Invocation) -> Int32 {
        let count = invocation.repeatCount ?? 1
        var done = 0
        while count < 0 || done < count {
            if done > 0, let pause = invocation.intervalMilliseconds, pause > 0 { sleep(milliseconds: pause) }
            let status = run(invocation.command, targets: invocation.targets)
            if status != ExitStatus.success { return status }
            done += 1
        }
        return ExitStatus.success
    }
}

/// Waits `milliseconds` (a `poll` on nothing: no descriptor, only the time limit).
func sleep(milliseconds: UInt64) {
    var none: [PollEntry] = []
    var left = milliseconds
    while left > 0 {
        let step = min(left, UInt64(Int32.max))
        let start = MonotonicClock.milliseconds()
        _ = try? Poll.wait(&none, timeoutMilliseconds: Int32(step))
        left -= min(left, max(MonotonicClock.milliseconds() - start, 1))
    }
}
