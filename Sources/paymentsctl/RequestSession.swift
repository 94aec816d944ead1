import PaymentsPlatform

/// Protocol request lines sent one at a time on one connection, each reply checked and then
/// printed whole, exactly as the daemon sent it (a multi-line reply with its closing empty
/// line). The interactive prompt and `paymentsctl < requests` are both this. The connection
/// goes to the first daemon that accepts one, as for queries: a standby answers writes with
/// `ERR standby: leader is NAME`.
final class RequestSession {
    /// How one request went.
    enum Answer: Equatable {
        /// A blank line or a CSV header: nothing sent, no reply.
        case silent
        case success
        /// An `ERR` or `REJECTED` reply (printed like any other).
        case failed
        /// `QUIT` was answered `BYE`; the daemon closed the connection.
        case quit
        /// The connection ended before the reply: the message says so; the next request
        /// connects again.
        case lost(String)
    }

    let targets: [SocketAddress]
    private(set) var connection: DaemonConnection?

    init(targets: [SocketAddress]) { self.targets = targets }

    /// The daemon requests go to (the first address until a connection is made).
    var target: SocketAddress { connection?.target ?? targets[0] }

    /// Connects now; a daemon that cannot be reached ends the program with one line.
    @discardableResult
    func connect() -> DaemonConnection {
        if let connection { return connection }
        let made = DaemonRouting.firstReachable(targets)
        connection = made
        return made
    }

    /// Sends `line`, then reads, checks and prints its reply. A reply that is not the line
    /// protocol's, or a refusal at the connection limit, ends the program with one line.
    func exchange(_ line: String) -> Answer {
        guard let shape = ReplyShape.of(requestLine: line) else { return .silent }
        let connection = connect()
        var sendError: SystemError?
        do throws(SystemError) { try connection.send(line) } catch { sendError = error }
        var failed = false
        let result = connection.readReply(shape) { reply in
            if shape == .outcome && reply != "OK" { failed = true }
            standardOutput.write(reply + "\n")
        }
        switch result {
        case .success(.done):
            if shape.isBlock { standardOutput.write("\n") }
            standardOutput.flush()
            if shape == .bye { disconnect(); return .quit }
            return failed ? .failed : .success
        case .success(.error(let text)):
            standardOutput.write(text + "\n")
            standardOutput.flush()
            return .failed
        case .failure(.closed(let partly)):
            standardOutput.flush()
            disconnect()
            if let sendError, !partly { return .lost("cannot send to \(connection.target): \(sendError.message)") }
            return .lost(ReplyFailure.closed(partly: partly).message(connection.target))
        case .failure(let failure):
            fail(failure.message(connection.target))
        }
    }

    private func disconnect() {
        connection?.close()
        connection = nil
    }

    /// `paymentsctl < requests`: every line of standard input in turn. Exit status 0 when
    /// every reply was a success, 1 when one was `ERR` or `REJECTED` (all are printed), 3
    /// when the connection was lost before every line was answered. `QUIT` ends the run.
    static func runStandardInput(targets: [SocketAddress]) -> Int32 {
        let session = RequestSession(targets: targets)
        var input = LineInput()
        var failed = false, lineNumber = 0
        while let line = input.next() {
            lineNumber += 1
            switch session.exchange(line) {
            case .silent, .success: continue
            case .failed: failed = true
            case .quit: return failed ? ExitStatus.failure : ExitStatus.success
            case .lost(let message):
                fail("\(message): line \(lineNumber) of standard input and those after it were not answered",
                     status: ExitStatus.unacknowledged)
            }
        }
        return failed ? ExitStatus.failure : ExitStatus.success
    }
}
