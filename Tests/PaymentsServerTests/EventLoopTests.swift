import Foundation
import Glibc
import Testing
import PaymentsPlatform
import PaymentsServer

@Suite(.serialized) struct EventLoopTests {
    @Test(arguments: ["unix", "tcp"])
    func pipelinedLinesAreAnsweredInOrder(kind: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try TestClient(kind == "unix" ? .unix(path: server.unixPath) : server.tcpAddress)
        let lines = (0..<5000).map { "deposit,\($0 % 7),\($0),1.5" }
        try client.send(lines.joined(separator: "\n") + "\n")
        try client.shutdownWrite()
        let replies = try client.readToEnd().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(replies == lines + [""])
    }

    @Test func halfCloseStillAnswersALastLineWithoutNewline() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try TestClient(.unix(path: server.unixPath))
        try client.send("a\r\n\nb")
        try client.shutdownWrite()
        #expect(try client.readToEnd() == "a\n\nb\n")
        #expect(server.handler.record.withLock { $0.inputEnded } == 1)
    }

    @Test func quitClosesAfterTheReply() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try TestClient(server.tcpAddress)
        try client.send("x\nQUIT\ny\n")
        #expect(try client.readToEnd() == "x\nBYE\n")
    }

    @Test func tooLongLineIsAnsweredAndTheConnectionStays() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try TestClient(.unix(path: server.unixPath))
        try client.send(String(repeating: "z", count: 10_000) + "\nPING\n")
        #expect(try client.readLine() == "ERR line too long")
        #expect(try client.readLine() == "PING")
    }

    @Test func oneOverTheConnectionLimitIsToldAndClosed() throws {
        let server = try TestServer(maxConnections: 2)
        defer { server.stop() }
        let first = try TestClient(.unix(path: server.unixPath))
        let second = try TestClient(server.tcpAddress)
        for client in [first, second] {
            try client.send("PING\n")
            #expect(try client.readLine() == "PING")
        }
        let third = try TestClient(.unix(path: server.unixPath))
        #expect(try third.readToEnd() == "ERR too many connections\n")
        #expect(server.loop.rejectedConnectionCount >= 1)
        try first.shutdownWrite()
        _ = try first.readToEnd()
        // Once the first is gone a new client gets in (the close is seen asynchronously).
        var admitted = false
        for _ in 0..<500 where !admitted {
            let next = try TestClient(server.tcpAddress)
            try next.send("PING\n")
            if try next.readLine() == "PING" { admitted = true } else { usleep(10_000) }
        }
        #expect(admitted)
    }

    @Test func heldRepliesWaitForTheirRelease() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try TestClient(.unix(path: server.unixPath))
        try client.send("HOLD\none\ntwo\n")
        try waitFor("3 lines handled") { server.handler.record.withLock({ $0.lines }) >= 3 }
        try client.fd.setNonBlocking()
        var byte = [UInt8](repeating: 0, count: 16)
        #expect(throws: SystemError.self) {
            _ = try byte.withUnsafeMutableBytes { raw throws(SystemError) in try client.fd.read(into: raw) }
        }
        try client.fd.setNonBlocking(false)
        try server.releaseEvent.signal()
        #expect(try client.readLine() == "HELD")
        #expect(try client.readLine() == "one")
        #expect(try client.readLine() == "two")
    }

    /// A client that writes without reading: the daemon stops reading it once its replies pass
    /// the high-water mark, its buffer stays bounded, another client is still served, and when
    /// the first finally reads, every one of its lines gets its reply.
    @Test func clientThatDoesNotReadIsBackpressured() throws {
        let limits = ConnectionLimits(outputHighWaterBytes: 64 << 10, outputLowWaterBytes: 16 << 10)
        let server = try TestServer(limits: limits)
        defer { server.stop() }
        let greedy = try TestClient(.unix(path: server.unixPath))
        try greedy.fd.setNonBlocking()
        let request = Array(String(repeating: "BIG 1000\n", count: 100).utf8)
        var sentLines = 0
        var stalled = false
        while !stalled && sentLines < 2_000_000 {
            do {
                let sent = try request.withUnsafeBytes { raw throws(SystemError) in try greedy.fd.writeOnce(raw) }
                precondition(sent % 9 == 0 || true)
                sentLines += sent / 9
                if sent % 9 != 0 {
                    // finish the partial line blocking, keeps line count exact
                    let rest = Array(request[sent..<((sent / 9 + 1) * 9)])
                    try greedy.fd.setNonBlocking(false)
                    try greedy.fd.writeAll(rest)
                    try greedy.fd.setNonBlocking()
                    sentLines += 1
                }
            } catch let error as SystemError where error.isWouldBlock {
                var pfd = pollfd(fd: greedy.fd.rawValue, events: Int16(POLLOUT), revents: 0)
                stalled = poll(&pfd, 1, 500) == 0
            }
        }
        #expect(stalled, "the daemon kept reading a client that never reads")
        let other = try TestClient(server.tcpAddress)
        try other.send("PING\n")
        #expect(try other.readLine() == "PING")
        let record = server.handler.record.withLock { $0 }
        #expect(record.sawBackpressure)
        #expect(record.maxPendingBytes <= (64 << 10) + 1000)

        try greedy.fd.setNonBlocking(false)
        try greedy.shutdownWrite()
        var replies = 0
        while let line = try greedy.readLine() {
            #expect(line.utf8.count == 999)
            replies += 1
        }
        #expect(replies == sentLines)
        #expect(server.handler.record.withLock { $0.maxPendingBytes } <= (64 << 10) + 1000)
    }

    @Test func stopAnswersReceivedLinesThenReturnsAndRemovesTheSocketFile() throws {
        let server = try TestServer()
        let client = try TestClient(.unix(path: server.unixPath))
        try client.send("before\n")
        #expect(try client.readLine() == "before")
        let path = server.unixPath
        server.stop()
        #expect(try client.readToEnd() == "")
        #expect(!FileSystem.exists(path))
    }

    @Test func stopWaitsForHeldRepliesToBeReleased() throws {
        let server = try TestServer()
        let client = try TestClient(.unix(path: server.unixPath))
        try client.send("HOLD\nlast\n")
        try waitFor("2 lines handled") { server.handler.record.withLock({ $0.lines }) >= 2 }
        server.requestStop()
        try server.releaseEvent.signal()
        #expect(try client.readToEnd() == "HELD\nlast\n")
        server.stop()
    }

    @Test func rawFramingPassesBytesThrough() throws {
        let server = try TestServer(framing: .raw)
        defer { server.stop() }
        let client = try TestClient(server.tcpAddress)
        try client.send("no newline here, ")
        try client.send("and more\r\n\u{0}binary")
        try client.shutdownWrite()
        #expect(try client.readToEnd() == "no newline here, and more\r\n\u{0}binary")
    }

    @Test func staleSocketFileIsReplacedAndALiveOneRefused() throws {
        let directory = makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let path = directory + "/s.sock"
        let first = try Socket.listen(on: .unix(path: path))
        #expect(throws: SystemError.self) { try Socket.listen(on: .unix(path: path)) }
        try first.close()  // the file stays behind, as after a crash
        #expect(FileSystem.exists(path))
        let second = try Socket.listen(on: .unix(path: path))
        var st = stat()
        lstat(path, &st)
        #expect(st.st_mode & 0o777 == 0o660)
        try second.close()
    }

    @Test func connectToNothingIsRefused() throws {
        let directory = makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        do {
            _ = try Socket.connect(to: .unix(path: directory + "/none.sock"))
            Issue.record("connected to nothing")
        } catch {
            #expect(error.isNoSuchFile)
        }
    }

    @Test func ephemeralTCPPortIsLearnt() throws {
        let fd = try Socket.listen(on: try SocketAddress.hostPort("127.0.0.1:0"))
        defer { try? fd.close() }
        let address = try fd.localAddress()
        #expect(address?.port ?? 0 > 0)
        #expect(address?.isLoopback == true)
    }
}
