import ChildProcessSupport
import Foundation
import Glibc
import PaymentsCore
import PaymentsFormat
import PaymentsPlatform
import PaymentsTestSupport
import Testing

// Helpers for the tests that drive the real `paymentsd` and `paymentsctl` over real sockets.
// Every name starts with `Daemon` so it cannot clash with the other end-to-end helpers.

/// Where `swift test` put the built programs.
enum DaemonBinaries {
    static func url(_ name: String) -> URL { Bundle.main.bundleURL.appendingPathComponent(name) }
    static var paymentsd: URL { url("paymentsd") }
    static var paymentsctl: URL { url("paymentsctl") }
    static var payments: URL { url("payments") }
    static var fixtures: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures")
    }
    /// `Fixtures/*.csv` inputs (not the `_expected` files), sorted.
    static var fixtureInputs: [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.path)) ?? []
        return names.filter { $0.hasSuffix(".csv") && !$0.hasSuffix("_expected.csv") }.sorted()
            .map { fixtures.appendingPathComponent($0) }
    }
}

/// A test failure found by the helpers (a timeout, a daemon that would not start).
struct DaemonTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A short private directory under /tmp (Unix socket paths must stay under 108 bytes),
/// removed when the value goes away.
final class DaemonScratch: @unchecked Sendable {
    let path: String

    init() {
        var template = Array("/tmp/pdt.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(cString: made!)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ text: String) -> String {
        let p = file(name)
        _ = FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
        return p
    }
}

/// One running `paymentsd` on a data directory, listening on a Unix socket and an ephemeral
/// TCP port (never HTTP). Its standard error goes to a file the test can read. Every wait for
/// it is bounded, and it dies with the test process (`ChildProcess`).
final class DaemonProcess: @unchecked Sendable {
    let dataDirectory: String
    let socketPath: String
    let logPath: String
    let process: ChildProcess
    private(set) var tcpPort: UInt16 = 0

    /// How long a start may take before the test fails (a debug build on a busy machine).
    static let startTimeoutSeconds = 60.0
    /// How long a stop (SIGTERM: answer, sync, snapshot) may take before the daemon is killed
    /// and the test fails.
    static let stopTimeoutSeconds = 60.0

    /// Starts the daemon and returns once it logged "ready" and accepts connections.
    init(dataDirectory: String, socketPath: String, fsync: String = "always", extra: [String] = []) throws {
        self.dataDirectory = dataDirectory
        self.socketPath = socketPath
        logPath = socketPath + ".log." + String(UInt32.random(in: 0...UInt32.max))
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process = try ChildProcess(
            DaemonBinaries.paymentsd.path,
            ["--data-dir", dataDirectory, "--unix", socketPath, "--tcp", "127.0.0.1:0", "--fsync", fsync] + extra,
            stderrPath: logPath)
        try waitUntilReady()
    }

    /// A daemon in `scratch` with the usual names.
    convenience init(in scratch: DaemonScratch, fsync: String = "always", extra: [String] = []) throws {
        try self.init(dataDirectory: scratch.file("data"), socketPath: scratch.file("d.sock"), fsync: fsync, extra: extra)
    }

    deinit {
        process.kill(signal: SIGKILL, andWaitSeconds: 10)
        try? FileManager.default.removeItem(atPath: logPath)
    }

    var pid: Int32 { process.pid }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var unixAddress: SocketAddress { .unix(path: socketPath) }
    var tcpAddress: SocketAddress { try! SocketAddress.hostPort("127.0.0.1:\(tcpPort)") }
    func address(_ kind: DaemonTransport) -> SocketAddress { kind == .unix ? unixAddress : tcpAddress }

    private func waitUntilReady() throws {
        let deadline = Date().addingTimeInterval(Self.startTimeoutSeconds)
        while Date() < deadline {
            guard process.isRunning else {
                throw DaemonTestError("paymentsd exited with \(process.terminationStatus) before it was ready:\n\(log)")
            }
            let text = log
            if text.contains(" ready: "), let port = Self.tcpPort(in: text), (try? DaemonClient(unixAddress)) != nil {
                tcpPort = port
                return
            }
            usleep(5_000)
        }
        throw DaemonTestError("paymentsd was not ready within \(Self.startTimeoutSeconds) s:\n\(log)")
    }

    /// The port of "listening on 127.0.0.1:PORT (line)".
    static func tcpPort(in log: String) -> UInt16? {
        for line in log.split(separator: "\n") {
            guard let r = line.range(of: "listening on 127.0.0.1:"), line.hasSuffix(" (line)") else { continue }
            let digits = line[r.upperBound...].prefix { $0.isNumber }
            if let port = UInt16(digits) { return port }
        }
        return nil
    }

    /// SIGTERM, then waits (at most `stopTimeoutSeconds`: then it is killed and the test
    /// fails); returns the exit status.
    @discardableResult
    func terminate(sourceLocation: SourceLocation = #_sourceLocation) -> Int32 {
        process.signal(SIGTERM)
        process.waitUntilExit(seconds: Self.stopTimeoutSeconds, for: "for paymentsd to stop after SIGTERM", sourceLocation: sourceLocation)
        return process.terminationStatus
    }

    /// SIGKILL, then waits (bounded).
    func crash(sourceLocation: SourceLocation = #_sourceLocation) {
        process.signal(SIGKILL)
        process.waitUntilExit(seconds: 10, for: "for paymentsd to die of SIGKILL", sourceLocation: sourceLocation)
    }

    /// Resident memory in KiB from /proc/PID/status.
    func residentKiB() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }
}

enum DaemonTransport: String, CaseIterable, Sendable, CustomStringConvertible {
    case unix, tcp
    var description: String { rawValue }
}

/// A blocking client with receive and send timeouts, so a broken daemon fails a test instead
/// of hanging the suite.
final class DaemonClient: @unchecked Sendable {
    let fd: FileDescriptor
    private var buffered: [UInt8] = []
    private var head = 0
    private var closed = false

    static let timeoutSeconds = 60

    init(_ address: SocketAddress) throws {
        fd = try Socket.connect(to: address)
        var timeout = timeval(tv_sec: Self.timeoutSeconds, tv_usec: 0)
        setsockopt(fd.rawValue, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd.rawValue, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close() }

    func close() {
        guard !closed else { return }
        closed = true
        try? fd.close()
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        let fd = self.fd
        let result: Result<Void, SystemError> = bytes.withUnsafeBytes { raw in
            do throws(SystemError) {
                var done = 0
                while done < raw.count { done += try fd.sendOnce(UnsafeRawBufferPointer(rebasing: raw[done...])) }
                return .success(())
            } catch { return .failure(error) }
        }
        try result.get()
    }

    func shutdownWrite() throws { try fd.shutdown(.write) }

    /// The next reply line without its newline; nil at end of stream (or a reset).
    func line() throws -> String? {
        while true {
            if let newline = buffered[head...].firstIndex(of: 0x0A) {
                let text = String(decoding: buffered[head..<newline], as: UTF8.self)
                head = newline + 1
                return text
            }
            guard try fill() else { return nil }
        }
    }

    /// The next line, failing when the stream ended.
    func expectLine() throws -> String {
        guard let l = try line() else { throw DaemonTestError("connection closed, a reply line was expected") }
        return l
    }

    /// Lines up to the empty line that ends a DUMP, HISTORY or HELP reply (not included).
    func block() throws -> [String] {
        var lines: [String] = []
        while true {
            let l = try expectLine()
            if l.isEmpty { return lines }
            lines.append(l)
        }
    }

    /// Sends one request line and reads one reply line.
    func ask(_ request: String) throws -> String {
        try send(request + "\n")
        return try expectLine()
    }

    /// Sends one request and reads a reply ended by an empty line.
    func askBlock(_ request: String) throws -> [String] {
        try send(request + "\n")
        return try block()
    }

    /// Everything until the daemon closes the connection.
    func readToEnd() throws -> String {
        while try fill() {}
        defer { buffered.removeAll(); head = 0 }
        return String(decoding: buffered[head...], as: UTF8.self)
    }

    /// Reads once; false at end of stream or when the peer reset the connection.
    func fill() throws -> Bool {
        if head > 0 && head * 2 >= buffered.count {
            buffered.removeFirst(head)
            head = 0
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let fd = self.fd
        let result: Result<Int, SystemError> = chunk.withUnsafeMutableBytes { raw in
            do throws(SystemError) { return .success(try fd.read(into: raw)) } catch { return .failure(error) }
        }
        let count: Int
        switch result {
        case .success(let n): count = n
        case .failure(let e) where e.isPeerGone: return false
        case .failure(let e) where e.isWouldBlock: throw DaemonTestError("no reply within \(Self.timeoutSeconds) s")
        case .failure(let e): throw e
        }
        buffered.append(contentsOf: chunk[..<count])
        return count > 0
    }
}

/// Runs a program to its end with standard input from a file (or nothing) and captures its
/// output through files (no pipe can fill up). A program still running after `timeoutSeconds`
/// is killed and the test fails.
struct DaemonRun {
    var status: Int32
    var stdout: String
    var stderr: String

    static let timeoutSeconds = 60.0

    static func run(
        _ program: URL, _ arguments: [String], stdin: String? = nil, environment: [String: String]? = nil,
        timeoutSeconds: Double = DaemonRun.timeoutSeconds, in scratch: DaemonScratch
    ) throws -> DaemonRun {
        let tag = String(UInt64.random(in: 0...UInt64.max))
        let outPath = scratch.file("out." + tag), errPath = scratch.file("err." + tag)
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        let p = try ChildProcess(
            program.path, arguments, environment: environment, stdinPath: stdin, stdoutPath: outPath, stderrPath: errPath)
        do {
            try p.wait(seconds: timeoutSeconds, for: "for it to finish")
        } catch {
            let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            throw DaemonTestError("\(error)\nits standard error:\n\(err.suffix(2000))")
        }
        return DaemonRun(
            status: p.terminationStatus,
            stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    /// Runs a shell command line (for `nc` and `socat` as a user would type them).
    static func shell(_ command: String, in scratch: DaemonScratch) throws -> DaemonRun {
        try run(URL(fileURLWithPath: "/bin/sh"), ["-c", command], in: scratch)
    }

    static func toolExists(_ name: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }
}

/// The engine run in-process on lines, as `payments` would: the reference for what the daemon
/// should hold.
final class DaemonReference {
    let engine = Engine()

    /// Applies one input line; returns whether it was a well-formed transaction.
    @discardableResult
    func apply(_ line: String) -> Outcome? {
        guard case .transaction(let t) = TransactionLine.parse(line) else { return nil }
        return engine.apply(t)
    }

    /// The accounts CSV of §3 (header and rows), one string per line.
    var dump: [String] {
        var out: [UInt8] = []
        AccountText.appendAll(engine.ledger, json: false, to: &out)
        return String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// The CSV row of one client as `GET` prints it, or nil without an account.
    func row(_ client: ClientID) -> String? {
        guard let a = engine.ledger.account(client) else { return nil }
        var out: [UInt8] = []
        AccountText.appendCSVRow(a, to: &out)
        out.removeLast()
        return String(decoding: out, as: UTF8.self)
    }

    static func dump(of lines: [String]) -> [String] {
        let r = DaemonReference()
        for l in lines { r.apply(l) }
        return r.dump
    }
}

/// The seeded generator the daemon tests replay their streams from.
typealias DaemonRandom = SplitMix64

/// A random stream of transaction lines that exercises every rule: deposits and withdrawals
/// (some refused), disputes, resolves and chargebacks of earlier deposits (some of other
/// clients, some unknown), duplicates, JSON lines, padding and case, and malformed lines.
/// Ids start at `firstTx`; disputes only name ids of this stream. Every line gets a reply
/// (no blank lines or headers).
enum DaemonStream {
    static func generate(count: Int, seed: UInt64, clients: ClosedRange<UInt16> = 1...50, firstTx: UInt32 = 1) -> [String] {
        var rng = DaemonRandom(seed: seed)
        var lines: [String] = []
        lines.reserveCapacity(count)
        var deposits: [(tx: UInt32, client: UInt16)] = []
        var nextTx = firstTx
        func amount() -> String {
            let units = UInt64.random(in: 1...2_000_000, using: &rng)
            let whole = units / 10_000, frac = units % 10_000
            switch units % 4 {
            case 0: return "\(whole).\(String(frac + 10_000).dropFirst())"
            case 1: return "\(whole)"
            case 2: return " \(whole).\(frac % 10)\t"
            default: return "\(whole).\(String(frac + 10_000).dropFirst())".replacingOccurrences(of: "0000", with: "")
            }
        }
        while lines.count < count {
            let client = UInt16.random(in: clients, using: &rng)
            let roll = Int.random(in: 0..<1000, using: &rng)
            if roll < 450 || deposits.isEmpty {
                let tx = nextTx; nextTx += 1
                deposits.append((tx, client))
                if roll % 10 == 0 {
                    lines.append(#"{"type":"deposit","client":\#(client),"tx":\#(tx),"amount":"\#(amount().trimmingCharacters(in: .whitespaces))"}"#)
                } else {
                    lines.append("\(roll % 7 == 0 ? "DEPOSIT" : "deposit"),\(client),\(tx),\(amount())")
                }
            } else if roll < 700 {
                let tx = nextTx; nextTx += 1
                lines.append("withdrawal, \(client), \(tx), \(amount())")
            } else if roll < 900 {
                let d = deposits[Int.random(in: 0..<deposits.count, using: &rng)]
                let kind = roll < 800 ? "dispute" : roll < 890 ? "resolve" : "chargeback"
                let who = roll % 13 == 0 ? client : d.client
                lines.append("\(kind),\(who),\(d.tx)\(roll % 2 == 0 ? "," : "")")
            } else if roll < 930 {
                let d = deposits[Int.random(in: 0..<deposits.count, using: &rng)]
                lines.append("deposit,\(d.client),\(d.tx),1.0")  // duplicate id
            } else if roll < 950 {
                lines.append("dispute,\(client),\(firstTx &+ 999_000)")  // unknown tx
            } else if roll < 970 {
                lines.append(#"{"type":"withdrawal","client":\#(client),"tx":\#(nextTx),"amount":0.5}"#)
                nextTx += 1
            } else {
                let bad = ["deposit,\(client),\(nextTx),-1", "deposit,\(client),\(nextTx),1.23456", "transfer,1,2,3",
                           "deposit,\(client),x,1", "deposit,70000,\(nextTx),1", #"{"type":"deposit","client":1"#,
                           "deposit,\(client),\(nextTx),0"]
                lines.append(bad[Int.random(in: 0..<bad.count, using: &rng)])
            }
        }
        return lines
    }
}

/// Parses a `STATS` reply into its pairs.
func daemonStats(_ line: String) -> [String: String] {
    var pairs: [String: String] = [:]
    for word in line.split(separator: " ") {
        let kv = word.split(separator: "=", maxSplits: 1)
        if kv.count == 2 { pairs[String(kv[0])] = String(kv[1]) }
    }
    return pairs
}

/// The daemon tests, one suite after another: each starts real daemons, and running them all
/// at once on a small machine only makes every one of them slower.
@Suite(.serialized) struct DaemonEndToEnd {}
