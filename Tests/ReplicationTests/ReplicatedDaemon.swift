import ChildProcessSupport
import Foundation
import Glibc
import PaymentsCore
import PaymentsFormat
import PaymentsPlatform
import PaymentsTestSupport

// The real `paymentsd` on a ledger in a test's PostgreSQL, a client with time limits, and the
// rules applied to a prefix of what was sent (the model every scenario compares with).

enum Replicated {
    static func binary(_ name: String) -> URL { Bundle.main.bundleURL.appendingPathComponent(name) }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// A short private directory under /tmp (socket paths stay under 108 bytes).
    static func scratch() -> String {
        var template = Array("/tmp/prt.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Polls `condition` every 20 ms until it holds; fails naming `what` after `seconds`. A
    /// `Failure` thrown by the condition (a daemon that exited) fails at once; any other error
    /// (a daemon not listening yet) counts as "not yet".
    static func waitFor(_ what: String, seconds: Double = 60, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            do {
                if try condition() { return }
            } catch let failure as Failure {
                throw failure
            } catch {}
            usleep(20_000)
        }
        throw Failure("timed out after \(Int(seconds)) s waiting for \(what)")
    }

    /// `count` well-formed transaction lines (deposits, withdrawals, disputes, resolves,
    /// chargebacks over a few clients), ids from `firstID`; every one is journaled when taken.
    static func stream(count: Int, firstID: UInt32 = 1, seed: UInt64 = 7) -> [String] {
        var random = SplitMix64(seed: seed)
        var lines: [String] = []
        var deposits: [(client: Int, tx: UInt32)] = []
        var id = firstID
        while lines.count < count {
            let client = 1 + random.below(50)
            switch random.below(10) {
            case 0..<5:
                lines.append("deposit,\(client),\(id),\(1 + random.below(1000)).\(random.below(10000))")
                deposits.append((client, id))
                id += 1
            case 5..<8:
                // Never 0.0: a zero amount is malformed, not a transaction, and would not be journaled.
                lines.append("withdrawal,\(client),\(id),\(random.below(300)).\(1 + random.below(99))")
                id += 1
            default:
                guard let d = deposits.isEmpty ? nil : deposits[random.below(deposits.count)] else { continue }
                let kind = ["dispute", "resolve", "chargeback"][random.below(3)]
                lines.append("\(kind),\(d.client),\(d.tx),")
            }
        }
        return lines
    }

    /// The accounts CSV (as `DUMP` prints it) after the rules applied to `lines` in order.
    static func expectedDump(_ lines: some Sequence<String>) -> String {
        let engine = Engine()
        for line in lines {
            let bytes = Array(line.utf8)
            let parsed = bytes.withUnsafeBytes { TransactionLine.parse($0) }
            guard case .transaction(let t) = parsed else { preconditionFailure("not a transaction: \(line)") }
            engine.apply(t)
        }
        var out: [UInt8] = []
        AccountText.appendAll(engine.ledger, json: false, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// One `paymentsd --journal` process on a Unix socket and an HTTP port.
final class ReplicatedDaemon: @unchecked Sendable {
    /// In a process group of its own, killed when the test process ends however it ends.
    let process: ChildProcess
    let directory: String
    let node: String
    var socketPath: String { directory + "/d.sock" }
    var logPath: String { directory + "/log" }
    private(set) var httpPort: Int = 0

    /// Starts a daemon and waits until it is ready (listening); `extra` adds flags.
    init(uri: String, node: String, extra: [String] = [], waitReady: Bool = true) throws {
        directory = Replicated.scratch()
        self.node = node
        let arguments = [
            "--journal", uri, "--node-name", node, "--data-dir", directory + "/data", "--unix", directory + "/d.sock",
            "--http", "127.0.0.1:0", "--lease-ms", "2000",
        ] + extra
        process = try ChildProcess(Replicated.binary("paymentsd").path, arguments, stderrPath: directory + "/log")
        if waitReady { try waitUntilReady() }
    }

    deinit {
        _ = process.kill(signal: SIGKILL, andWaitSeconds: 30)
        try? FileManager.default.removeItem(atPath: directory)
    }

    var pid: Int32 { process.processIdentifier }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func waitUntilReady() throws {
        try Replicated.waitFor("\(node) to be ready") {
            guard process.isRunning else { throw Replicated.Failure("\(node) exited \(process.terminationStatus):\n\(log)") }
            guard log.contains(" ready: ") else { return false }
            for line in log.split(separator: "\n") {
                if let r = line.range(of: "listening on 127.0.0.1:"), line.hasSuffix(" (http)") {
                    httpPort = Int(line[r.upperBound...].prefix { $0.isNumber }) ?? 0
                }
            }
            return true
        }
    }

    /// Waits for the exit (bounded) and returns the status.
    func waitExit(seconds: Double = 60) throws -> Int32 {
        try process.wait(seconds: seconds, for: "\(node) to exit")
    }

    func crash() {
        _ = process.kill(signal: SIGKILL, andWaitSeconds: 30)
    }

    /// One request and its reply lines (up to the blank line for DUMP, one line otherwise).
    func ask(_ request: String, multiline: Bool = false) throws -> String {
        let client = try LineClient(socketPath)
        try client.send(request + "\n")
        if !multiline { return try client.line() ?? "" }
        var lines: [String] = []
        while let line = try client.line(), !line.isEmpty { lines.append(line) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `STATS` as a dictionary.
    func stats() throws -> [String: String] {
        var result: [String: String] = [:]
        for pair in try ask("STATS").split(separator: " ") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { result[String(kv[0])] = String(kv[1]) }
        }
        return result
    }

    func role() -> String? { (try? stats())?["role"] }
    func lsn() throws -> Int { Int(try stats()["lsn"] ?? "") ?? -1 }
    func dump() throws -> String { try ask("DUMP", multiline: true) }

    /// Waits until this daemon is a standby that knows `leader` leads.
    func waitForStandby(of leader: String, seconds: Double = 60) throws {
        try Replicated.waitFor("\(node) to follow \(leader)", seconds: seconds) {
            let s = try stats()
            return s["role"] == "standby" && s["leader"] == leader
        }
    }

    func waitForRole(_ role: String, seconds: Double = 60) throws {
        try Replicated.waitFor("\(node) to become \(role)", seconds: seconds) { self.role() == role }
    }
}

/// A blocking line client with send and receive time limits.
final class LineClient: @unchecked Sendable {
    let fd: FileDescriptor
    private var buffer: [UInt8] = []
    private var head = 0

    init(_ path: String, timeoutSeconds: Int = 60) throws {
        fd = try Socket.connect(to: .unix(path: path))
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd.rawValue, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd.rawValue, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { try? fd.close() }

    func send(_ text: String) throws {
        let fd = self.fd
        let result: Result<Void, SystemError> = Array(text.utf8).withUnsafeBytes { raw in
            do throws(SystemError) {
                var done = 0
                while done < raw.count { done += try fd.sendOnce(UnsafeRawBufferPointer(rebasing: raw[done...])) }
                return .success(())
            } catch { return .failure(error) }
        }
        try result.get()
    }

    func shutdownWrite() { try? fd.shutdown(.write) }

    /// The next line; nil at the end of the stream, a reset or the time limit.
    func line() throws -> String? {
        while true {
            if let newline = buffer[head...].firstIndex(of: 0x0A) {
                let text = String(decoding: buffer[head..<newline], as: UTF8.self)
                head = newline + 1
                if head > 1 << 16 { buffer.removeFirst(head); head = 0 }
                return text
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd.rawValue, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }
}

/// Streams lines to a daemon from one thread while another reads the replies, so a test can
/// kill or stop the daemon mid-stream and then know exactly which lines were answered how.
final class Streamer: @unchecked Sendable {
    let lines: [String]
    private let lock = NSLock()
    private var replies: [String] = []
    private var sender: Thread?
    private var reader: Thread?
    private let done = DispatchSemaphore(value: 0)
    private let client: LineClient

    init(_ path: String, lines: [String]) throws {
        self.lines = lines
        client = try LineClient(path, timeoutSeconds: 90)
    }

    /// Sends in chunks of `chunk` lines, pausing `pauseMicroseconds` between them.
    func start(chunk: Int = 50, pauseMicroseconds: UInt32 = 2000) {
        let sender = Thread { [self] in
            var i = 0
            while i < lines.count {
                let part = lines[i..<min(lines.count, i + chunk)].map { $0 + "\n" }.joined()
                if (try? client.send(part)) == nil { break }
                i += chunk
                usleep(pauseMicroseconds)
            }
            client.shutdownWrite()
        }
        let reader = Thread { [self] in
            while let line = try? client.line() {
                lock.lock()
                replies.append(line)
                lock.unlock()
            }
            done.signal()
        }
        sender.start()
        reader.start()
    }

    var answered: [String] { lock.lock(); defer { lock.unlock() }; return replies }
    var okCount: Int { answered.prefix { $0 == "OK" || $0.hasPrefix("REJECTED") }.count }

    /// Waits (bounded) until the daemon closed the stream.
    func finish(seconds: Int = 120) throws {
        if done.wait(timeout: .now() + .seconds(seconds)) == .timedOut {
            throw Replicated.Failure("the reply stream did not end within \(seconds) s (\(answered.count) replies)")
        }
    }
}
