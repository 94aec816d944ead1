import Foundation
import Glibc

/// A loopback TCP relay between the daemon and PostgreSQL that a test can cut: `cut()` first
/// drops what the server sends (the commit happens, its answer never arrives: the outcome is
/// unknown to the daemon), then closes every relayed connection. New connections pass again.
/// `freeze()` holds every byte with the connections open, as a network gone silent does.
/// `block()` cuts every connection and refuses new ones (closed as soon as accepted) until
/// `unblock()`: PostgreSQL unreachable for as long as the test wants.
final class TCPProxy: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let targetPort: Int
    private let lock = NSLock()
    private var sockets: [Int32] = []
    private var dropping = false
    private var frozen = false
    private var refusing = false
    private var closed = false

    init(to targetPort: Int) throws {
        self.targetPort = targetPort
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 64) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard ok else { throw Replicated.Failure("proxy: cannot listen: \(String(cString: strerror(errno)))") }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    deinit { shutdown() }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { if lock.withLock({ closed }) { return } else { continue } }
            if lock.withLock({ refusing }) { close(client); continue }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: targetPort)
            let connected = withUnsafePointer(to: &address) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            guard connected else { close(client); close(server); continue }
            lock.withLock { sockets += [client, server] }
            Thread { [self] in pump(from: client, to: server, fromServer: false) }.start()
            Thread { [self] in pump(from: server, to: client, fromServer: true) }.start()
        }
    }

    private func pump(from: Int32, to: Int32, fromServer: Bool) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            if fromServer && lock.withLock({ dropping }) { continue }
            // Frozen: the bytes wait here, the connections stay open (a network that went silent).
            var waited = 0
            while lock.withLock({ frozen }) && waited < 60_000 { usleep(10_000); waited += 10 }
            var sent = 0
            while sent < n {
                let w = buffer.withUnsafeBytes { write(to, $0.baseAddress! + sent, n - sent) }
                if w <= 0 { Glibc.shutdown(from, Int32(SHUT_RDWR)); return }
                sent += w
            }
        }
        Glibc.shutdown(to, Int32(SHUT_RDWR))
    }

    /// Drops the server's answers for `milliseconds`, then closes every relayed connection.
    func cut(droppingFor milliseconds: UInt32 = 300) {
        lock.withLock { dropping = true }
        usleep(milliseconds * 1000)
        let open = lock.withLock { () -> [Int32] in
            let all = sockets
            sockets = []
            dropping = false
            return all
        }
        for fd in open { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Closes every relayed connection and refuses new ones until `unblock()`.
    func block() {
        lock.withLock { refusing = true }
        cut(droppingFor: 0)
    }

    func unblock() { lock.withLock { refusing = false } }

    /// Holds every byte in both directions, connections open, until `thaw()`.
    func freeze() { lock.withLock { frozen = true } }
    func thaw() { lock.withLock { frozen = false } }

    func shutdown() {
        let open = lock.withLock { () -> [Int32] in
            closed = true
            let all = sockets
            sockets = []
            return all
        }
        for fd in open { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
        Glibc.shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}
