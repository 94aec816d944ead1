import PaymentsCore
import PaymentsFormat

/// The responses to the routes of §7, rendered from the engine by the formats layer. Amounts
/// are strings with four decimals; bodies are JSON unless the client asked for CSV.
struct HTTPRoutes {
    unowned let service: DaemonService
    let maxLineBytes: Int
    /// `Date: ...\r\n` for every response (RFC 9110 §6.6.1), refreshed by `HTTPProtocol`
    /// when the second changes.
    var dateLine: [UInt8] = []
    /// A multi-line POST reports at most this many errors (the counts stay exact).
    static let maxReportedErrors = 1000

    var ledger: Ledger { service.durable.engine.ledger }

    func respond(to request: HTTPRequest, into out: inout [UInt8]) {
        let close = !request.keepAlive
        func send(_ status: HTTPStatus, _ type: HTTPContentType, _ body: [UInt8], headOnly: Bool = false) {
            HTTPResponse.append(
                status, contentType: type, body: body, close: close, requestVersion: request.version,
                omitBody: headOnly, extraHeaders: dateLine, to: &out)
        }
        func error(_ status: HTTPStatus, _ message: String, headOnly: Bool = false, allow: StaticString? = nil) {
            HTTPResponse.appendError(
                status, message: message, close: close, requestVersion: request.version, allow: allow,
                omitBody: headOnly, extraHeaders: dateLine, to: &out)
        }
        // A response to HEAD has no body, errors included (RFC 9110 §9.3.2).
        let isHead = request.method == .head
        switch HTTPRouter.route(request) {
        case .notFound:
            error(.notFound, "no such route: \(request.pathString)", headOnly: isHead)
        case .methodNotAllowed(let allow):
            error(.methodNotAllowed, "method not allowed", headOnly: isHead, allow: allow)
        case .route(let route, let headOnly):
            var body: [UInt8] = []
            if service.leaseLapsed, route.readsLedger {
                return error(.serviceUnavailable, "journal unavailable: \(DaemonService.leaseLapsedReason)", headOnly: headOnly)
            }
            switch route {
            case .healthz:
                // A daemon that cannot write its journal is not healthy: load balancers notice.
                guard service.journalAvailable else {
                    return error(.serviceUnavailable, "journal unavailable: \(DaemonService.noSpaceReason)", headOnly: headOnly)
                }
                send(.ok, .plainText, Array("OK".utf8), headOnly: headOnly)
            case .clients:
                if request.acceptsCSV {
                    AccountText.appendAll(ledger, json: false, to: &body)
                    send(.ok, .csv, body, headOnly: headOnly)
                } else {
                    AccountText.appendJSONArray(ledger, to: &body)
                    send(.ok, .json, body, headOnly: headOnly)
                }
            case .client(let id):
                guard let account = ledger.account(id) else { return error(.notFound, "unknown client", headOnly: headOnly) }
                AccountText.appendJSON(account, to: &body)
                body.removeLast()
                send(.ok, .json, body, headOnly: headOnly)
            case .clientTransactions(let id):
                body.append(UInt8(ascii: "["))
                for (i, entry) in service.durable.engine.history.entries(of: id).enumerated() {
                    if i > 0 { body.append(UInt8(ascii: ",")) }
                    TransactionText.appendJSON(client: id, entry, to: &body)
                }
                body.append(UInt8(ascii: "]"))
                send(.ok, .json, body, headOnly: headOnly)
            case .transaction(let id):
                guard let stored = ledger.transactions.lookup(id) else { return error(.notFound, "unknown tx", headOnly: headOnly) }
                TransactionText.appendJSON(id: id, stored, to: &body)
                body.removeLast()
                send(.ok, .json, body, headOnly: headOnly)
            case .postTransactions:
                let (status, reply) = post(request)
                send(status, .json, reply)
            case .metrics:
                send(.ok, .prometheus, MetricsPage.render(service), headOnly: headOnly)
            case .leader:
                let (status, reply) = leader()
                send(status, .json, reply, headOnly: headOnly)
            case .events:
                // GET is streamed by `HTTPProtocol`; HEAD gets the head of a stream with no body.
                send(.ok, .ndjson, [], headOnly: true)
            }
        }
    }

    /// `200` where writes are taken, `503` (with the leader's name when known) elsewhere. A
    /// daemon on the local journal is its ledger's only writer: `200` while it takes writes.
    func leader() -> (HTTPStatus, [UInt8]) {
        var body: [UInt8] = Array(#"{"role":"#.utf8)
        let status = service.durable.replica?.replicaStatus
        HTTPJSONString.append(status?.role.rawValue ?? "leader", to: &body)
        if let status {
            body.append(contentsOf: #","epoch":\#(status.epoch),"lsn":\#(status.appliedLSN),"leader":"#.utf8)
            HTTPJSONString.append(status.leader, to: &body)
        }
        body.append(UInt8(ascii: "}"))
        return (service.writeRefusal == nil ? .ok : .serviceUnavailable, body)
    }

    /// Where `GET /events` starts: `from=LSN` (0 the start), `snapshot=1` (or `true`) for the
    /// accounts first, neither for the next record. Nil for a query it does not understand.
    static func followStart(_ query: ArraySlice<UInt8>?) -> FollowStart? {
        guard let query, !query.isEmpty else { return .next }
        var start = FollowStart.next
        for pair in query.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(decoding: parts[0], as: UTF8.self)
            let value = parts.count > 1 ? String(decoding: parts[1], as: UTF8.self) : ""
            switch key {
            case "from":
                guard let lsn = UInt64(value), lsn <= UInt64(Int64.max), start == .next else { return nil }
                start = .lsn(lsn)
            case "snapshot":
                switch value {
                case "1", "true", "": guard start == .next else { return nil }; start = .snapshot
                case "0", "false": break
                default: return nil
                }
            default: return nil
            }
        }
        return start
    }

    /// Room for 64 KiB of lines at a time, and at least what the framer needs for its limit.
    static func framerBufferBytes(_ maxLineBytes: Int) -> Int { max(64 << 10, 2 * (maxLineBytes + 2)) }

    /// One JSON transaction (200 / 422 / 400), or many lines when the body is CSV or NDJSON.
    /// A body is lines when its type says so, or when it has more than one non-empty line
    /// whatever its type (curl's default form type, a client that says `application/json` for
    /// NDJSON), unless it is one JSON object spread over several lines (pretty-printed).
    func post(_ request: HTTPRequest) -> (HTTPStatus, [UInt8]) {
        // A standby takes none of a body's lines: one 503 tells the client where to go.
        if let refusal = service.writeRefusal { return (.serviceUnavailable, refusal.json) }
        if request.contentTypeIs("text/csv") || request.contentTypeIs("application/x-ndjson") {
            return (.ok, postLines(request.body))
        }
        let parsed = request.body.withUnsafeBytes { raw in TransactionLine.parse(raw.trimmingLineEnds()) }
        if case .malformed = parsed, Self.hasSeveralLines(request.body) {
            return (.ok, postLines(request.body))
        }
        switch parsed {
        case .skip:
            service.durable.malformed += 1
            return (.badRequest, Array(#"{"error":"empty body: expected one JSON transaction"}"#.utf8))
        case .malformed(let e):
            service.durable.malformed += 1
            var body: [UInt8] = []
            HTTPResponse.appendErrorBody(message: e.message, to: &body)
            return (.badRequest, body)
        case .transaction(let t):
            switch service.submit(t) {
            case .success(.applied): return (.ok, Array(#"{"result":"ok"}"#.utf8))
            case .success(.rejected(let r)):
                return (.unprocessableContent, Array(#"{"result":"rejected","reason":"\#(r.reason)"}"#.utf8))
            case .failure(let refusal): return (.serviceUnavailable, refusal.json)
            }
        }
    }

    /// More than one line with something other than spaces, tabs or a CR on it.
    static func hasSeveralLines(_ body: [UInt8]) -> Bool {
        var lines = 0, lineHasText = false
        for byte in body {
            switch byte {
            case 0x0A:
                if lineHasText { lines += 1 }
                if lines > 1 { return true }
                lineHasText = false
            case 0x20, 0x09, 0x0D: break
            default: lineHasText = true
            }
        }
        return lines + (lineHasText ? 1 : 0) > 1
    }

    /// Every line handled as the line protocol would; one summary with the errors by line.
    func postLines(_ body: [UInt8]) -> [UInt8] {
        var applied = 0, rejected = 0, malformed = 0
        var errors: [UInt8] = []
        var reported = 0
        var lineNumber = 0
        func report(_ reply: String) {
            guard reported < Self.maxReportedErrors else { return }
            if reported > 0 { errors.append(UInt8(ascii: ",")) }
            errors.append(contentsOf: #"{"line":\#(lineNumber),"reply":"#.utf8)
            HTTPJSONString.append(reply, to: &errors)
            errors.append(UInt8(ascii: "}"))
            reported += 1
        }
        let framer = LineFramer(maxLineBytes: maxLineBytes, bufferBytes: Self.framerBufferBytes(maxLineBytes))
        func handle(_ event: InputEvent) {
            lineNumber += 1
            let request: LineRequest
            switch event {
            case .line(let bytes): request = LineRequest.parse(bytes)
            case .tooLong, .bytes: request = .malformed(.lineTooLong)
            }
            switch request {
            case .skip: return
            case .transaction(let t):
                switch service.submit(t) {
                case .success(.applied): applied += 1
                case .success(.rejected(let r)): rejected += 1; report("REJECTED \(r.reason)")
                case .failure(let refusal): malformed += 1; report(String(refusal.line.dropLast()))
                }
            case .malformed(let e):
                malformed += 1
                report("ERR \(e.message)")
            case .unknownCommand:
                // In a body of transactions a lone word is a transaction of no known type.
                malformed += 1
                report("ERR \(ParseError.unknownType.message)")
            default:
                malformed += 1
                report("ERR only transactions are accepted in a POST body")
            }
        }
        body.withUnsafeBytes { raw in framer.feed(raw, handle) }
        if let last = framer.finish() { handle(last) }
        service.durable.malformed += malformed
        var out = Array(#"{"applied":\#(applied),"rejected":\#(rejected),"malformed":\#(malformed),"errors":["#.utf8)
        out.append(contentsOf: errors)
        out.append(UInt8(ascii: "]"))
        if reported < rejected + malformed { out.append(contentsOf: #","errors_truncated":true"#.utf8) }
        out.append(UInt8(ascii: "}"))
        return out
    }
}

extension UnsafeRawBufferPointer {
    /// Without trailing CR, LF, spaces or tabs: a JSON body may end with a newline.
    func trimmingLineEnds() -> UnsafeRawBufferPointer {
        var end = count
        while end > 0, self[end - 1] == 0x0A || self[end - 1] == 0x0D || self[end - 1] == 0x20 || self[end - 1] == 0x09 {
            end -= 1
        }
        return UnsafeRawBufferPointer(rebasing: self[0..<end])
    }
}
