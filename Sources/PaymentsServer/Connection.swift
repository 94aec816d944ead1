import PaymentsFormat
import PaymentsPlatform
import PaymentsTLS

/// One accepted socket on the loop: its input framer, its output buffer and its state.
///
/// The handler replies with `write`. When `holdsReplies` is set, written bytes wait until
/// `release(upTo:)` (the daemon releases a reply once the journal says its records are
/// durable): take `outputMark` after writing a reply, keep it with the LSN it waits for, and
/// release that mark when the durable LSN passes it. Writing never blocks: bytes are flushed
/// when the loop is about to wait, or at once with `flush()`.
public final class Connection {
    /// Unique for the life of the loop, increasing.
    public let id: UInt64
    public let listener: Listener
    public let descriptor: FileDescriptor
    public let output: OutputBuffer
    /// The protocol's per-connection state.
    public var context: AnyObject?
    /// When true, written bytes are not sent until released. Off by default.
    public var holdsReplies = false

    unowned let loop: EventLoop
    let framer: LineFramer
    var token: UInt64 = 0

    /// The peer shut down its sending side (read returned 0).
    public private(set) var isInputClosed = false
    public private(set) var isParked = false
    public private(set) var isClosed = false
    /// `closeAfterFlush()` was asked: no more input is delivered.
    public private(set) var isClosing = false
    /// Reading stopped because replies pile up (pending bytes went above the high-water mark).
    public private(set) var isBackpressured = false
    /// Set by a handler that stopped answering because too many replies were unsent: the loop
    /// calls `connectionDrained` once the output is back at its low-water mark.
    public var notifyWhenDrained = false
    public private(set) var bytesRead: UInt64 = 0

    var inputEndDelivered = false
    /// Delivery stopped early: buffered input is waiting for the connection to be unpaused.
    var inputPending = false
    var abortRequested = false
    var writeBlocked = false
    var peerHungUp = false
    var registeredEvents: Epoll.Events? = nil
    var isDirty = false
    /// The TLS session on a TLS listener (§9); nil for plain connections.
    var tls: TLSSession?
    /// While the TLS handshake runs: the socket readiness it waits for. Nil once done.
    var handshakeWaitsFor: Epoll.Events?
    var handshakeDeadline: UInt64 = 0
    /// The client's first byte was seen to open a TLS record.
    var sawTLSRecord = false
    /// The session reported the end of input (close_notify or EOF) after bytes not yet delivered.
    var tlsInputEnded = false
    /// OpenSSL must write (a handshake message) before the next read can go on.
    var tlsReadWaitsForWritable = false
    /// OpenSSL must read before the next write can go on.
    var tlsWriteWaitsForReadable = false

    init(id: UInt64, listener: Listener, descriptor: FileDescriptor, loop: EventLoop) {
        let limits = listener.configuration.limits
        self.id = id
        self.listener = listener
        self.descriptor = descriptor
        self.loop = loop
        framer = LineFramer(maxLineBytes: limits.maxLineBytes, bufferBytes: limits.readBufferBytes)
        output = OutputBuffer(highWaterBytes: limits.outputHighWaterBytes, lowWaterBytes: limits.outputLowWaterBytes)
    }

    var handler: any ConnectionHandler { listener.configuration.handler }

    // MARK: - What the handler calls

    /// Appends reply bytes; sent at the loop's next flush (after release, if holding).
    public func write(_ bytes: UnsafeRawBufferPointer) {
        output.append(bytes)
        wrote()
    }

    public func write(_ bytes: [UInt8]) {
        output.append(bytes)
        wrote()
    }

    public func write(_ text: String) {
        output.append(text)
        wrote()
    }

    /// The position just after everything written so far: the mark to release this reply.
    public var outputMark: UInt64 { output.appendedBytes }

    /// Lets every byte before `mark` go to the peer.
    public func release(upTo mark: UInt64) {
        output.release(upTo: mark)
        loop.markDirty(self)
    }

    public func releaseAll() {
        output.releaseAll()
        loop.markDirty(self)
    }

    /// Writes released bytes now rather than when the loop is about to wait.
    public func flush() { loop.flush(self) }

    /// Stops delivering input and reading until `unpark()`; the connection stays open even
    /// after its peer's end of input (the daemon waits for something before answering).
    public func park() {
        isParked = true
        loop.markDirty(self)
    }

    public func unpark() {
        isParked = false
        loop.markDirty(self)
    }

    /// QUIT: deliver no more input, close once every appended reply is released and written.
    public func closeAfterFlush() {
        isClosing = true
        loop.markDirty(self)
    }

    /// Drops the connection without writing what is pending (a protocol violation).
    public func close() {
        abortRequested = true
        loop.markDirty(self)
    }

    // MARK: - What the loop calls

    private func wrote() {
        if !holdsReplies { output.releaseAll() }
        loop.markDirty(self)
    }

    /// True when the handler may be given input now.
    var canDeliver: Bool {
        !isClosed && !abortRequested && !isClosing && !isParked && !isBackpressured && !output.isAboveHighWater
    }

    var wantsRead: Bool { canDeliver && !isInputClosed && !inputPending && !loop.isStopping && handshakeWaitsFor == nil }

    /// Everything the peer will get is written and nothing more will come or be answered.
    var isFinished: Bool {
        guard !isParked, output.pendingBytes == 0 else { return false }
        if isClosing || (isInputClosed && inputEndDelivered) { return true }
        return loop.isStopping && !inputPending
    }

    func handle(_ events: Epoll.Events) {
        if handshakeWaitsFor != nil {
            if !events.isDisjoint(with: [.hangup, .error]) { peerHungUp = true }
            return continueHandshake()
        }
        if tlsReadWaitsForWritable && events.contains(.writable) {
            // OpenSSL had to send something (a key update's answer) before reading on: now it can.
            tlsReadWaitsForWritable = false
            if wantsRead { readInput() }
            loop.markDirty(self)
        }
        if tlsWriteWaitsForReadable && events.contains(.readable) {
            tlsWriteWaitsForReadable = false
            writeBlocked = false
            loop.markDirty(self)
        }
        if events.contains(.writable) && writeBlocked {
            writeBlocked = false
            loop.markDirty(self)
        }
        guard !events.isDisjoint(with: [.readable, .hangup, .error, .readHangup]) else { return }
        if wantsRead {
            readInput()
        } else if !events.isDisjoint(with: [.hangup, .error]) {
            peerHungUp = true
            loop.markDirty(self)
        }
    }

    /// One read per readiness event, so one busy client cannot starve the others.
    func readInput() {
        let space = framer.writableSpace()
        precondition(space.count > 0, "read with a full framer")
        if let tls {
            guard let count = readTLS(tls, into: space) else { return loop.markDirty(self) }
            if count == 0 { isInputClosed = true } else {
                framer.commit(count)
                bytesRead += UInt64(count)
            }
            deliverInput()
            loop.markDirty(self)
            return
        }
        do throws(SystemError) {
            let count = try descriptor.read(into: space)
            if count == 0 {
                isInputClosed = true
            } else {
                framer.commit(count)
                bytesRead += UInt64(count)
            }
        } catch where error.isWouldBlock {
            return
        } catch {
            loop.log(.debug, "connection \(id) on \(listener.displayName): \(error)")
            abortRequested = true
        }
        deliverInput()
        loop.markDirty(self)
    }

    /// Hands buffered input to the handler until it is used up or the connection pauses.
    func deliverInput() {
        var delivered = false
        while canDeliver {
            guard let event = nextEvent() else {
                inputPending = false
                if isInputClosed && !inputEndDelivered { deliverEndOfInput(&delivered) }
                break
            }
            handler.connection(self, received: event)
            delivered = true
        }
        if !canDeliver { inputPending = framer.hasBufferedInput || (isInputClosed && !inputEndDelivered) }
        if delivered {
            handler.connectionBatchEnded(self)
            loop.noteDelivered()
        }
    }

    private func nextEvent() -> InputEvent? {
        switch listener.configuration.framing {
        case .lines: return framer.next()
        case .raw: return framer.takeAll()
        }
    }

    private func deliverEndOfInput(_ delivered: inout Bool) {
        inputEndDelivered = true
        if listener.configuration.framing == .lines, let last = framer.finish() {
            handler.connection(self, received: last)
            delivered = true
        }
        if delivered {
            handler.connectionBatchEnded(self)
            delivered = false
        }
        handler.connectionInputEnded(self)
        loop.noteDelivered()
    }

    /// Backpressure: stop at the high-water mark, resume at the low one.
    func updateBackpressure() {
        if output.isAboveHighWater {
            isBackpressured = true
        } else if isBackpressured && output.isAtOrBelowLowWater {
            isBackpressured = false
        }
    }

    /// Whether buffered input or the end of input still has to reach the handler.
    var hasUndeliveredInput: Bool { inputPending || (isInputClosed && !inputEndDelivered) }

    /// The epoll events this connection should be woken for now.
    var wantedEvents: Epoll.Events {
        if let waiting = handshakeWaitsFor { return waiting }
        var events: Epoll.Events = []
        if wantsRead || tlsWriteWaitsForReadable { events.insert(.readable) }
        if writeBlocked || tlsReadWaitsForWritable { events.insert(.writable) }
        return events
    }

    func markClosed() { isClosed = true }
}
