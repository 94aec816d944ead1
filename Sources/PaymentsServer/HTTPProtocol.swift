import PaymentsPlatform

/// The HTTP API of §7 on the event loop, beside the line protocol: the same engine, the same
/// journal, the same reply gate. Responses go out in request order, each held until the
/// journal records it depends on are safe, exactly as a line's `OK`.
final class HTTPProtocol: ConnectionHandler {
    let service: DaemonService
    let configuration: DaemonConfiguration
    let routes: HTTPRoutes
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

        init(_ connection: Connection, limits: HTTPParserLimits) {
            self.connection = connection
            parser = HTTPRequestParser(limits: limits)
            idleSince = Memory.monotonicMilliseconds()
        }
    }

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
        if sessions.isEmpty { try? idleTimer?.disarm() }
    }

    func connection(_ connection: Connection, received event: InputEvent) {
        guard case .bytes(let bytes) = event, let session = sessions[connection.id] else { return }
        // A request's time runs from its first byte: the idle time of a keep-alive connection
        // before it must not be charged to the request that ends it.
        if !session.parser.hasPartialRequest { session.idleSince = Memory.monotonicMilliseconds() }
        session.parser.feed(bytes)
        while true {
            switch session.parser.next() {
            case .needMoreData:
                return
            case .sendContinue:
                HTTPResponse.appendContinue(to: &scratch)
            case .request(let request):
                session.idleSince = Memory.monotonicMilliseconds()
                routes.respond(to: request, into: &scratch)
                if !request.keepAlive {
                    finish(connection, closing: true)
                    return
                }
            case .error(let status):
                HTTPResponse.appendError(status, message: HTTPResponse.defaultMessage(for: status), close: true, to: &scratch)
                finish(connection, closing: true)
                return
            }
        }
    }

    func connectionBatchEnded(_ connection: Connection) { finish(connection, closing: false) }

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
            if idleTimer == nil {
                let timer = try TimerFD()
                try service.loop.watch(timer.descriptor) { [weak self] _ in
                    _ = try? timer.drain()
                    self?.closeIdleConnections()
                }
                idleTimer = timer
            }
            try idleTimer?.arm(initialNanoseconds: 1_000_000_000, intervalNanoseconds: 1_000_000_000)
        } catch {
            service.log.warning("HTTP idle timer unavailable, idle connections will not time out: \(error)")
        }
    }

    /// 408 for a request that did not arrive complete in time; a connection that sent nothing
    /// since its last response is simply closed.
    func closeIdleConnections() {
        let now = Memory.monotonicMilliseconds()
        let limit = UInt64(configuration.httpIdleTimeoutSeconds) * 1000
        for session in sessions.values where now - session.idleSince >= limit && !session.connection.isClosing {
            if session.parser.hasPartialRequest {
                HTTPResponse.appendError(.requestTimeout, message: "request not complete in time", close: true, to: &scratch)
            }
            finish(session.connection, closing: true)
        }
    }
}
