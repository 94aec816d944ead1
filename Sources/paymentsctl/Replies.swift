import PaymentsPlatform

/// What the reply to a request must look like (SPEC §5). Every reply is checked against it, so
/// that something else listening on the address (an HTTP server answering `HTTP/1.1 400 Bad
/// Request`) is an error, never a success.
enum ReplyShape: Equatable {
    /// `PING`: `PONG`.
    case pong
    /// `SYNC`: `OK`.
    case ok
    /// `QUIT`: `BYE`, then the daemon closes the connection.
    case bye
    /// A transaction: `OK` or `REJECTED <reason>`.
    case outcome
    /// `GET`: one CSV row, or one JSON object.
    case account(json: Bool)
    /// `TX`: `type,client,tx,amount,state`.
    case transaction
    /// `STATS`: `key=value` pairs.
    case stats
    /// `DUMP`: the accounts CSV (header first) or JSON lines, then an empty line.
    case accounts(json: Bool)
    /// `HISTORY`: `type,client,tx,amount,outcome` lines, then an empty line.
    case history
    /// `HELP`: lines of text, then an empty line.
    case help
    /// A first word the daemon does not know: it answers one `ERR` line.
    case unknown

    /// Whether the reply is lines ended by an empty line.
    var isBlock: Bool {
        switch self {
        case .accounts, .history, .help: true
        default: false
        }
    }

    /// The reply a request line gets, read as the daemon reads it (the first word in any
    /// case, a transaction has a comma or starts with `{`); nil for a blank line or a CSV
    /// header, which get none.
    static func of(requestLine line: String) -> ReplyShape? {
        if LineKind.isSilent(line.utf8) { return nil }
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
        let json = words.count > 1 && words[words.count - 1].lowercased() == "json"
        switch words.first?.uppercased() ?? "" {
        case "PING": return .pong
        case "SYNC": return .ok
        case "QUIT": return .bye
        case "STATS": return .stats
        case "GET": return .account(json: json)
        case "TX": return .transaction
        case "DUMP": return .accounts(json: json)
        case "HISTORY": return .history
        case "HELP": return .help
        default: return line.contains(",") || line.contains("{") ? .outcome : .unknown
        }
    }

    /// Whether `line`, the `index`th line of the reply (not an `ERR` line, not a block's
    /// closing empty line), is one this request can get.
    func accepts(_ line: String, index: Int) -> Bool {
        if index == 0 && line.hasPrefix("HTTP/") { return false }
        switch self {
        case .pong: return line == "PONG"
        case .ok: return line == "OK"
        case .bye: return line == "BYE"
        case .outcome: return line == "OK" || line == "REJECTED" || line.hasPrefix("REJECTED ")
        case .account(let json): return json ? Self.isJSONAccount(line) : Self.isCSVAccount(line)
        case .transaction, .history: return Self.isTransaction(line)
        case .stats: return StatsReply(line) != nil
        case .accounts(let json):
            if json { return Self.isJSONAccount(line) }
            return index == 0 ? line == Self.accountsHeader : Self.isCSVAccount(line)
        case .help, .unknown: return true
        }
    }

    static let accountsHeader = "client,available,held,total,locked"

    /// `1,1.5000,0.0000,1.5000,false`.
    private static func isCSVAccount(_ line: String) -> Bool {
        let fields = line.split(separator: ",", omittingEmptySubsequences: false)
        return fields.count == 5 && isDigits(fields[0]) && (fields[4] == "true" || fields[4] == "false")
    }

    private static func isJSONAccount(_ line: String) -> Bool { line.hasPrefix(#"{"client":"#) && line.hasSuffix("}") }

    /// `deposit,1,7,2.5000,ok`: a word, two numbers, an amount, a state or outcome.
    private static func isTransaction(_ line: String) -> Bool {
        let fields = line.split(separator: ",", omittingEmptySubsequences: false)
        return fields.count == 5 && !fields[0].isEmpty && fields[0].allSatisfy(\.isLetter)
            && isDigits(fields[1]) && isDigits(fields[2])
    }

    private static func isDigits(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
    }
}

/// How the reading of a reply ended when it did not end with the reply.
enum ReplyFailure: Error, Equatable {
    /// A line this request cannot get from paymentsd: something else is listening there.
    case notPaymentsd(String)
    /// `ERR too many connections` as the connection's first line: the daemon was at its
    /// connection limit and closed the connection without reading the request.
    case refused
    /// The connection ended before the reply (`partly`: in the middle of a block).
    case closed(partly: Bool)

    /// The refusal at the connection limit in words, and what to do about it.
    static func refusal(_ target: SocketAddress, advice: String) -> String {
        "\(target) refused the connection: too many connections (the daemon is at its --max-connections limit); \(advice)"
    }

    /// One line for people, naming the address.
    func message(_ target: SocketAddress) -> String {
        switch self {
        case .notPaymentsd(let line):
            return "not a paymentsd line protocol at \(target) (got \"\(quotedReply(line))\")"
        case .refused:
            return Self.refusal(target, advice: "try again later")
        case .closed(let partly):
            return partly ? "\(target) closed the connection before the end of the reply"
                : "\(target) closed the connection without a reply"
        }
    }
}

/// A reply that was read whole and passed its checks.
enum ReplyEnd: Equatable {
    case done
    /// An `ERR ...` line (the whole line): the daemon's answer that the request failed.
    case error(String)
}

/// What the daemon sends a connection over its limit before closing it (SPEC §5).
let refusalLine = "ERR too many connections"

/// How much of an unexpected reply an error message quotes.
let quotedReplyCharacters = 60

/// The start of a reply, printable, so that an error stays one readable line.
func quotedReply(_ text: String) -> String {
    let printable = text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) }
    let head = String(printable.prefix(quotedReplyCharacters))
    return printable.count > quotedReplyCharacters ? head + "..." : head
}

/// `ERR` alone or followed by a space and a message.
func isErrorLine(_ line: String) -> Bool { line == "ERR" || line.hasPrefix("ERR ") }

extension DaemonConnection {
    /// Reads the reply to one request of `shape` and hands each line to `line` after checking
    /// it (a block's closing empty line is not handed over). An `ERR` first line is a whole
    /// reply to any request.
    func readReply(_ shape: ReplyShape, line: (String) -> Void) -> Result<ReplyEnd, ReplyFailure> {
        readReply(shape, next: { readLine() }, line: line)
    }

    /// The same, with the reply lines from `next` (nil: the stream ended), for a caller that
    /// waits for something else as well.
    func readReply(
        _ shape: ReplyShape, next: () -> ArraySlice<UInt8>?, line: (String) -> Void
    ) -> Result<ReplyEnd, ReplyFailure> {
        var index = 0
        while let bytes = next() {
            let text = String(decoding: bytes, as: UTF8.self)
            if index == 0 && linesTaken == 1 && text == refusalLine { return .failure(.refused) }
            if index == 0 && isErrorLine(text) { return .success(.error(text)) }
            if shape.isBlock && text.isEmpty { return .success(.done) }
            guard shape.accepts(text, index: index) else { return .failure(.notPaymentsd(text)) }
            line(text)
            index += 1
            if !shape.isBlock { return .success(.done) }
        }
        if let overlongLine { return .failure(.notPaymentsd(overlongLine)) }
        return .failure(.closed(partly: index > 0))
    }
}
