import PaymentsFormat
import PaymentsPlatform

/// The HTTP API of §7 on the event loop, beside the line protocol: the same engine, the same
/// journal, the same reply gate. Responses go out in request order, each held until the
/// journal records it depends on are safe, exactly as a line's `OK`.
final class HTTPProtocol: ConnectionHandler {
    let service: DaemonService
    let configuration: DaemonConfiguration
    var routes: HTTPRoutes
    /// The second `routes.dateLine` shows.
    var dateSecond: Int64 = -1
    var sessions: [UInt64: Session] = [:]
    /// Ticks once a second while HTTP connections are open, to enforce the idle timeout;
    /// disarmed when there are none, so an idle daemon costs no CPU.
    var idleTimer: TimerFD?
    var scratch: [UInt8] = []

    final class Session {
        let connection: Connection
        var parser: HTTPRequestParser
        /// When the connection opened, last finished a request, or received the first byte of
        /// the request in progress: that request must be complete within the idle timeout from here.
        var idleSince: UInt64
        /// Requests wait in the parser because the responses before them passed the
        /// connection's high-water mark.
        var isStalled = false
        /// The token this connection presented (§9), on listeners that require one.
        var access = HTTPAccess()
        /// The connection answers `GET /events`: the change stream has it, for good.
        var isStreaming = false

        init(_ connection: Connection, limits: HTTPParserLimits) {
            self.connection = connection
            parser = HTTPRequestParser(limits: limits)
            idleSince = MonotonicClock.milliseconds()
        }
    }

    /// What an HTTP client refused at the connection limit reads before the close.
    static let tooManyConnectionsResponse: [UInt8] = {
        var out: [UInt8] = []
        HTTPResponse.appendError(.serviceUnavailable, message: "too many connections", close: true, to: &out)
        return out
    }()

    /// What `curl http://` to an HTTPS listener reads before the close (nginx answers the same).
    static let plainHTTPOnTLSResponse: [UInt8] = {
        var out: [UInt8] = []
        HTTPResponse.appendError(.badRequest, message: "plain HTTP sent to an HTTPS port: use https://", close: true, to: &out)
        return out
    }()

    init(service: DaemonService, configuration: DaemonConfiguration) {
        self.service = service
        self.configuration = configuration
        routes = HTTPRoutes(service: service, maxLineBytes: configuration.maxLineBytes)
    }

    func connectionOpened(_ connection: Connection) {
        connection.holdsReplies = true
        let limits = HTTPParserLimits(maxBodyBytes: configuration.maxBodyBytes)
        sessions[connection.id] = Session(connection, limits: limits)
        if sessions.count == 1 { armIdleTimer() }
    }

    func connectionClosed(_ connection: Connection) {
        sessions[connection.id] = nil
        service.gate.forget(connection)
        service.stream.closed(connection)
        if sessions.isEmpty { try? idleTimer?.disarm() }
    }

    func connection(_ connection: Connection, received event: InputEvent) {
        guard case .bytes(let bytes) = event, let session = sessions[connection.id] else { return }
        // A request's time runs from its first byte: the idle time of a keep-alive connection
        // before it must not be charged to the request that ends it.
        if !session.parser.hasPartialRequest { session.idleSince = MonotonicClock.milliseconds() }
        session.parser.feed(bytes)
        serve(session)
    }

    /// Answers the requests the parser holds, in order, until it needs more bytes or the
    /// connection is to close. Stops early when the connection's unsent responses pass its
    /// high-water mark: one read of pipelined `GET /clients` must not make the daemon hold
    /// gigabytes. The requests left wait in the parser until the loop reports the output drained.
    func serve(_ session: Session) {
        let connection = session.connection
        session.isStalled = false
        refreshDate()
        while true {
            if connection.output.pendingBytes + scratch.count > connection.output.highWaterBytes {
                session.isStalled = true
                connection.notifyWhenDrained = true
                return
            }
            switch session.parser.next() {
            case .needMoreData:
                return
            case .sendContinue:
                HTTPResponse.appendContinue(to: &scratch)
            case .request(let request):
                session.idleSince = MonotonicClock.milliseconds()
                if connection.listener.requiresAuth, let tokens = service.tokens, let denial = session.access.check(request, tokens) {
                    service.countAuthFailure(denial.failure, on: connection.listener)
                    let closing = !request.keepAlive || session.access.failures >= LineProtocol.maxAuthFailures
                    HTTPResponse.appendError(
                        denial.status, message: denial.message, close: closing, requestVersion: request.version,
                        omitBody: request.method == .head, extraHeaders: routes.dateLine + denial.headers, to: &scratch)
                    if closing {
                        finish(connection, closing: true)
                        return
                    }
                    continue
                }
                if request.method == .get, HTTPRouter.route(request) == .route(.events, headOnly: false) {
                    if startStream(session, request) { return }
                    if !request.keepAlive {
                        finish(connection, closing: true)
                        return
                    }
                    continue
                }
                routes.respond(to: request, into: &scratch)
                if !request.keepAlive {
                    finish(connection, closing: true)
                    return
                }
            case .error(let status):
                HTTPResponse.appendError(
                    status, message: HTTPResponse.defaultMessage(for: status), close: true, extraHeaders: routes.dateLine, to: &scratch)
                finish(connection, closing: true)
                return
            }
        }
    }

    func connectionBatchEnded(_ connection: Connection) { finish(connection, closing: false) }

    /// `GET /events`: the head of a streamed response, then the connection is the change
    /// stream's (nothing more is read from it). False when an error response was written
    /// instead (`400` for a query it does not understand, `410` for an LSN no longer kept).
    func startStream(_ session: Session, _ request: HTTPRequest) -> Bool {
        let connection = session.connection
        let close = !request.keepAlive
        if service.leaseLapsed {
            HTTPResponse.appendError(.serviceUnavailable, message: "journal unavailable: \(DaemonService.leaseLapsedReason)",
                                     close: close, requestVersion: request.version, extraHeaders: routes.dateLine, to: &scratch)
            return false
        }
        guard let start = HTTPRoutes.followStart(request.query) else {
            HTTPResponse.appendError(.badRequest, message: "expected from=<lsn> or snapshot=1", close: close,
                                     requestVersion: request.version, extraHeaders: routes.dateLine, to: &scratch)
            return false
        }
        finish(connection, closing: false)  // the responses before it go first
        let framing: ChangeStream.Framing = request.version == .http10 ? .closeDelimited : .chunked
        let token = connection.listener.requiresAuth ? Tokens.hash(session.access.token) : nil
        if let refusal = service.stream.follow(connection, start, framing: framing, tokenHash: token) {
            HTTPResponse.appendError(.gone, message: refusal, close: close, requestVersion: request.version,
                                     extraHeaders: routes.dateLine, to: &scratch)
            return false
        }
        HTTPResponse.appendStreamingHead(.ok, contentType: .ndjson, requestVersion: request.version,
                                         extraHeaders: routes.dateLine, to: &scratch)
        finish(connection, closing: false)
        session.isStreaming = true
        connection.park()
        return true
    }

    /// The client sent everything (`shutdown(SHUT_WR)` after pipelining): a connection closes
    /// once its output is written, so one with requests still stalled stays parked until
    /// `connectionDrained` has answered them.
    func connectionInputEnded(_ connection: Connection) {
        if sessions[connection.id]?.isStreaming == true { return }
        if sessions[connection.id]?.isStalled == true { connection.park() }
    }

    /// Hands the gathered responses to the connection and holds them behind the journal.
    func finish(_ connection: Connection, closing: Bool) {
        if !scratch.isEmpty {
            connection.write(scratch)
            scratch.removeAll(keepingCapacity: true)
        }
        service.hold(connection, syncRequested: false)
        if closing { connection.closeAfterFlush() }
    }

    func armIdleTimer() {
        do {
            if idleTimer == nil { idleTimer = try makeTimer { $0.closeIdleConnections() } }
            try idleTimer?.arm(initialNanoseconds: 1_000_000_000, intervalNanoseconds: 1_000_000_000)
        } catch {
            service.log.warning("HTTP idle timer unavailable, idle connections will not time out: \(error)")
        }
    }

    /// Renders the `Date` line again when the wall clock has moved to another second.
    func refreshDate() {
        let now = WallClock.now().seconds
        guard now != dateSecond else { return }
        dateSecond = now
        routes.dateLine = HTTPDate.headerLine(secondsSinceEpoch: now)
    }

    /// A timer on the loop that calls `action` on each expiry.
    func makeTimer(_ action: @escaping (HTTPProtocol) -> Void) throws(SystemError) -> TimerFD {
        let timer = try TimerFD()
        try service.loop.watch(timer.descriptor) { [weak self] _ in
            _ = try? timer.drain()
            if let self { action(self) }
        }
        return timer
    }

    /// The client read its responses down to the low-water mark: answer what is still buffered.
    func connectionDrained(_ connection: Connection) {
        if sessions[connection.id]?.isStreaming == true { return service.stream.drained(connection) }
        guard let session = sessions[connection.id], session.isStalled, !connection.isClosing else { return }
        if connection.isParked { connection.unpark() }
        serve(session)
        finish(connection, closing: false)
        if session.isStalled && connection.isInputClosed { connection.park() }
    }

    /// 408 for a request that did not arrive complete in time; a connection that sent nothing
    /// since its last response is simply closed.
    func closeIdleConnections() {
        let now = MonotonicClock.milliseconds()
        let limit = UInt64(configuration.httpIdleTimeoutSeconds) * 1000
        refreshDate()
        // A stalled connection's requests are complete: the wait is for its client to read.
        for session in sessions.values
        where now - session.idleSince >= limit && !session.connection.isClosing && !session.isStalled && !session.isStreaming {
            if session.parser.hasPartialRequest {
                HTTPResponse.appendError(
                    .requestTimeout, message: "request not complete in time", close: true, extraHeaders: routes.dateLine, to: &scratch)
            }
            finish(session.connection, closing: true)
        }
    }
}
