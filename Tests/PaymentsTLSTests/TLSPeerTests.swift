import ChildProcessSupport
import Foundation
import Glibc
import PaymentsPlatform
import PaymentsTLS
import TLSTestSupport
import Testing

/// Our sessions against the real `openssl s_server` and `s_client` over Unix sockets, and the
/// blocking calls `paymentsctl` uses.
@Suite struct TLSPeerTests {
    let certificates: TestCertificates

    init() throws {
        Signals.ignoreBrokenPipe()
        certificates = try Certificates.trusted.get()
    }

    /// `connectBlocking`, `writeAll`, `readBlocking` against `openssl s_server -rev`, which
    /// sends every line back reversed.
    @Test func blockingClientAgainstOpensslServer() throws {
        let directory = try temporaryDirectory()
        let path = directory + "/s.sock"
        let server = try ChildProcess(
            TestCertificates.opensslPath,
            [
                "s_server", "-unix", path, "-cert", certificates.serverCertificate, "-key", certificates.serverKey,
                "-rev", "-naccept", "1", "-quiet",
            ], stdoutPath: directory + "/server.out", stderrPath: directory + "/server.err")
        defer { server.kill(signal: SIGKILL, andWaitSeconds: 10) }
        let fd = try connectWhenListening(path, seconds: 20)
        defer { try? fd.close() }
        let session = try TLSSession.connectBlocking(
            fd: fd, context: try TLSContext.client(caFile: certificates.caCertificate), host: "localhost")
        #expect(session.peerCertificateSubject == "/CN=localhost")
        try session.writeAll(Array("hello\n".utf8))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 100)
        while !received.contains(UInt8(ascii: "\n")) {
            let count = try buffer.withUnsafeMutableBytes { try session.readBlocking(into: $0) }
            guard count > 0 else { break }
            received += buffer[..<count]
        }
        #expect(String(decoding: received, as: UTF8.self) == "olleh\n")
        try session.shutdownBlocking()
    }

    /// A server that never answers: the blocking handshake gives up at the socket's time limit.
    @Test func blockingHandshakeTimesOut() throws {
        let fds = socketPair(nonBlocking: false, timeoutSeconds: 1)
        defer {
            try? fds.server.close()
            try? fds.client.close()
        }
        let started = Date()
        let error = #expect(throws: TLSError.self) {
            try TLSSession.connectBlocking(
                fd: fds.client, context: try TLSContext.client(caFile: certificates.caCertificate), host: "localhost")
        }
        guard case .timedOut? = error else {
            Issue.record("expected a time-out, got \(String(describing: error))")
            return
        }
        #expect(Date().timeIntervalSince(started) < 10)
    }

    /// `openssl s_client` with a client certificate against our non-blocking server that
    /// requires one: it gets the reply, then our close_notify ends its run.
    @Test func opensslClientAgainstOurServer() throws {
        let directory = try temporaryDirectory()
        let path = directory + "/c.sock"
        let listener = try Socket.listen(on: .unix(path: path))
        defer { try? listener.close() }
        try writeFile(directory + "/input", "ping\n")
        let client = try ChildProcess(
            TestCertificates.opensslPath,
            [
                "s_client", "-unix", path, "-CAfile", certificates.caCertificate, "-servername", "localhost",
                "-verify_hostname", "localhost", "-verify_return_error", "-quiet",
                "-cert", certificates.clientCertificate, "-key", certificates.clientKey,
            ], stdinPath: directory + "/input", stdoutPath: directory + "/client.out",
            stderrPath: directory + "/client.err")
        defer { client.kill(signal: SIGKILL, andWaitSeconds: 10) }

        let deadline = Date().addingTimeInterval(20)
        var accepted: FileDescriptor?
        while accepted == nil {
            accepted = try listener.accept()
            if accepted == nil { try waitFor([(listener, .wantRead)], until: deadline, "s_client to connect") }
        }
        let fd = accepted!
        defer { try? fd.close() }
        let context = try TLSContext.server(
            identity: Certificates.serverIdentity(certificates), clientCA: certificates.caCertificate)
        let session = try TLSSession.accepting(fd, context: context)
        var want = try session.handshake()
        while want != .done {
            try waitFor([(fd, want)], until: deadline, "the handshake with s_client")
            want = try session.handshake()
        }
        #expect(session.peerCertificateSubject == "/CN=client-1")

        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 100)
        while !request.contains(UInt8(ascii: "\n")) {
            let result = try buffer.withUnsafeMutableBytes { try session.read(into: $0) }
            switch result {
            case .bytes(let count): request += buffer[..<count]
            case .wantRead, .wantWrite: try waitFor([(fd, result == .wantRead ? .wantRead : .wantWrite)], until: deadline, "ping")
            case .closeNotify, .eof: Issue.record("s_client ended before its line"); return
            }
        }
        #expect(String(decoding: request, as: UTF8.self) == "ping\n")
        let reply = Array("pong\n".utf8)
        #expect(try reply.withUnsafeBytes { try session.write($0) } == .wrote(reply.count))
        want = try session.shutdown()
        while want != .done {
            try waitFor([(fd, want)], until: deadline, "close_notify to s_client")
            want = try session.shutdown()
        }
        try client.wait(seconds: 20, for: "s_client to end after close_notify")
        let output = try String(contentsOfFile: directory + "/client.out", encoding: .utf8)
        #expect(output == "pong\n")
    }

    /// Connects to the Unix socket at `path` once something listens there; blocking calls on
    /// it give up after 20 s.
    private func connectWhenListening(_ path: String, seconds: Double) throws -> FileDescriptor {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let attempt: Result<FileDescriptor, SystemError>
            do throws(SystemError) { attempt = .success(try Socket.connect(to: .unix(path: path))) } catch { attempt = .failure(error) }
            switch attempt {
            case .success(let fd):
                var timeout = timeval(tv_sec: 20, tv_usec: 0)
                setsockopt(fd.rawValue, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(fd.rawValue, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                return fd
            case .failure(let error) where error.isNoSuchFile || error.isConnectionRefused:
                guard Date() < deadline else { throw TestTimeout("openssl s_server never listened on \(path)") }
                usleep(10_000)
            case .failure(let error):
                throw error
            }
        }
    }
}
