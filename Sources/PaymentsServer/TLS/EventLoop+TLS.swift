import PaymentsPlatform
import PaymentsTLS

/// The loop's side of TLS: a session for each connection a TLS listener accepts, and the
/// handshake deadline, checked once a second while handshakes run (no timer otherwise).
extension EventLoop {
    /// Starts the server side of the handshake on a new connection; false when no session
    /// could be made (the connection is then closed).
    func startTLS(_ connection: Connection, _ server: ServerTLS) -> Bool {
        do throws(TLSError) {
            connection.tls = try TLSSession.accepting(connection.descriptor, context: server.context)
        } catch {
            log(.warning, "connection \(connection.id) on \(connection.listener.displayName): cannot start TLS: \(error)")
            return false
        }
        connection.handshakeWaitsFor = .readable
        connection.handshakeDeadline = MonotonicClock.milliseconds() + server.handshakeTimeoutMilliseconds
        handshakes[connection.id] = connection
        if handshakes.count == 1 { armHandshakeTimer() }
        return true
    }

    func handshakeFinished(_ connection: Connection) {
        handshakes[connection.id] = nil
        if handshakes.isEmpty { try? handshakeTimer?.disarm() }
    }

    private func armHandshakeTimer() {
        do throws(SystemError) {
            if handshakeTimer == nil {
                let timer = try TimerFD()
                try watch(timer.descriptor) { [unowned self] _ in
                    _ = try? handshakeTimer?.drain()
                    dropStalledHandshakes()
                }
                handshakeTimer = timer
            }
            try handshakeTimer?.arm(initialNanoseconds: 1_000_000_000, intervalNanoseconds: 1_000_000_000)
        } catch {
            log(.warning, "TLS handshake timer unavailable, stalled handshakes will not time out: \(error)")
        }
    }

    private func dropStalledHandshakes() {
        let now = MonotonicClock.milliseconds()
        for connection in handshakes.values where now >= connection.handshakeDeadline {
            tlsHandshakeTimeouts += 1
            log(.debug, "connection \(connection.id) on \(connection.listener.displayName): TLS handshake not done in time")
            closeConnection(connection)
        }
    }
}
