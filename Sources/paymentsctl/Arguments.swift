import PaymentsPlatform

/// A request for the daemon, as parsed from the command line.
enum Command: Equatable {
    case send(files: [String], verbose: Bool)
    case get(client: UInt16, json: Bool)
    case dump(json: Bool)
    case tx(id: UInt32)
    case history(client: UInt16, json: Bool)
    case stats(json: Bool)
    case ping, sync
    /// A protocol request given as the line to send: a transaction (`deposit,1,7,2.5`), `QUIT`.
    case raw(String)
    /// No command: an interactive prompt on a terminal, else request lines from standard input.
    case session
    /// `--latency`: `PING` round trips.
    case latency
    /// `hash-token ROLE NAME`: the auth file line for the token on standard input (§9).
    case hashToken(role: String, name: String)
    /// `follow [--from LSN|snapshot] [--lsn-file FILE]`: print the change stream (SPEC §10).
    case follow(from: FollowStart?, lsnFile: String?)
    /// `mirror redis://HOST:PORT[/DB]`: keep every account in Redis (SPEC §10).
    case mirror(url: String)
    case help, version
}

struct Invocation: Equatable {
    /// The daemons to try, in the order given (SPEC §8); never empty.
    var targets: [SocketAddress]
    var command: Command
    /// `-r N`: run the command N times (`-1`: until interrupted); with `--latency`, the number
    /// of samples. Nil: once (`--latency`: until interrupted).
    var repeatCount: Int? = nil
    /// `-i SECONDS`, in milliseconds: the pause between repeats or latency samples.
    var intervalMilliseconds: UInt64? = nil
    /// `--tls`, `--cacert`, `--cert`, `--key`, `--tls-server-name`, `--token-file` (§9).
    var security = ClientSecurity.Options()
}

/// Where `follow` starts when its `--lsn-file` records nothing.
enum FollowStart: Equatable {
    /// `--from N`: the transaction with LSN N (0: the first one kept).
    case lsn(UInt64)
    /// `--from snapshot`: every account as it stands, then the transactions after.
    case snapshot
}

/// A command line that does not make sense; printed as one line and exit status 2.
struct UsageError: Error, CustomStringConvertible {
    let description: String
}

/// The daemon's default socket (SPEC §5), relative to the working directory like the daemon's.
let defaultSocketPath = "./paymentsd.sock"

/// The options seen on a command line, before they are checked against the command.
private struct Options {
    var targets: [SocketAddress] = []
    var words: [String] = []
    var flags: Set<String> = []
    var repeatCount: Int?
    var intervalMilliseconds: UInt64?
    var security = ClientSecurity.Options()
    /// `--from`, `--lsn-file`: options of `follow` that take a value.
    var values: [String: String] = [:]
}

/// Hand-written parsing: global options may appear anywhere; `--` ends options; an argument
/// that is a negative number (`tx -1`) is a word, so that it gets the word's error. `--unix`
/// and `--tcp` may be repeated and mixed; without them, `socket` (`$PAYMENTSD_SOCKET`) names
/// the daemons.
func parseArguments(_ arguments: [String], environment socket: String?) throws -> Invocation {
    var options = Options()
    var index = 0, optionsEnded = false
    func value(_ option: String) throws -> String {
        guard index < arguments.count else { throw UsageError(description: "\(option) needs a value") }
        index += 1
        return arguments[index - 1]
    }
    while index < arguments.count {
        let argument = arguments[index]
        index += 1
        if optionsEnded || !isOption(argument) { options.words.append(argument); continue }
        switch argument {
        case "--": optionsEnded = true
        case "-h", "--help": return Invocation(targets: [.unix(path: defaultSocketPath)], command: .help)
        case "--version": return Invocation(targets: [.unix(path: defaultSocketPath)], command: .version)
        case "--unix", "--tcp": options.targets.append(try parseTarget(try value(argument), tcp: argument == "--tcp"))
        case "--verbose", "-v": options.flags.insert("--verbose")
        case "--json", "--latency": options.flags.insert(argument)
        case "--from", "--lsn-file": options.values[argument] = try value(argument)
        case "-r": options.repeatCount = try parseRepeat(try value(argument))
        case "-i": options.intervalMilliseconds = try parseSeconds(try value(argument))
        case "--tls": options.security.tls = true
        // A CA or a client certificate only makes sense with TLS: giving one asks for it.
        case "--cacert": options.security.caFile = try value(argument); options.security.tls = true
        case "--cert": options.security.certificate = try value(argument); options.security.tls = true
        case "--key": options.security.key = try value(argument)
        case "--tls-server-name": options.security.serverName = try value(argument)
        case "--token-file": options.security.tokenFile = try value(argument)
        default: throw UsageError(description: "unknown option \(argument)")
        }
    }
    let command = try parseCommand(options)
    let targets = options.targets.isEmpty ? try defaultTargets(socket) : options.targets
    if options.security.key != nil && options.security.certificate == nil { throw UsageError(description: "--key goes with --cert") }
    return Invocation(
        targets: targets, command: command, repeatCount: options.repeatCount,
        intervalMilliseconds: options.intervalMilliseconds, security: options.security)
}

/// `-x`, `--x`; not `-` (standard input) and not a negative number.
private func isOption(_ argument: String) -> Bool {
    guard argument.hasPrefix("-"), argument != "-" else { return false }
    let rest = argument.utf8.dropFirst()
    return !(rest.first.map { $0 >= 48 && $0 <= 57 } ?? false)
}

private func parseTarget(_ text: String, tcp: Bool) throws -> SocketAddress {
    do {
        return tcp ? try SocketAddress.hostPort(text) : try SocketAddress.unixPath(text)
    } catch {
        throw UsageError(description: "\(error)")
    }
}

/// `-r N`: a count of at least 1, or `-1` for "until interrupted" (as `redis-cli -r -1`).
private func parseRepeat(_ text: String) throws -> Int {
    if text == "-1" { return -1 }
    guard let count: UInt32 = try? number(text, "-r"), count >= 1 else {
        throw UsageError(description: "-r takes a count of 1 or more (or -1: until interrupted), not \"\(text)\"")
    }
    return Int(count)
}

/// `-i SECONDS`: digits with an optional fraction of up to 3 digits (`0.1`, `2`), as milliseconds.
private func parseSeconds(_ text: String) throws -> UInt64 {
    let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
    let whole = parts[0], fraction = parts.count > 1 ? parts[1] : ""
    let digits = { (s: Substring) in s.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }
    guard !(whole.isEmpty && fraction.isEmpty), whole.count <= 6, fraction.count <= 3, digits(whole), digits(fraction)
    else { throw UsageError(description: "-i takes seconds, such as 1 or 0.25, not \"\(text)\"") }
    let padded = fraction + String(repeating: "0", count: 3 - fraction.count)
    return (UInt64(whole) ?? 0) * 1000 + (UInt64(padded) ?? 0)
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

/// The command, checked against the options that came with it. `-r` and `-i` apply to the
/// one-request commands and `--latency` only.
private func parseCommand(_ options: Options) throws -> Command {
    var command: Command
    if options.flags.contains("--latency") {
        guard options.words.isEmpty else { throw UsageError(description: "--latency takes no command") }
        if let stray = options.flags.subtracting(["--latency"]).sorted().first {
            throw UsageError(description: "\(stray) does not apply to --latency")
        }
        command = .latency
    } else if options.words.isEmpty {
        if let stray = options.flags.sorted().first { throw UsageError(description: "\(stray) needs a command") }
        command = .session
    } else {
        command = try parseWords(options.words, flags: options.flags)
    }
    if let (option, _) = options.values.sorted(by: { $0.key < $1.key }).first {
        guard case .follow = command else { throw UsageError(description: "\(option) applies to follow only") }
    }
    if case .follow = command {
        command = .follow(from: try options.values["--from"].map(parseFrom), lsnFile: options.values["--lsn-file"])
    }
    switch command {
    case .send, .session, .help, .version, .hashToken, .follow, .mirror:
        if options.repeatCount != nil || options.intervalMilliseconds != nil {
            let option = options.repeatCount != nil ? "-r" : "-i"
            throw UsageError(description: command == .session ? "\(option) needs a command" : "\(option) does not apply to \(options.words[0])")
        }
    default: break
    }
    return command
}

/// A command word (any case, as the protocol's), its arguments and flags. A first word with a
/// comma or a `{` is a transaction line, sent as given; `JSON` after `get` and `dump` is the
/// protocol's spelling of `--json`.
private func parseWords(_ words: [String], flags: Set<String>) throws -> Command {
    let name = words[0].lowercased()
    var rest = Array(words.dropFirst())
    var flags = flags
    if ["get", "dump"].contains(name), let last = rest.last, last.lowercased() == "json", rest.count == (name == "get" ? 2 : 1) {
        rest.removeLast()
        flags.insert("--json")
    }
    func allow(_ allowed: Set<String>) throws {
        if let stray = flags.subtracting(allowed).sorted().first {
            throw UsageError(description: "\(stray) does not apply to \(name)")
        }
    }
    func arguments(_ count: Int, _ what: String) throws {
        if rest.count != count { throw UsageError(description: "\(name) takes \(what)") }
    }
    let json = flags.contains("--json")
    switch name {
    case "send":
        try allow(["--verbose"])
        return .send(files: rest, verbose: flags.contains("--verbose"))
    case "get":
        try allow(["--json"]); try arguments(1, "one CLIENT")
        return .get(client: try number(rest[0], "CLIENT"), json: json)
    case "dump":
        try allow(["--json"]); try arguments(0, "no arguments")
        return .dump(json: json)
    case "tx":
        try allow([]); try arguments(1, "one ID")
        return .tx(id: try number(rest[0], "ID"))
    case "history":
        try allow(["--json"]); try arguments(1, "one CLIENT")
        return .history(client: try number(rest[0], "CLIENT"), json: json)
    case "stats":
        try allow(["--json"]); try arguments(0, "no arguments")
        return .stats(json: json)
    case "ping", "sync", "quit":
        try allow([]); try arguments(0, "no arguments")
        return name == "ping" ? .ping : name == "sync" ? .sync : .raw("QUIT")
    case "hash-token":
        try allow([]); try arguments(2, "ROLE NAME (the token is read from standard input)")
        guard ["read", "write", "admin"].contains(rest[0]) else {
            throw UsageError(description: "hash-token: the role is read, write or admin, not \"\(rest[0])\"")
        }
        guard !rest[1].isEmpty, rest[1].utf8.count <= 64, rest[1].utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw UsageError(description: "hash-token: the name is 1 to 64 printable characters without spaces")
        }
        return .hashToken(role: rest[0], name: rest[1])
    case "help":
        return .help
    case "follow":
        try allow([]); try arguments(0, "no arguments (--from LSN, --lsn-file FILE)")
        return .follow(from: nil, lsnFile: nil)
    case "mirror":
        try allow([]); try arguments(1, "one URL (redis://HOST:PORT[/DB])")
        return .mirror(url: rest[0])
    default:
        guard words[0].contains(",") || words[0].hasPrefix("{") else {
            throw UsageError(description: "unknown command \(words[0]) (paymentsctl --help lists the commands)")
        }
        try allow([])
        return .raw(words.joined(separator: " "))
    }
}

/// A client (0...65535) or tx id (0...4294967295): digits only, in range.
private func number<T: FixedWidthInteger>(_ text: String, _ what: String) throws -> T {
    guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = T(text) else {
        throw UsageError(description: "\(what) must be a number 0...\(T.max), not \"\(text)\"")
    }
    return value
}

/// `--from N` or `--from snapshot`.
private func parseFrom(_ text: String) throws -> FollowStart {
    if text.lowercased() == "snapshot" { return .snapshot }
    guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let lsn = UInt64(text) else {
        throw UsageError(description: "--from takes an LSN (a number) or snapshot, not \"\(text)\"")
    }
    return .lsn(lsn)
}
