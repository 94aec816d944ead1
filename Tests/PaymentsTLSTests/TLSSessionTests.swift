import Foundation
import Glibc
import PaymentsPlatform
import PaymentsTLS
import Testing

/// Both ends of real TLS sessions over a non-blocking socket pair, driven by one poll loop
/// with a time limit.
@Suite struct TLSSessionTests {
    let set: TestContexts

    init() throws {
        // As in the daemon: OpenSSL writes with write(2), and even a read may send an alert
        // to a peer that is gone.
        Signals.ignoreBrokenPipe()
        set = TestContexts(try Certificates.trusted.get())
    }

    @Test func handshakeAndDataBothWays() throws {
        let pair = try SessionPair(server: try set.server(), client: try set.client())
        defer { pair.close() }
        let outcome = try handshake(pair.server, pair.client)
        #expect(outcome.server == nil && outcome.client == nil, "\(outcome)")
        #expect(pair.server.protocolVersion == "TLSv1.3")
        #expect(pair.client.peerCertificateSubject == "/CN=localhost")
        #expect(pair.server.peerCertificateSubject == nil)

        let request = Array("BALANCE 1\n".utf8)
        #expect(try transfer(request, from: pair.client, to: pair.server).received == request)
        let reply = Array("OK 1 100.0000\n".utf8)
        #expect(try transfer(reply, from: pair.server, to: pair.client).received == reply)
    }

    /// Megabytes through a socket that fills: partial writes, and retries from a buffer that
    /// moved (`SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER`), both ways.
    @Test func largeTransferWithPartialWritesFromAMovingBuffer() throws {
        let pair = try SessionPair(server: try set.server(), client: try set.client())
        defer { pair.close() }
        #expect(try handshake(pair.server, pair.client).server == nil)
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<4_000_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let down = try transfer(bytes, from: pair.server, to: pair.client, readChunk: 1000)
        #expect(down.received == bytes)
        #expect(down.wantWrites > 0, "the socket never filled: the retry path went untested")
        #expect(down.partialWrites > 0, "no write took part of its bytes: partial writes are off")
        let up = try transfer(bytes, from: pair.client, to: pair.server)
        #expect(up.received == bytes)
    }

    /// Bytes decrypted inside OpenSSL are not on the socket: poll says nothing to read, yet
    /// `pendingBytes` says how many wait.
    @Test func pendingBytesAreInvisibleToPoll() throws {
        let pair = try SessionPair(server: try set.server(), client: try set.client())
        defer { pair.close() }
        #expect(try handshake(pair.server, pair.client).server == nil)
        let message = [UInt8](repeating: 0x41, count: 1000)
        _ = try transfer([0x42], from: pair.server, to: pair.client)   // the session tickets, out of the way
        let written = try message.withUnsafeBytes { try pair.client.write($0) }
        #expect(written == .wrote(1000))
        var small = [UInt8](repeating: 0, count: 10)
        let deadline = Date().addingTimeInterval(10)
        while true {
            let result = try small.withUnsafeMutableBytes { try pair.server.read(into: $0) }
            if result == .bytes(10) { break }
            #expect(result == .wantRead)
            try waitFor([(pair.server.descriptor, .wantRead)], until: deadline, "the first 10 bytes")
        }
        #expect(pair.server.pendingBytes == 990)
        #expect(try isReadable(pair.server.descriptor) == false)
    }

    /// The client ends its input with close_notify right after its request (as socat does):
    /// the server sees `.closeNotify`, and its reply still reaches the client (SPEC §9).
    @Test func closeNotifyThenReplyStillArrives() throws {
        let pair = try SessionPair(server: try set.server(), client: try set.client())
        defer { pair.close() }
        #expect(try handshake(pair.server, pair.client).server == nil)
        let request = Array("SYNC\n".utf8)
        #expect(try request.withUnsafeBytes { try pair.client.write($0) } == .wrote(5))
        #expect(try pair.client.shutdown() == .done)

        let input = try readToEnd(pair.server)
        #expect(input.bytes == request)
        #expect(input.end == .closeNotify)

        let reply = Array("OK synced\n".utf8)
        #expect(try reply.withUnsafeBytes { try pair.server.write($0) } == .wrote(reply.count))
        #expect(try pair.server.shutdown() == .done)
        let output = try readToEnd(pair.client)
        #expect(output.bytes == reply)
        #expect(output.end == .closeNotify)
    }

    /// TCP closed without close_notify: `.eof`, told apart from a clean end.
    @Test func tcpCloseWithoutCloseNotifyIsEOF() throws {
        let pair = try SessionPair(server: try set.server(), client: try set.client())
        defer { try? pair.fds.server.close() }
        #expect(try handshake(pair.server, pair.client).server == nil)
        let request = Array("hello".utf8)
        _ = try transfer(request, from: pair.client, to: pair.server)
        // The client reads what the server sent (its session tickets): a socket closed with
        // unread input resets the connection instead.
        _ = try transfer([0x42], from: pair.server, to: pair.client)
        try pair.fds.client.close()
        let input = try readToEnd(pair.server)
        #expect(input.end == .eof)
        #expect(try pair.server.shutdown() == .done)   // nothing to send after a fatal end
    }

    /// A connection closed mid-handshake (an idle limit, the daemon stopping): nothing to send.
    @Test func shutdownBeforeTheHandshakeIsDoneSendsNothing() throws {
        let pair = try SessionPair(server: try set.server(), client: try set.client())
        defer { pair.close() }
        #expect(try pair.server.handshake() == .wantRead)
        #expect(try pair.server.shutdown() == .done)
        #expect(try pair.client.shutdown() == .done)
        #expect(try isReadable(pair.fds.client) == false)
    }

    /// A plain-text client on a TLS port: the handshake fails with an error, not a hang.
    @Test func plainTextClientFailsTheHandshake() throws {
        let fds = socketPair()
        defer {
            try? fds.server.close()
            try? fds.client.close()
        }
        let server = try TLSSession.accepting(fds.server, context: try set.server())
        try fds.client.writeAll(Array("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
        let deadline = Date().addingTimeInterval(10)
        var failure: TLSError?
        while failure == nil {
            do {
                let want = try server.handshake()
                #expect(want != .done)
                try waitFor([(server.descriptor, want)], until: deadline, "the handshake's failure")
            } catch let error as TLSError {
                failure = error
            }
        }
        guard case .handshake(let reason)? = failure else {
            Issue.record("expected a handshake error, got \(String(describing: failure))")
            return
        }
        #expect(!reason.isEmpty)
        #expect(failure!.description.hasPrefix("TLS handshake failed: "))
        #expect(server.hasFailed)
    }

    @Test func clientCertificateRequiredAndMissing() throws {
        let server = try set.server(clientCA: set.certificates.caCertificate)
        let pair = try SessionPair(server: server, client: try set.client())
        defer { pair.close() }
        let outcome = try handshake(pair.server, pair.client)
        guard case .handshake(let reason)? = outcome.server else {
            Issue.record("the server accepted a client without a certificate: \(outcome)")
            return
        }
        #expect(reason.contains("certificate"))
    }

    @Test func clientCertificatePresentIsAccepted() throws {
        let server = try set.server(clientCA: set.certificates.caCertificate)
        let client = try set.client(identity: Certificates.clientIdentity(set.certificates))
        let pair = try SessionPair(server: server, client: client)
        defer { pair.close() }
        let outcome = try handshake(pair.server, pair.client)
        #expect(outcome.server == nil && outcome.client == nil, "\(outcome)")
        #expect(pair.server.peerCertificateSubject == "/CN=client-1")
        let request = Array("AUTH x\n".utf8)
        #expect(try transfer(request, from: pair.client, to: pair.server).received == request)
    }

    @Test func clientCertificateFromAnotherCAIsRefused() throws {
        let stranger = try Certificates.stranger.get()
        let server = try set.server(clientCA: set.certificates.caCertificate)
        let client = try set.client(identity: Certificates.clientIdentity(stranger))
        let pair = try SessionPair(server: server, client: client)
        defer { pair.close() }
        let outcome = try handshake(pair.server, pair.client)
        #expect(outcome.server != nil, "the server accepted a certificate from a CA it does not trust")
    }

    /// The server's certificate must name the host the client asked for.
    @Test func hostnameMismatchIsRefusedByTheClient() throws {
        let pair = try SessionPair(server: try set.server(), client: try set.client(), host: "payments.example.org")
        defer { pair.close() }
        let outcome = try handshake(pair.server, pair.client)
        guard case .handshake(let reason)? = outcome.client else {
            Issue.record("the client accepted a certificate for another name: \(outcome)")
            return
        }
        #expect(reason.contains("hostname mismatch"))
    }

    @Test func ipAddressHostIsCheckedAgainstTheCertificate() throws {
        let good = try SessionPair(server: try set.server(), client: try set.client(), host: "127.0.0.1")
        defer { good.close() }
        let outcome = try handshake(good.server, good.client)
        #expect(outcome.server == nil && outcome.client == nil, "\(outcome)")

        let bad = try SessionPair(server: try set.server(), client: try set.client(), host: "10.1.2.3")
        defer { bad.close() }
        #expect(try handshake(bad.server, bad.client).client != nil)
    }

    @Test func serverFromAnotherCAIsRefusedByTheClient() throws {
        let stranger = try Certificates.stranger.get()
        let server = try TLSContext.server(identity: Certificates.serverIdentity(stranger))
        let pair = try SessionPair(server: server, client: try set.client())
        defer { pair.close() }
        let outcome = try handshake(pair.server, pair.client)
        guard case .handshake(let reason)? = outcome.client else {
            Issue.record("the client trusted a server from an unknown CA: \(outcome)")
            return
        }
        #expect(reason.contains("certificate verify failed"))
    }

    /// Reloading is a new context; a session started on the old one goes on after the old
    /// context is dropped (OpenSSL's reference keeps it), and new sessions show the new certificate.
    @Test func sessionOutlivesItsContextAfterReload() throws {
        let stranger = try Certificates.stranger.get()
        var old: TLSContext? = try set.server()
        let first = try SessionPair(server: old!, client: try set.client())
        defer { first.close() }
        old = nil
        let reloaded = try TLSContext.server(identity: Certificates.serverIdentity(stranger))
        #expect(try handshake(first.server, first.client).client == nil)
        #expect(first.client.peerCertificateSubject == "/CN=localhost")
        let bytes = Array("after reload".utf8)
        #expect(try transfer(bytes, from: first.server, to: first.client).received == bytes)

        let second = try SessionPair(server: reloaded, client: try TLSContext.client(caFile: stranger.caCertificate))
        defer { second.close() }
        #expect(try handshake(second.server, second.client).client == nil)
        _ = old
    }
}
