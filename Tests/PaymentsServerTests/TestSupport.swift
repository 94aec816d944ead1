import PaymentsFormat
import Foundation
import Glibc
import Synchronization
import PaymentsPlatform
import PaymentsServer
import Testing

/// A short private directory under /tmp: Unix socket paths must stay under 108 bytes.
func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/pnet.XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed")
    return String(cString: made!)
}

func removeDirectory(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

/// A wait that ran out of time, naming what it waited for.
struct TestTimeout: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` every millisecond; throws naming `what` once `seconds` have passed.
func waitFor(_ what: String, seconds: Double = 20, _ condition: () -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        guard Date() < deadline else { throw TestTimeout("\(what): not within \(seconds) s") }
        usleep(1_000)
    }
}

/// What the test handler saw, read by the test thread after (or while) the loop runs.
struct HandlerRecord {
    var maxPendingBytes = 0
    var sawBackpressure = false
    var lines = 0
    var closed = 0
    var inputEnded = 0
}

/// An echo server with a few commands: `QUIT`, `BIG n` (an n-byte reply), `HOLD` (this
/// connection's replies wait for `releaseHeld()`), and `ERR line too long` for long lines.
final class EchoHandler: ConnectionHandler, @unchecked Sendable {
    let record = Mutex(HandlerRecord())
    var held: [Connection] = []

    func connection(_ connection: Connection, received event: InputEvent) {
        switch event {
        case .line(let bytes): reply(to: String(decoding: bytes, as: UTF8.self), on: connection)
        case .tooLong: connection.write("ERR line too long\n")
        case .bytes(let bytes): connection.write(bytes)
        }
        let pending = connection.output.pendingBytes
        record.withLock {
            $0.lines += 1
            $0.maxPendingBytes = max($0.maxPendingBytes, pending)
        }
    }

    private func reply(to line: String, on connection: Connection) {
        if line == "QUIT" {
            connection.write("BYE\n")
            connection.closeAfterFlush()
        } else if line == "HOLD" {
            connection.holdsReplies = true
            held.append(connection)
            connection.write("HELD\n")
        } else if line.hasPrefix("BIG "), let count = Int(line.dropFirst(4)) {
            connection.write(String(repeating: "b", count: count - 1) + "\n")
        } else {
            connection.write(line + "\n")
        }
    }

    func connectionBatchEnded(_ connection: Connection) {
        if connection.isBackpressured || connection.output.isAboveHighWater {
            record.withLock { $0.sawBackpressure = true }
        }
    }

    func connectionInputEnded(_ connection: Connection) { record.withLock { $0.inputEnded += 1 } }

    func connectionClosed(_ connection: Connection) {
        held.removeAll { $0 === connection }
        record.withLock { $0.closed += 1 }
    }

    /// What the journal's durable notification would do: release every held reply.
    func releaseHeld() {
        for connection in held { connection.releaseAll() }
    }
}

/// A real loop on its own thread, listening on a Unix socket and an ephemeral TCP port.
final class TestServer: @unchecked Sendable {
    let loop: EventLoop
    let handler: EchoHandler
    let directory: String
    let unixPath: String
    let tcpAddress: SocketAddress
    private let stopEvent: EventFD
    /// Signalled by tests to run `handler.releaseHeld()` on the loop's thread.
    let releaseEvent: EventFD
    private let finished = DispatchSemaphore(value: 0)
    private(set) var runError: SystemError?

    init(maxConnections: Int = 64, limits: ConnectionLimits = ConnectionLimits(), framing: Framing = .lines) throws {
        Signals.ignoreBrokenPipe()
        handler = EchoHandler()
        loop = try EventLoop(configuration: .init(maxConnections: maxConnections, stopGraceMilliseconds: 10_000))
        loop.log = { _, _ in }
        directory = makeTemporaryDirectory()
        unixPath = directory + "/d.sock"
        let configuration = ListenerConfiguration(protocolName: "line", framing: framing, limits: limits, handler: handler)
        try loop.listen(on: .unix(path: unixPath), configuration)
        let tcp = try loop.listen(on: try SocketAddress.hostPort("127.0.0.1:0"), configuration)
        tcpAddress = tcp.address!
        stopEvent = try EventFD()
        releaseEvent = try EventFD()
        let loop = self.loop, stopEvent = self.stopEvent, releaseEvent = self.releaseEvent, handler = self.handler
        try loop.watch(stopEvent.descriptor) { _ in
            _ = try? stopEvent.drain()
            loop.stop()
        }
        try loop.watch(releaseEvent.descriptor) { _ in
            _ = try? releaseEvent.drain()
            handler.releaseHeld()
        }
        let thread = Thread { [self] in self.runLoop() }
        thread.start()
    }

    /// Asks the loop to stop without waiting.
    func requestStop() { try? stopEvent.signal() }

    private func runLoop() {
        do throws(SystemError) { try loop.run() } catch { runError = error }
        loop.unwatch(stopEvent.descriptor)
        loop.unwatch(releaseEvent.descriptor)
        finished.signal()
    }

    /// Asks the loop to stop gracefully and waits (20 s at most) for `run()` to return.
    func stop() {
        requestStop()
        guard finished.wait(timeout: .now() + 20) == .success else {
            Issue.record("the event loop did not stop within 20 s")
            return   // its thread still uses the loop and the descriptors: leave them
        }
        try? stopEvent.close()
        try? releaseEvent.close()
        removeDirectory(directory)
    }
}

/// A blocking test client with a receive timeout, so a broken server fails a test instead of
/// hanging the suite.
final class TestClient {
    let fd: FileDescriptor
    private var buffered: [UInt8] = []

    init(_ address: SocketAddress) throws {
        fd = try Socket.connect(to: address)
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd.rawValue, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd.rawValue, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { try? fd.close() }

    /// Whether reply bytes are here or arrive within `milliseconds`: the check that nothing
    /// was sent yet.
    func hasInput(withinMilliseconds milliseconds: Int32 = 20) -> Bool {
        if !buffered.isEmpty { return true }
        var entries = [PollEntry(fd, read: true, write: false)]
        guard let ready = try? Poll.wait(&entries, timeoutMilliseconds: milliseconds) else { return true }
        return ready > 0
    }

    func send(_ text: String) throws { try fd.writeAll(Array(text.utf8)) }

    func shutdownWrite() throws { try fd.shutdown(.write) }

    /// One line without its newline; nil at end of stream.
    func readLine() throws -> String? {
        while true {
            if let newline = buffered.firstIndex(of: 0x0A) {
                let line = String(decoding: buffered[..<newline], as: UTF8.self)
                buffered.removeFirst(newline + 1)
                return line
            }
            guard try fill() else { return nil }
        }
    }

    /// Everything until the server closes.
    func readToEnd() throws -> String {
        while try fill() {}
        defer { buffered.removeAll() }
        return String(decoding: buffered, as: UTF8.self)
    }

    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = try chunk.withUnsafeMutableBytes { raw throws(SystemError) in try fd.read(into: raw) }
        buffered.append(contentsOf: chunk[..<count])
        return count > 0
    }
}
