import PaymentsPlatform
import PaymentsTLS

/// The daemon's single-threaded epoll loop: listeners, connections, and any other descriptor
/// (an eventfd from the journal's committer, a signalfd, a timerfd) dispatched to a callback.
///
/// One iteration: run `beforeWait` (the daemon hands the gathered batch to the journal, or
/// releases replies), flush every connection that has something to write, then sleep in
/// `epoll_wait` with no timeout (an idle loop costs no CPU) and dispatch what is ready.
/// Not thread-safe: other threads wake it through an `EventFD` they `signal()`.
///
/// Wiring, in the daemon's main (sketch):
/// ```
/// Signals.ignoreBrokenPipe()
/// let signals = try SignalFD()                      // before any thread starts
/// let loop = try EventLoop(configuration: .init(maxConnections: 1024))
/// let lines = ListenerConfiguration(protocolName: "line", handler: protocolHandler)
/// try loop.listen(on: .unix(path: "./paymentsd.sock"), lines)
/// try loop.listen(on: try SocketAddress.hostPort("127.0.0.1:7300"), lines)
/// try loop.watch(signals.descriptor) { _ in if !(try! signals.take()).isEmpty { loop.stop() } }
/// try loop.watch(committer.durableEvent.descriptor) { _ in _ = try? committer.durableEvent.drain(); releaseDurableReplies() }
/// loop.beforeWait = { submitGatheredBatchToTheJournal() }
/// try loop.run()                                    // returns after stop() and the last reply
/// ```
public final class EventLoop {
    public struct Configuration: Sendable {
        /// Open connections across all listeners; one more is told so and closed.
        public var maxConnections: Int
        /// Connections beyond `maxConnections` taken on Unix-socket listeners only, so that
        /// operators on the socket are never locked out by TCP or HTTP clients filling the limit.
        public var reservedUnixConnections: Int
        /// After `stop()`, how long connections may take to get their replies before they
        /// are closed anyway (a client that never reads must not block a shutdown).
        public var stopGraceMilliseconds: Int

        public init(
            maxConnections: Int = EventLoop.defaultMaxConnections, reservedUnixConnections: Int = 0,
            stopGraceMilliseconds: Int = EventLoop.defaultStopGraceMilliseconds
        ) {
            self.maxConnections = maxConnections
            self.reservedUnixConnections = max(0, reservedUnixConnections)
            self.stopGraceMilliseconds = stopGraceMilliseconds
        }
    }

    public static let defaultMaxConnections = 1024
    public static let defaultStopGraceMilliseconds = 10_000
    /// Connections accepted per listener wake-up, so a connection storm cannot starve replies.
    static let maxAcceptsPerWakeup = 64
    /// What a connection over the limit is told before it is closed, unless its listener says otherwise.
    public static let tooManyConnectionsReply = Array("ERR too many connections\n".utf8)

    public let configuration: Configuration
    /// Called at the top of every iteration, before flushing and sleeping.
    public var beforeWait: (() -> Void)?
    /// Where the loop reports accept failures and dropped connections (errors from one
    /// connection are `.debug`: a client that resets is not the operator's problem).
    /// The daemon replaces it with its logger; the default writes plain lines to stderr.
    public var log: (LogLevel, String) -> Void = { _, message in
        try? FileDescriptor.standardError.writeAll(Array("\(message)\n".utf8))
    }

    public private(set) var listeners: [Listener] = []
    public internal(set) var connectionCount = 0
    /// Connections refused because of `maxConnections`.
    public internal(set) var rejectedConnectionCount: UInt64 = 0
    /// Tells the log about refusals, at most one line per `ConnectionRefusals.intervalNanoseconds`.
    let refusals = ConnectionRefusals()
    public private(set) var isStopping = false
    /// TLS handshakes that failed (a plain-text client on a TLS port, a certificate refused)
    /// or did not finish in time.
    public internal(set) var tlsHandshakeFailures: UInt64 = 0
    public internal(set) var tlsHandshakeTimeouts: UInt64 = 0
    /// Connections whose TLS handshake runs, checked against their deadline once a second.
    var handshakes: [UInt64: Connection] = [:]
    var handshakeTimer: TimerFD?

    let epoll: Epoll
    var table = DescriptorTable()
    private var dirty: [Connection] = []
    private var deliveredSinceHook = false
    var nextConnectionID: UInt64 = 1
    var acceptSuspended = false
    private var stopDeadline: UInt64 = 0

    public init(configuration: Configuration = Configuration()) throws(SystemError) {
        self.configuration = configuration
        epoll = try Epoll()
    }

    // MARK: - Registration

    /// Binds and listens on `address` (see `Socket.listen` for the Unix socket file rules).
    @discardableResult
    public func listen(on address: SocketAddress, _ configuration: ListenerConfiguration) throws(SystemError) -> Listener {
        let fd = try Socket.listen(on: address)
        var owned: String? = nil
        if case .unix(let path) = address { owned = path }
        let bound = (try? fd.localAddress()) ?? address
        return try add(Listener(descriptor: fd, address: bound, configuration: configuration, ownedSocketPath: owned))
    }

    /// Serves a listening socket opened elsewhere (systemd's); it is made non-blocking. Its
    /// socket file, if any, is left to whoever created it.
    @discardableResult
    public func adopt(listening fd: FileDescriptor, _ configuration: ListenerConfiguration) throws(SystemError) -> Listener {
        try fd.setNonBlocking()
        return try add(Listener(descriptor: fd, address: try? fd.localAddress(), configuration: configuration, ownedSocketPath: nil))
    }

    private func add(_ listener: Listener) throws(SystemError) -> Listener {
        listener.token = table.insert(listener.descriptor, .listener(listener))
        do throws(SystemError) {
            try epoll.add(listener.descriptor, .readable, token: listener.token)
        } catch {
            table.remove(listener.descriptor)
            listener.close()
            throw error
        }
        listeners.append(listener)
        return listener
    }

    /// Calls `callback` on the loop whenever `fd` is ready for `events`. The callback must
    /// consume the readiness (drain the eventfd, read the signalfd) or it is called again.
    public func watch(_ fd: FileDescriptor, events: Epoll.Events = .readable, _ callback: @escaping (Epoll.Events) -> Void) throws(SystemError) {
        let token = table.insert(fd, .watch(callback))
        do throws(SystemError) { try epoll.add(fd, events, token: token) } catch {
            table.remove(fd)
            throw error
        }
    }

    /// Stops watching `fd` (before the caller closes it).
    public func unwatch(_ fd: FileDescriptor) {
        guard table.contains(fd) else { return }
        table.remove(fd)
        try? epoll.remove(fd)
    }

    /// Every open connection, for the daemon's counts and its shutdown.
    public var connections: [Connection] { table.connections }

    public func connectionCount(protocolName: String) -> Int {
        table.connections.reduce(0) { $0 + ($1.listener.protocolName == protocolName ? 1 : 0) }
    }

    // MARK: - Running

    /// Runs until `stop()` was called and every connection got its replies (or the grace
    /// period ran out). Throws only when epoll itself fails.
    public func run() throws(SystemError) {
        while true {
            settle()
            var timeout: Int32 = -1
            if isStopping {
                let now = MonotonicClock.milliseconds()
                if connectionCount == 0 || now >= stopDeadline { break }
                timeout = Int32(clamping: stopDeadline - now)
            }
            let count = try epoll.wait(timeoutMilliseconds: timeout)
            for index in 0..<count { dispatch(epoll.event(at: index)) }
        }
        closeRemainingConnections()
    }

    /// Stops accepting (listeners are closed, owned socket files removed) and lets every
    /// connection finish: lines already received are answered, nothing more is read, and
    /// `run()` returns once all replies are written. Safe to call more than once.
    public func stop() {
        guard !isStopping else { return }
        isStopping = true
        stopDeadline = MonotonicClock.milliseconds() + UInt64(max(0, configuration.stopGraceMilliseconds))
        for listener in listeners {
            table.remove(listener.descriptor)
            listener.close()
        }
        for connection in table.connections { markDirty(connection) }
    }

    /// Alternates the daemon's hook and flushing until neither has anything left to do, so
    /// input delivered by a flush (a connection resuming) is handed to the journal before sleeping.
    private func settle() {
        repeat {
            deliveredSinceHook = false
            beforeWait?()
            processDirty()
        } while deliveredSinceHook || !dirty.isEmpty
    }

    private func dispatch(_ event: (token: UInt64, events: Epoll.Events)) {
        switch table.lookup(event.token) {
        case .listener(let listener)?: acceptConnections(listener)
        case .connection(let connection)?: connection.handle(event.events)
        case .watch(let callback)?: callback(event.events)
        case nil: break
        }
    }

    // MARK: - Connections

    func markDirty(_ connection: Connection) {
        guard !connection.isDirty, !connection.isClosed else { return }
        connection.isDirty = true
        dirty.append(connection)
    }

    func noteDelivered() { deliveredSinceHook = true }

    private func processDirty() {
        var index = 0
        while index < dirty.count {
            let connection = dirty[index]
            index += 1
            connection.isDirty = false
            settle(connection)
        }
        dirty.removeAll(keepingCapacity: true)
    }

    /// Brings one connection up to date: deliver waiting input, write, apply backpressure,
    /// close when finished, and watch for what it needs next.
    private func settle(_ connection: Connection) {
        guard !connection.isClosed else { return }
        if connection.abortRequested { return closeConnection(connection) }
        if connection.canDeliver && connection.hasUndeliveredInput { connection.deliverInput() }
        if connection.wantsRead && connection.hasBufferedTLSInput { connection.readInput() }
        flush(connection)
        guard !connection.isClosed else { return }
        connection.updateBackpressure()
        if connection.notifyWhenDrained && connection.output.isAtOrBelowLowWater {
            connection.notifyWhenDrained = false
            connection.listener.configuration.handler.connectionDrained(connection)
            markDirty(connection)
        }
        // Input held back by the high-water mark may go on now that the flush drained it:
        // come back to this connection after the others in this pass (round-robin).
        if connection.canDeliver && connection.hasUndeliveredInput { markDirty(connection) }
        if connection.isFinished { return closeConnection(connection) }
        updateInterest(connection)
    }

    func flush(_ connection: Connection) {
        guard !connection.isClosed, !connection.writeBlocked, connection.handshakeWaitsFor == nil,
            connection.output.flushableBytes > 0
        else { return }
        let result: OutputBuffer.FlushResult
        if let tls = connection.tls {
            do throws(TLSError) {
                result = try connection.output.flush(through: tls, needsReadable: &connection.tlsWriteWaitsForReadable)
            } catch {
                log(.debug, "connection \(connection.id) on \(connection.listener.displayName): TLS write: \(error)")
                return closeConnection(connection)
            }
        } else {
            do throws(SystemError) {
                result = try connection.output.flush(to: connection.descriptor)
            } catch {
                log(.debug, "connection \(connection.id) on \(connection.listener.displayName): \(error)")
                return closeConnection(connection)
            }
        }
        if result == .wouldBlock {
            connection.writeBlocked = true
            updateInterest(connection)
        }
    }

    /// Level-triggered epoll reports a hang-up even with no events asked, so a connection
    /// that waits on nothing after its peer left is taken out of epoll instead of spinning.
    private func updateInterest(_ connection: Connection) {
        let wanted = connection.wantedEvents
        do throws(SystemError) {
            if wanted.isEmpty && connection.peerHungUp {
                if connection.registeredEvents != nil { try epoll.remove(connection.descriptor) }
                connection.registeredEvents = nil
            } else if connection.registeredEvents == nil {
                try epoll.add(connection.descriptor, wanted, token: connection.token)
                connection.registeredEvents = wanted
            } else if connection.registeredEvents != wanted {
                try epoll.modify(connection.descriptor, wanted, token: connection.token)
                connection.registeredEvents = wanted
            }
        } catch {
            log(.error, "connection \(connection.id): \(error)")
            closeConnection(connection)
        }
    }

    func closeConnection(_ connection: Connection) {
        guard !connection.isClosed else { return }
        connection.shutdownTLS()
        if connection.handshakeWaitsFor != nil { handshakeFinished(connection) }
        connection.markClosed()
        table.remove(connection.descriptor)
        try? connection.descriptor.close()
        connectionCount -= 1
        if acceptSuspended { setAccepting(true) }
        connection.handler.connectionClosed(connection)
    }

    private func closeRemainingConnections() {
        let remaining = table.connections
        if !remaining.isEmpty {
            log(.warning, "closing \(remaining.count) connection(s) that did not finish within \(configuration.stopGraceMilliseconds) ms")
        }
        for connection in remaining { closeConnection(connection) }
    }
}
