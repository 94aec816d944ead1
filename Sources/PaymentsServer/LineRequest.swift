import PaymentsCore
import PaymentsFormat

/// One line of the line protocol (§5), read: a transaction (CSV or JSON) or a command word.
/// Transaction lines have commas or braces; command lines are a word and arguments separated
/// by spaces, so the two never overlap.
enum LineRequest: Equatable {
    case transaction(Transaction)
    case malformed(ParseError)
    /// Blank lines and CSV headers: no reply.
    case skip
    case get(ClientID, json: Bool)
    case dump(json: Bool)
    case tx(TransactionID)
    case history(ClientID)
    case sync, stats, ping, help, quit
    /// `AUTH <token>` (§9): the token's bytes, empty when the line had none (or more than one word).
    case auth([UInt8])
    /// `FOLLOW [LSN|SNAPSHOT]`: the connection becomes a change stream (§10).
    case follow(FollowStart)
    /// A command word with arguments it does not take: the text after `ERR`.
    case usage(String)
    /// A single word that is neither a command nor a transaction type (`hello`, `PIGN`): a
    /// mistyped command, answered with a pointer to `HELP`. Holds the word as it is shown.
    case unknownCommand(String)

    static func parse(_ line: UnsafeRawBufferPointer) -> LineRequest {
        var words = Words(line)
        let firstWord = words.next()
        guard let first = firstWord, let command = Command(line, first) else {
            switch TransactionLine.parse(line) {
            case .transaction(let t): return .transaction(t)
            case .skip: return .skip
            case .malformed(.unknownType) where words.next() == nil && isBareWord(line, firstWord):
                return .unknownCommand(shown(line, firstWord))
            case .malformed(let e): return .malformed(e)
            }
        }
        let a = words.next(), b = words.next(), extra = words.next() != nil
        if command == .auth {
            guard let a, b == nil else { return .auth([]) }
            return .auth(Array(line[a]))
        }
        func isJSON(_ r: Range<Int>?) -> Bool { r.map { line.equalsIgnoringCase($0, "json") } ?? false }
        switch command {
        case .get:
            guard let a, let c = line.parseUnsigned(a, limit: UInt64(ClientID.max)), b == nil || isJSON(b), !extra else {
                return .usage("usage: GET <client 0-65535> [JSON]")
            }
            return .get(ClientID(c), json: b != nil)
        case .dump:
            guard a == nil || isJSON(a), b == nil else { return .usage("usage: DUMP [JSON]") }
            return .dump(json: a != nil)
        case .tx:
            guard let a, let id = line.parseUnsigned(a, limit: UInt64(TransactionID.max)), b == nil else {
                return .usage("usage: TX <id 0-4294967295>")
            }
            return .tx(TransactionID(id))
        case .history:
            guard let a, let c = line.parseUnsigned(a, limit: UInt64(ClientID.max)), b == nil else {
                return .usage("usage: HISTORY <client 0-65535>")
            }
            return .history(ClientID(c))
        case .auth:
            return .auth([])
        case .follow:
            guard b == nil else { return .usage(followUsage) }
            guard let a else { return .follow(.next) }
            if line.equalsIgnoringCase(a, "snapshot") { return .follow(.snapshot) }
            guard let lsn = line.parseUnsigned(a, limit: UInt64(Int64.max)) else { return .usage(followUsage) }
            return .follow(.lsn(lsn))
        case .sync, .stats, .ping, .help, .quit:
            guard a == nil else { return .usage("usage: \(command.word) takes no arguments") }
            switch command {
            case .sync: return .sync
            case .stats: return .stats
            case .ping: return .ping
            case .help: return .help
            default: return .quit
            }
        }
    }

    static let followUsage = "usage: FOLLOW [<lsn> | SNAPSHOT]"

    /// A word without the bytes that make a transaction (`,` of CSV; `{`, `}`, `"` of JSON): a
    /// line of one such word was meant as a command. A transaction type alone (`deposit`)
    /// never gets here: it is a transaction missing its fields, and is told so.
    static func isBareWord(_ line: UnsafeRawBufferPointer, _ word: Range<Int>?) -> Bool {
        guard let word else { return false }
        return !line[word].contains { $0 == 0x2C || $0 == 0x7B || $0 == 0x7D || $0 == 0x22 }
    }

    /// Longest echo of an unknown word in a reply.
    static let maxShownWordBytes = 32

    /// The word as a reply may show it: printable ASCII only (anything else is `?`), cut at
    /// `maxShownWordBytes` with `...`, so a reply stays one short, harmless line.
    static func shown(_ line: UnsafeRawBufferPointer, _ word: Range<Int>?) -> String {
        guard let word else { return "" }
        var bytes = line[word].prefix(maxShownWordBytes).map { $0 > 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: "?") }
        if word.count > maxShownWordBytes { bytes += Array("...".utf8) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The reply to an unknown command, after `ERR `.
    static func unknownCommandMessage(_ word: String) -> String { "unknown command \(word) (HELP lists the requests)" }

    /// The help text: one request per line.
    static let helpText = """
        AUTH <token>                      first line on a listener that needs a token (§9)
        <type>,<client>,<tx>[,<amount>]   a transaction as CSV (or one JSON object per line)
        GET <client> [JSON]               one account
        DUMP [JSON]                       every account, then an empty line
        TX <id>                           a deposit or withdrawal and its state
        HISTORY <client>                  a client's transactions, then an empty line
        SYNC                              OK once everything before it is on stable storage
        FOLLOW [<lsn> | SNAPSHOT]         the change stream: one JSON line per transaction from <lsn>
                                          (0: the start; none: the next), as each becomes durable;
                                          SNAPSHOT: every account first, then what follows
        STATS                             counters as key=value pairs
        PING                              PONG
        HELP                              this list, then an empty line
        QUIT                              BYE, then the connection closes

        """
}

/// The command words, matched in any case.
enum Command: CaseIterable {
    case get, dump, tx, history, sync, stats, ping, help, quit, auth, follow

    var word: String {
        switch self {
        case .get: "GET"
        case .dump: "DUMP"
        case .tx: "TX"
        case .history: "HISTORY"
        case .sync: "SYNC"
        case .stats: "STATS"
        case .ping: "PING"
        case .help: "HELP"
        case .quit: "QUIT"
        case .auth: "AUTH"
        case .follow: "FOLLOW"
        }
    }

    init?(_ line: UnsafeRawBufferPointer, _ range: Range<Int>) {
        guard range.count >= 2, range.count <= 7 else { return nil }
        for command in Command.allCases where command.word.utf8.count == range.count {
            if zip(command.word.utf8, line[range]).allSatisfy({ $0 | 0x20 == $1 | 0x20 }) {
                self = command
                return
            }
        }
        return nil
    }
}

/// Space- or tab-separated words of a line (a trailing `\r` is not part of the last word).
struct Words {
    let line: UnsafeRawBufferPointer
    var i = 0
    let end: Int

    init(_ line: UnsafeRawBufferPointer) {
        self.line = line
        end = line.count > 0 && line[line.count - 1] == 0x0D ? line.count - 1 : line.count
    }

    mutating func next() -> Range<Int>? {
        while i < end, line[i] == 0x20 || line[i] == 0x09 { i += 1 }
        guard i < end else { return nil }
        let start = i
        while i < end, line[i] != 0x20 && line[i] != 0x09 { i += 1 }
        return start..<i
    }
}
