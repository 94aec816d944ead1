import Foundation
import Glibc
import Synchronization
import PaymentsPlatform
import PaymentsTLS
import TLSTestSupport

/// The certificates every test shares, made once per run by the real `openssl` command: a
/// trusted set, and a stranger's (another CA, its own server and client certificates).
enum Certificates {
    static let trusted: Result<TestCertificates, any Error> = Result {
        try TestCertificates.make(in: try temporaryDirectory())
    }
    static let stranger: Result<TestCertificates, any Error> = Result {
        try TestCertificates.make(in: try temporaryDirectory(), prefix: "stranger-", caName: "stranger CA")
    }

    static func serverIdentity(_ set: TestCertificates) -> TLSIdentity {
        TLSIdentity(certificateChain: set.serverCertificate, privateKey: set.serverKey)
    }

    static func clientIdentity(_ set: TestCertificates) -> TLSIdentity {
        TLSIdentity(certificateChain: set.clientCertificate, privateKey: set.clientKey)
    }
}

/// Contexts made from one set of certificates: a server showing its server certificate, a
/// client trusting its CA.
struct TestContexts {
    let certificates: TestCertificates

    init(_ certificates: TestCertificates) { self.certificates = certificates }

    func server(clientCA: String? = nil) throws -> TLSContext {
        try TLSContext.server(identity: Certificates.serverIdentity(certificates), clientCA: clientCA)
    }

    func client(identity: TLSIdentity? = nil) throws -> TLSContext {
        try TLSContext.client(caFile: certificates.caCertificate, identity: identity)
    }
}

struct TestTimeout: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A fresh directory under /tmp (short paths: Unix sockets go there too), removed with its
/// files when the test process exits.
func temporaryDirectory() throws -> String {
    var template = Array("/tmp/ptls.XXXXXX".utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw SystemError(call: "mkdtemp", errno: errno)
    }
    let directory = String(cString: made)
    TemporaryDirectories.add(directory)
    return directory
}

enum TemporaryDirectories {
    private static let made = Mutex<[String]>([])
    private static let exitHook: Void = { atexit { TemporaryDirectories.removeAll() } }()

    static func add(_ directory: String) {
        _ = exitHook
        made.withLock { $0.append(directory) }
    }

    private static func removeAll() {
        for directory in made.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: directory) }
    }
}

func writeFile(_ path: String, _ text: String) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

/// A connected pair of Unix stream sockets, non-blocking unless asked; blocking calls give up
/// after `timeoutSeconds`.
func socketPair(nonBlocking: Bool = true, timeoutSeconds: Int = 20) -> (server: FileDescriptor, client: FileDescriptor) {
    var fds: [Int32] = [0, 0]
    precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
    var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
    for fd in fds {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if nonBlocking { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }
    return (FileDescriptor(rawValue: fds[0], label: "server end"), FileDescriptor(rawValue: fds[1], label: "client end"))
}

/// Whether `fd` has bytes to read now (poll with no wait).
func isReadable(_ fd: FileDescriptor) throws -> Bool {
    var entries = [PollEntry(fd, read: true, write: false)]
    try Poll.wait(&entries, timeoutMilliseconds: 0)
    return entries[0].isReadable
}

/// Waits with poll for what each side asked (`nil`: nothing), at most 50 ms, failing once
/// `deadline` has passed.
func waitFor(_ wants: [(FileDescriptor, TLSProgress?)], until deadline: Date, _ what: String) throws {
    guard Date() < deadline else { throw TestTimeout("\(what): not done in time") }
    let entries = wants.compactMap { fd, want in
        want.map { PollEntry(fd, read: $0 == .wantRead, write: $0 == .wantWrite) }
    }
    var polled = entries
    if !polled.isEmpty { try Poll.wait(&polled, timeoutMilliseconds: 50) }
}

/// What each side of a handshake ended with: nil when it finished, else its error.
struct HandshakeOutcome {
    var server: TLSError?
    var client: TLSError?
}

/// Steps both handshakes, each waiting on poll for what it asks, until both are done or one
/// fails; past `seconds`, throws.
func handshake(_ server: TLSSession, _ client: TLSSession, seconds: Double = 10) throws -> HandshakeOutcome {
    let deadline = Date().addingTimeInterval(seconds)
    var serverWant: TLSProgress? = .wantRead, clientWant: TLSProgress? = .wantWrite
    var outcome = HandshakeOutcome()
    while true {
        if serverWant != nil {
            do { serverWant = try server.handshake() } catch { outcome.server = error }
        }
        if clientWant != nil {
            do { clientWant = try client.handshake() } catch { outcome.client = error }
        }
        if serverWant == .done { serverWant = nil }
        if clientWant == .done { clientWant = nil }
        if outcome.server != nil || outcome.client != nil || (serverWant == nil && clientWant == nil) {
            return outcome
        }
        try waitFor([(server.descriptor, serverWant), (client.descriptor, clientWant)], until: deadline, "handshake")
    }
}

/// Sends `bytes` from `writer` to `reader` over non-blocking sockets in one poll loop, and
/// returns what arrived once as many bytes did. After every `.want*` the unsent bytes move
/// to a new array before the retry, as the daemon's output buffer may. `wantWrites` counts the
/// times the writer had to wait (the socket full), `partialWrites` the writes that took part
/// of what they were given.
func transfer(
    _ bytes: [UInt8], from writer: TLSSession, to reader: TLSSession, readChunk: Int = 16384, seconds: Double = 20
) throws -> (received: [UInt8], wantWrites: Int, partialWrites: Int) {
    let deadline = Date().addingTimeInterval(seconds)
    var pending = bytes, offset = 0
    var held: [[UInt8]] = []   // earlier copies stay allocated, so a new copy cannot reuse their address
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: readChunk)
    var wantWrites = 0, partialWrites = 0
    while received.count < bytes.count {
        var writeWant: TLSProgress?
        // Write until the socket is full, so the reader has to make room.
        writing: while offset < pending.count {
            switch try pending.withUnsafeBytes({ try writer.write(UnsafeRawBufferPointer(rebasing: $0[offset...])) }) {
            case .wrote(let count):
                if offset + count < pending.count { partialWrites += 1 }
                offset += count
            case .wantWrite, .wantRead:
                wantWrites += 1
                writeWant = .wantWrite
                held.append(pending)
                if held.count > 2 { held.removeFirst() }
                pending = Array(pending[offset...])
                offset = 0
                break writing
            }
        }
        var readWant: TLSProgress? = .wantRead
        reading: while true {
            switch try chunk.withUnsafeMutableBytes({ try reader.read(into: $0) }) {
            case .bytes(let count): received += chunk[..<count]
            case .wantRead: break reading
            case .wantWrite: readWant = .wantWrite; break reading
            case .closeNotify, .eof: throw TestTimeout("input ended after \(received.count) bytes")
            }
        }
        if received.count < bytes.count && writeWant != nil {
            try waitFor([(writer.descriptor, writeWant), (reader.descriptor, readWant)], until: deadline, "transfer")
        } else if received.count < bytes.count && offset == pending.count {
            try waitFor([(reader.descriptor, readWant)], until: deadline, "transfer")
        }
    }
    return (received, wantWrites, partialWrites)
}

/// Reads until something other than bytes comes, or `deadline`: the bytes and how it ended.
func readToEnd(_ reader: TLSSession, seconds: Double = 10) throws -> (bytes: [UInt8], end: TLSReadResult) {
    let deadline = Date().addingTimeInterval(seconds)
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let result = try chunk.withUnsafeMutableBytes { try reader.read(into: $0) }
        switch result {
        case .bytes(let count): bytes += chunk[..<count]
        case .wantRead, .wantWrite:
            try waitFor([(reader.descriptor, result == .wantRead ? .wantRead : .wantWrite)], until: deadline, "read")
        case .closeNotify, .eof: return (bytes, result)
        }
    }
}

/// A server and a client session over a fresh socket pair, handshake not started.
struct SessionPair {
    let server: TLSSession
    let client: TLSSession
    let fds: (server: FileDescriptor, client: FileDescriptor)

    init(server serverContext: TLSContext, client clientContext: TLSContext, host: String = "localhost") throws {
        fds = socketPair()
        server = try TLSSession.accepting(fds.server, context: serverContext)
        client = try TLSSession.connecting(fds.client, context: clientContext, host: host)
    }

    func close() {
        try? fds.server.close()
        try? fds.client.close()
    }
}
