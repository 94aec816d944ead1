import PaymentsPlatform

/// A request for the daemon, as parsed from the command line.
enum Command: Equatable {
    case send(files: [String], verbose: Bool)
    case get(client: UInt16, json: Bool)
    case dump(json: Bool)
    case tx(id: UInt32)
    case history(client: UInt16)
    case stats, ping, sync
    case help
}

struct Invocation: Equatable {
    /// The daemons to try, in the order given (SPEC §8); never empty.
    var targets: [SocketAddress]
    var command: Command
}

/// A command line that does not make sense; printed as one line and exit status 2.
struct UsageError: Error, CustomStringConvertible {
    let description: String
}

/// The daemon's default socket (SPEC §5), relative to the working directory like the daemon's.
let defaultSocketPath = "./paymentsd.sock"

/// Hand-written parsing: global options may appear anywhere; `--` ends options. `--unix` and
/// `--tcp` may be repeated and mixed; without them, `socket` (`$PAYMENTSD_SOCKET`) names the daemons.
func parseArguments(_ arguments: [String], environment socket: String?) throws -> Invocation {
    var targets: [SocketAddress] = []
    var words: [String] = []
    var flags: Set<String> = []
    var index = 0, optionsEnded = false
    while index < arguments.count {
        let argument = arguments[index]
        index += 1
        if optionsEnded || argument == "-" || !argument.hasPrefix("-") { words.append(argument); continue }
        switch argument {
        case "--": optionsEnded = true
        case "-h", "--help": return Invocation(targets: [.unix(path: defaultSocketPath)], command: .help)
        case "--unix", "--tcp":
            guard index < arguments.count else { throw UsageError(description: "\(argument) needs a value") }
            targets.append(try parseTarget(arguments[index], tcp: argument == "--tcp"))
            index += 1
        case "--verbose", "-v": flags.insert("--verbose")
        case "--json": flags.insert("--json")
        default: throw UsageError(description: "unknown option \(argument)")
        }
    }
    let command = try parseCommand(words, flags: flags)
    return Invocation(targets: targets.isEmpty ? try defaultTargets(socket) : targets, command: command)
}

private func parseTarget(_ text: String, tcp: Bool) throws -> SocketAddress {
    do {
        return tcp ? try SocketAddress.hostPort(text) : try SocketAddress.unixPath(text)
    } catch {
        throw UsageError(description: "\(error)")
    }
}

/// `$PAYMENTSD_SOCKET`: a comma-separated list of addresses (blanks around an entry and empty
/// entries are ignored), else the daemon's default socket. A Unix path with a comma in it can
/// only be given with `--unix`.
private func defaultTargets(_ socket: String?) throws -> [SocketAddress] {
    let entries = (socket ?? "").split(separator: ",").map { $0.trimmingBlanks() }.filter { !$0.isEmpty }
    if entries.isEmpty { return [.unix(path: defaultSocketPath)] }
    do {
        return try entries.map(environmentTarget)
    } catch {
        throw UsageError(description: "PAYMENTSD_SOCKET: \(error)")
    }
}

/// One entry of `$PAYMENTSD_SOCKET`: `tcp:HOST:PORT` or `unix:PATH` say which; otherwise
/// `HOST:PORT` (a numeric port after the last colon, no slash) is TCP, anything else a Unix
/// socket path.
private func environmentTarget(_ entry: String) throws -> SocketAddress {
    if entry.hasPrefix("tcp:") { return try parseTarget(String(entry.dropFirst(4)), tcp: true) }
    if entry.hasPrefix("unix:") { return try parseTarget(String(entry.dropFirst(5)), tcp: false) }
    if !entry.contains("/"), let address = try? SocketAddress.hostPort(entry) { return address }
    return try parseTarget(entry, tcp: false)
}

extension Substring {
    /// Without leading and trailing spaces and tabs (no Foundation here).
    fileprivate func trimmingBlanks() -> String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isBlank($0) }), let last = lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(self[first...last])
    }
}

private func parseCommand(_ words: [String], flags: Set<String>) throws -> Command {
    guard let name = words.first else { throw UsageError(description: "no command given") }
    let rest = Array(words.dropFirst())
    func allow(_ allowed: Set<String>) throws {
        if let stray = flags.subtracting(allowed).sorted().first {
            throw UsageError(description: "\(stray) does not apply to \(name)")
        }
    }
    func arguments(_ count: Int, _ what: String) throws {
        if rest.count != count { throw UsageError(description: "\(name) takes \(what)") }
    }
    switch name {
    case "send":
        try allow(["--verbose"])
        return .send(files: rest, verbose: flags.contains("--verbose"))
    case "get":
        try allow(["--json"]); try arguments(1, "one CLIENT")
        return .get(client: try number(rest[0], "CLIENT"), json: flags.contains("--json"))
    case "dump":
        try allow(["--json"]); try arguments(0, "no arguments")
        return .dump(json: flags.contains("--json"))
    case "tx":
        try allow([]); try arguments(1, "one ID")
        return .tx(id: try number(rest[0], "ID"))
    case "history":
        try allow([]); try arguments(1, "one CLIENT")
        return .history(client: try number(rest[0], "CLIENT"))
    case "stats", "ping", "sync":
        try allow([]); try arguments(0, "no arguments")
        return name == "stats" ? .stats : name == "ping" ? .ping : .sync
    case "help":
        return .help
    default:
        throw UsageError(description: "unknown command \(name)")
    }
}

/// A client (0...65535) or tx id (0...4294967295): digits only, in range.
private func number<T: FixedWidthInteger>(_ text: String, _ what: String) throws -> T {
    guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = T(text) else {
        throw UsageError(description: "\(what) must be a number 0...\(T.max), not \"\(text)\"")
    }
    return value
}
