import ChildProcessSupport
import Foundation
import Glibc
import PaymentsPlatform
import PaymentsRedis
import Testing

// Helpers for the change-stream client tests (`paymentsctl follow` and `mirror`): a feeder
// that streams transactions into a daemon from a thread of its own, a real `redis-server`, and
// the checks on what a follower printed.

/// Sends `lines` to a daemon in small pipelined chunks from a background thread, reconnecting
/// when the daemon goes away (lines sent then may or may not be journaled: the tests compare
/// with what the daemon holds, never with what was sent). `wait` is bounded.
final class FollowFeeder: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var _sent = 0
    var sent: Int { lock.lock(); defer { lock.unlock() }; return _sent }

    init(_ address: @escaping @Sendable () -> SocketAddress, lines: [String], chunk: Int = 50, pauseMicroseconds: UInt32 = 2_000) {
        Thread.detachNewThread { [self] in
            var index = 0
            var client: DaemonClient?
            let deadline = Date().addingTimeInterval(120)
            while index < lines.count && Date() < deadline {
                do {
                    if client == nil { client = try DaemonClient(address()) }
                    let end = min(index + chunk, lines.count)
                    try client!.send(lines[index..<end].joined(separator: "\n") + "\n")
                    for _ in index..<end { _ = try client!.expectLine() }
                    index = end
                    lock.lock(); _sent = index; lock.unlock()
                    usleep(pauseMicroseconds)
                } catch {
                    client = nil
                    usleep(50_000)
                }
            }
            done.signal()
        }
    }

    /// Waits until every line was acknowledged (at most `seconds`).
    func wait(seconds: Double = 120) throws {
        if done.wait(timeout: .now() + seconds) == .timedOut { throw DaemonTestError("the feeder did not finish within \(seconds) s") }
    }
}

/// What a follower printed: its lines' LSNs in order, and the lines.
struct FollowOutput {
    let lines: [String]
    let lsns: [UInt64]

    init(path: String) {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        lines = text.split(separator: "\n").map(String.init)
        lsns = lines.map { line in
            guard let r = line.range(of: #"{"lsn":"#) else { return 0 }
            return UInt64(line[r.upperBound...].prefix { $0.isNumber }) ?? 0
        }
    }

    /// Where the LSNs break "each one the last plus one": a gap, or a repeat (a line printed again).
    func breaks() -> (gaps: [String], repeats: Int) {
        var gaps: [String] = [], repeats = 0
        for index in lsns.indices.dropFirst() {
            let previous = lsns[index - 1], lsn = lsns[index]
            if lsn > previous + 1 { gaps.append("\(previous) -> \(lsn) at line \(index + 1)") }
            if lsn <= previous { repeats += Int(previous - lsn + 1) }
        }
        return (gaps, repeats)
    }
}

/// The daemon's whole stream, `FOLLOW 0` up to `last`, read on a connection of the test's own.
func daemonStreamLines(_ address: SocketAddress, through last: UInt64) throws -> [String] {
    let client = try DaemonClient(address)
    try client.send("FOLLOW 0\n")
    var lines: [String] = []
    while lines.count < Int(last) { lines.append(try client.expectLine()) }
    return lines
}

/// Waits (at most `seconds`) until `condition` holds; fails naming `what` otherwise.
func followWait(_ seconds: Double, _ what: String, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return }
        usleep(20_000)
    }
    throw DaemonTestError("timed out after \(seconds) s waiting for \(what)")
}

/// The daemon's `last_lsn`.
func daemonLastLSN(_ address: SocketAddress) throws -> UInt64 {
    let client = try DaemonClient(address)
    return UInt64(daemonStats(try client.ask("STATS"))["last_lsn"] ?? "") ?? 0
}

/// A real `redis-server` on a free loopback port, its files in `directory`, no persistence
/// unless asked: a restart comes back empty, as a cache server without RDB or AOF does.
final class RedisServer: @unchecked Sendable {
    let port: UInt16
    let directory: String
    private(set) var process: ChildProcess?

    static var isInstalled: Bool { DaemonRun.toolExists("redis-server") }

    init(directory: String) throws {
        self.directory = directory
        port = try Self.freePort()
        try start()
    }

    deinit { process?.kill(signal: SIGKILL, andWaitSeconds: 10) }

    var url: String { "redis://127.0.0.1:\(port)" }

    func start() throws {
        process = try ChildProcess(
            "/usr/bin/env", ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory],
            stdoutPath: directory + "/redis.log", stderrPath: directory + "/redis.log")
        try followWait(20, "redis-server to answer PING") { (try? connect().command(["PING"])) == .simple("PONG") }
    }

    func kill() {
        process?.signal(SIGKILL)
        process?.waitUntilExit(seconds: 10, for: "for redis-server to die of SIGKILL")
    }

    func connect() throws -> RedisConnection { try RedisConnection(try RedisURL(url), timeoutMilliseconds: 10_000) }

    /// A port nobody listens on now (bound to port 0 and released).
    static func freePort() throws -> UInt16 {
        let fd = try Socket.listen(on: try SocketAddress.hostPort("127.0.0.1:0"))
        defer { try? fd.close() }
        guard let address = try fd.localAddress(), let port = address.port else { throw DaemonTestError("no port") }
        return port
    }
}
