import PaymentsPlatform

/// `paymentsctl` with no command on a terminal: a prompt naming the daemon (`paymentsd.sock> `,
/// `127.0.0.1:7300> `), any protocol request typed at it, each reply printed whole before the
/// next prompt. `help` lists the requests (the daemon's `HELP`); `exit`, `QUIT` or Ctrl-D
/// at the start of a line leaves. No line editor: the terminal's own line editing.
enum InteractivePrompt {
    /// Printed after the daemon's list for `help`.
    static let note = "exit, QUIT or Ctrl-D leaves; replies are printed as paymentsd sends them\n"

    static func run(targets: [SocketAddress]) -> Int32 {
        let session = RequestSession(targets: targets)
        session.connect()
        var input = LineInput()
        while true {
            standardOutput.write(promptText(session.target))
            standardOutput.flush()
            guard let line = input.next() else {
                // Ctrl-D: end the prompt's line, so the shell's prompt starts on a new one.
                standardOutput.write("\n")
                standardOutput.flush()
                return ExitStatus.success
            }
            let word = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map { $0.lowercased() } ?? ""
            if word == "exit" { return ExitStatus.success }
            switch session.exchange(word == "help" ? "HELP" : line) {
            case .quit: return ExitStatus.success
            case .lost(let message): warn(message)
            case .success where word == "help": standardOutput.write(note)
            case .silent, .success, .failed: break
            }
        }
    }

    /// `NAME> `: a Unix socket's file name, or `HOST:PORT`.
    static func promptText(_ target: SocketAddress) -> String {
        if case .unix(let path) = target, let slash = path.lastIndex(of: "/"), path.index(after: slash) < path.endIndex {
            return String(path[path.index(after: slash)...]) + "> "
        }
        return "\(target)> "
    }
}
