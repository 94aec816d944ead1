import PaymentsCore
import PaymentsFormat
import PaymentsJournal

/// The line protocol of §5 on the event loop: one reply per line, in order, each held until
/// the journal has made safe what it reports.
final class LineProtocol: ConnectionHandler {
    let service: DaemonService
    /// Replies of the current read, gathered and handed to the connection in one write.
    /// Loop thread only, never borrowed across a call that could reach it again: the dynamic
    /// exclusivity check on every append was a tenth of the daemon's CPU time at full ingest.
    @exclusivity(unchecked) var scratch: [UInt8] = []
    /// Past this many gathered reply bytes they go to the connection at once, so its pending
    /// reply bytes reach the high-water mark and delivery stops within the batch: a read of
    /// 64 KiB of `DUMP` lines would otherwise gather gigabytes here (backpressure, §5).
    static let scratchHandOverBytes = 64 << 10

    init(service: DaemonService) {
        self.service = service
        scratch.reserveCapacity(64 << 10)
    }

    final class Session {
        /// The batch being read holds a `SYNC`: its replies wait for stable storage.
        var syncRequested = false
        /// What this connection may do: `.admin` on a listener without tokens, nil until `AUTH`.
        var role: Role?
        /// Set on listeners with tokens: every request's role is checked.
        let checksRoles: Bool
        /// The hash of the token `role` came from, and the token list's generation then.
        var tokenHash: [UInt8] = []
        var generation: UInt64 = 0
        /// Requests refused for want of a token: past `maxAuthFailures` the connection closes.
        var failures = 0

        init(checksRoles: Bool) {
            self.checksRoles = checksRoles
            role = checksRoles ? nil : .admin
        }
    }

    /// Requests without a valid token a connection may send before it is closed (§9).
    static let maxAuthFailures = 10

    func connectionOpened(_ connection: Connection) {
        connection.holdsReplies = true
        connection.context = Session(checksRoles: connection.listener.requiresAuth && service.tokens != nil)
    }

    func connection(_ connection: Connection, received event: InputEvent) {
        switch event {
        case .line(let bytes):
            let request = LineRequest.parse(bytes)
            let session = unsafeDowncast(connection.context!, to: Session.self)
            if session.checksRoles && !permits(request, session, connection) { break }
            handle(request, connection)
        case .tooLong:
            service.durable.malformed += 1
            scratch.append(contentsOf: "ERR line too long\n".utf8)
        case .bytes: break
        }
        if scratch.count >= Self.scratchHandOverBytes && !connection.isClosing {
            connection.write(scratch)
            scratch.removeAll(keepingCapacity: true)
        }
    }

    func connectionBatchEnded(_ connection: Connection) {
        if !scratch.isEmpty {
            connection.write(scratch)
            scratch.removeAll(keepingCapacity: true)
        }
        let session = connection.context as! Session
        service.hold(connection, syncRequested: session.syncRequested)
        session.syncRequested = false
    }

    func connectionClosed(_ connection: Connection) {
        service.gate.forget(connection)
        service.stream.closed(connection)
    }

    func connectionDrained(_ connection: Connection) { service.stream.drained(connection) }

    func handle(_ request: LineRequest, _ connection: Connection) {
        switch request {
        case .transaction(let t):
            switch service.submit(t) {
            case .success(.applied): scratch.append(contentsOf: "OK\n".utf8)
            case .success(.rejected(let r)): scratch.append(contentsOf: "REJECTED \(r.reason)\n".utf8)
            case .failure(let refusal): scratch.append(contentsOf: refusal.line.utf8)
            }
        case .malformed(let e):
            service.durable.malformed += 1
            scratch.append(contentsOf: "ERR \(e.message)\n".utf8)
        case .skip: break
        case .usage(let text): scratch.append(contentsOf: "ERR \(text)\n".utf8)
        case .unknownCommand(let word):
            // Counted with the malformed lines, as before it was told apart from them.
            service.durable.malformed += 1
            scratch.append(contentsOf: "ERR \(LineRequest.unknownCommandMessage(word))\n".utf8)
        case .sync:
            if let refusal = service.writeRefusal { return scratch.append(contentsOf: refusal.line.utf8) }
            (connection.context as! Session).syncRequested = true
            service.durable.wantExplicitSync()
            scratch.append(contentsOf: "OK\n".utf8)
        case .quit:
            scratch.append(contentsOf: "BYE\n".utf8)
            connectionBatchEnded(connection)
            connection.closeAfterFlush()
        case .auth:
            // On a listener without tokens there is nothing to prove: say so, as for any usage slip.
            scratch.append(contentsOf: "ERR no tokens on this listener: AUTH is not needed\n".utf8)
        case .get, .dump, .tx, .history:
            if service.leaseLapsed { return scratch.append(contentsOf: "ERR journal unavailable: \(DaemonService.leaseLapsedReason)\n".utf8) }
            service.queries.answer(request, into: &scratch)
        case .stats, .ping, .help:
            service.queries.answer(request, into: &scratch)
        case .follow(let start):
            if service.leaseLapsed { return scratch.append(contentsOf: "ERR journal unavailable: \(DaemonService.leaseLapsedReason)\n".utf8) }
            // The replies before it go first; the stream starts once they are released.
            if !scratch.isEmpty {
                connection.write(scratch)
                scratch.removeAll(keepingCapacity: true)
            }
            let session = unsafeDowncast(connection.context!, to: Session.self)
            let token = session.checksRoles ? session.tokenHash : nil
            if let refusal = service.stream.follow(connection, start, framing: .lines, tokenHash: token) {
                scratch.append(contentsOf: "ERR \(refusal)\n".utf8)
            } else {
                connection.park()  // no more requests: the connection is the stream's
            }
        }
    }

    /// §9 on a listener with tokens: `AUTH` first, then each request within its token's role.
    /// Replies to what is refused go where the request's reply would have gone, in order.
    func permits(_ request: LineRequest, _ session: Session, _ connection: Connection) -> Bool {
        guard let tokens = service.tokens else { return true }
        if case .auth(let token) = request {
            if let hash = Tokens.hash(token), let entry = tokens.entry(forHash: hash) {
                session.role = entry.role
                session.tokenHash = hash
                session.generation = tokens.generation
                scratch.append(contentsOf: "OK\n".utf8)
            } else {
                refuse(.failed, connection, closing: true)
            }
            return false
        }
        guard let needed = request.requiredRole else { return true }
        if session.role != nil && session.generation != tokens.generation {
            // The token list was reloaded: a token taken out of it stops working now.
            session.role = tokens.entry(forHash: session.tokenHash)?.role
            session.generation = tokens.generation
            if session.role == nil {
                refuse(.failed, connection, closing: true)
                return false
            }
        }
        guard let role = session.role else {
            session.failures += 1
            refuse(.required, connection, closing: session.failures >= Self.maxAuthFailures)
            return false
        }
        guard role >= needed else {
            service.countAuthFailure(.forbidden, on: connection.listener)
            scratch.append(contentsOf: "ERR forbidden: the \(role.name) role may not do this (needs \(needed.name))\n".utf8)
            return false
        }
        return true
    }

    private func refuse(_ failure: AuthFailure, _ connection: Connection, closing: Bool) {
        service.countAuthFailure(failure, on: connection.listener)
        scratch.append(contentsOf: (failure == .required ? "ERR auth required\n" : "ERR auth failed\n").utf8)
        guard closing else { return }
        connectionBatchEnded(connection)
        connection.closeAfterFlush()
    }
}
