import Foundation
import PaymentsTestSupport
import Glibc
import PaymentsPlatform
import Testing

/// The line protocol of SPEC §5 against the real daemon, over both socket kinds.
extension DaemonEndToEnd {
    @Suite struct ProtocolTests {
        /// One request, one expected reply (or reply block), worked out by hand from §2 and §5.
        enum Expect {
            case line(String)
            case block([String])
            /// An `ERR` reply whose text is for people.
            case error
        }

        static let script: [(String, Expect)] = [
            ("PING", .line("PONG")),
            ("ping", .line("PONG")),
            ("deposit,1,1,1.5", .line("OK")),
            ("withdrawal, 1, 2, 0.25", .line("OK")),
            (#"{"type":"deposit","client":2,"tx":3,"amount":"10"}"#, .line("OK")),
            (#"{"tx":4,"amount":2.5,"client":2,"type":"deposit","note":"x"}"#, .line("OK")),
            ("dispute,2,3,", .line("OK")),
            ("withdrawal,1,5,100", .line("REJECTED insufficient funds")),
            ("deposit,1,1,3", .line("REJECTED duplicate")),
            ("dispute,1,3", .line("REJECTED client mismatch")),
            ("dispute,2,99", .line("REJECTED unknown tx")),
            ("dispute,1,2", .line("REJECTED not a deposit")),
            ("dispute,2,3", .line("REJECTED already disputed")),
            ("resolve,2,4", .line("REJECTED not disputed")),
            ("deposit,1,6,-1", .error),
            ("deposit,1,6,1.23456", .error),
            ("deposit,1,6,0", .error),
            ("GET 1", .line("1,1.2500,0.0000,1.2500,false")),
            ("GET 2 JSON", .line(#"{"client":2,"available":"2.5000","held":"10.0000","total":"12.5000","locked":false}"#)),
            ("get 2 json", .line(#"{"client":2,"available":"2.5000","held":"10.0000","total":"12.5000","locked":false}"#)),
            ("GET 3", .line("ERR unknown client")),
            ("GET 3 JSON", .line("ERR unknown client")),
            ("TX 3", .line("deposit,2,3,10.0000,disputed")),
            ("TX 2", .line("withdrawal,1,2,0.2500,ok")),
            ("tx 5", .line("withdrawal,1,5,100.0000,rejected")),
            ("TX 99", .line("ERR unknown tx")),
            ("HISTORY 1", .block([
                "deposit,1,1,1.5000,ok", "withdrawal,1,2,0.2500,ok", "withdrawal,1,5,100.0000,rejected: insufficient funds",
                "deposit,1,1,3.0000,rejected: duplicate", "dispute,1,3,0.0000,rejected: client mismatch",
                "dispute,1,2,0.0000,rejected: not a deposit",
            ])),
            ("HISTORY 2", .block([
                "deposit,2,3,10.0000,ok", "deposit,2,4,2.5000,ok", "dispute,2,3,10.0000,ok",
                "dispute,2,99,0.0000,rejected: unknown tx", "dispute,2,3,0.0000,rejected: already disputed",
                "resolve,2,4,0.0000,rejected: not disputed",
            ])),
            ("dispute,2,4,0.0", .line("OK")),
            ("resolve,2,4", .line("OK")),
            ("TX 4", .line("deposit,2,4,2.5000,resolved")),
            ("chargeback,2,3,", .line("OK")),
            ("TX 3", .line("deposit,2,3,10.0000,chargedback")),
            ("deposit,2,7,1", .line("REJECTED locked")),
            ("withdrawal,2,8,1", .line("REJECTED locked")),
            ("chargeback,2,3", .line("REJECTED not disputed")),
            ("dispute,2,3", .line("REJECTED charged back")),
            ("GET 2", .line("2,2.5000,0.0000,2.5000,true")),
            ("HISTORY 9", .block([])),
            ("DUMP", .block(["client,available,held,total,locked", "1,1.2500,0.0000,1.2500,false", "2,2.5000,0.0000,2.5000,true"])),
            ("dump json", .block([
                #"{"client":1,"available":"1.2500","held":"0.0000","total":"1.2500","locked":false}"#,
                #"{"client":2,"available":"2.5000","held":"0.0000","total":"2.5000","locked":true}"#,
            ])),
            ("SYNC", .line("OK")),
            ("PING\r", .line("PONG")),
            ("deposit,3,10,1\r", .line("OK")),
            ("GET", .error),
            ("GET 70000", .error),
            ("GET 1 XML", .error),
            ("TX abc", .error),
            ("DUMP XML", .error),
            ("PING now", .error),
            ("hello", .error),
            ("transfer,1,2,3", .error),
            // The edges of the ranges (§1): client 65535, tx 4294967295, the largest amount.
            ("deposit,65535,4294967295,0.0001", .line("OK")),
            ("GET 65535", .line("65535,0.0001,0.0000,0.0001,false")),
            ("TX 4294967295", .line("deposit,65535,4294967295,0.0001,ok")),
            ("deposit,65536,11,1", .error),
            ("deposit,9,12,922337203685477.5807", .line("OK")),
            ("deposit,9,13,0.0001", .line("REJECTED overflow")),
            ("deposit,9,14,922337203685477.5808", .error),
            ("GET 9", .line("9,922337203685477.5807,0.0000,922337203685477.5807,false")),
        ]

        /// Every request of the table, one at a time, with its exact reply.
        @Test(arguments: DaemonTransport.allCases)
        func everyRequest(_ transport: DaemonTransport) throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let client = try DaemonClient(daemon.address(transport))
            for (request, expected) in Self.script {
                switch expected {
                case .line(let reply):
                    #expect(try client.ask(request) == reply, "\(request)")
                case .block(let lines):
                    #expect(try client.askBlock(request) == lines, "\(request)")
                case .error:
                    let reply = try client.ask(request)
                    #expect(reply.hasPrefix("ERR "), "\(request) -> \(reply)")
                }
            }
            // STATS: 11 applied (5 + dispute, resolve, chargeback, deposits 10, 4294967295, 12),
            // 12 rejected, 7 malformed transactions (3 bad amounts, hello, transfer, 2 out of range).
            let stats = daemonStats(try client.ask("STATS"))
            #expect(stats["applied"] == "11", "\(stats)")
            #expect(stats["rejected"] == "12", "\(stats)")
            #expect(stats["malformed"] == "7", "\(stats)")
            #expect(stats["clients"] == "5", "\(stats)")
            #expect(stats["connections"] == "1", "\(stats)")
            #expect(Int(stats["journal_bytes"] ?? "") ?? 0 > 0, "\(stats)")
            #expect(stats["uptime_s"].flatMap { Int($0) } != nil, "\(stats)")
            // HELP names every request.
            let help = try client.askBlock("help")
            for word in ["GET", "DUMP", "TX", "HISTORY", "SYNC", "STATS", "PING", "HELP", "QUIT"] {
                #expect(help.contains { $0.hasPrefix(word + " ") }, "HELP lacks \(word): \(help)")
            }
            // Blank lines and headers get no reply: the next reply is PING's.
            try client.send("\n \t \ntype,client,tx,amount\n Type , Client,TX ,Amount\r\nPING\n")
            #expect(try client.expectLine() == "PONG")
            // QUIT: BYE, the connection closes, and what followed QUIT is neither answered nor done.
            try client.send("deposit,20,20,1\nQUIT\ndeposit,20,21,1\nPING\n")
            #expect(try client.expectLine() == "OK")
            #expect(try client.expectLine() == "BYE")
            #expect(try client.readToEnd() == "")
            #expect(try DaemonClient(daemon.address(transport)).ask("GET 20") == "20,1.0000,0.0000,1.0000,false")
            #expect(daemon.terminate() == 0, "\(daemon.log)")
        }

        /// Thousands of requests in one write: the replies come back complete and in order.
        @Test(arguments: DaemonTransport.allCases)
        func pipelinedRepliesInOrder(_ transport: DaemonTransport) throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let client = try DaemonClient(daemon.address(transport))
            let count = 12_000
            var requests: [String] = [], expected: [String?] = []
            for i in 0..<count {
                let client = i % 97 + 1
                switch i % 6 {
                case 0: requests.append("deposit,\(client),\(i + 1),1.5"); expected.append("OK")
                case 1: requests.append("PING"); expected.append("PONG")
                case 2: requests.append("deposit,\(client),\(i - 1),2"); expected.append("REJECTED duplicate")
                case 3: requests.append("TX \(i - 2)"); expected.append("deposit,\((i - 3) % 97 + 1),\(i - 2),1.5000,ok")
                case 4: requests.append("nonsense \(i)"); expected.append(nil)
                default: requests.append("GET 0"); expected.append("ERR unknown client")
                }
            }
            let payload = Array((requests.joined(separator: "\n") + "\n").utf8)
            let sender = DaemonBackground { try client.send(payload) }
            for (i, want) in expected.enumerated() {
                let got = try client.expectLine()
                if let want {
                    guard got == want else {
                        Issue.record("reply \(i) to \(requests[i]): \(got), expected \(want)")
                        return
                    }
                } else if !got.hasPrefix("ERR ") {
                    Issue.record("reply \(i) to \(requests[i]): \(got), expected an ERR")
                    return
                }
            }
            try sender.wait()
            #expect(try client.askBlock("DUMP") == DaemonReference.dump(of: requests))
        }

        /// A line over 4096 bytes is refused and skipped; the connection goes on. 4096 is fine.
        @Test(arguments: DaemonTransport.allCases)
        func longLines(_ transport: DaemonTransport) throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let client = try DaemonClient(daemon.address(transport))
            #expect(try client.ask("deposit,1,1," + String(repeating: "1", count: 9_988)) == "ERR line too long")
            #expect(try client.ask("PING") == "PONG")
            #expect(try client.ask(String(repeating: " ", count: 4092) + "PING") == "PONG")  // 4096 bytes
            #expect(try client.ask(String(repeating: " ", count: 4093) + "PING") == "ERR line too long")
            // A long line arriving in pieces, then a normal line in the same write as its end.
            for _ in 0..<10 { try client.send(String(repeating: "x", count: 1_000)) }
            try client.send("\ndeposit,1,1,2\n")
            #expect(try client.expectLine() == "ERR line too long")
            #expect(try client.expectLine() == "OK")
            #expect(try client.ask("GET 1") == "1,2.0000,0.0000,2.0000,false")
            // An over-long last line without a newline, then the end of input.
            let last = try DaemonClient(daemon.address(transport))
            try last.send("PING\n" + String(repeating: "y", count: 5_000))
            try last.shutdownWrite()
            #expect(try last.readToEnd() == "PONG\nERR line too long\n")
        }

        /// Binary garbage gets ERR lines; the connection and the daemon go on.
        @Test func binaryGarbage() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let client = try DaemonClient(daemon.unixAddress)
            var rng = DaemonRandom(seed: 0xBAD)
            var garbage = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
            for i in stride(from: 0, to: garbage.count, by: 61) { garbage[i] = 0x0A }  // many lines, some long
            let payload = garbage + Array("\nPING\n".utf8)
            let sender = DaemonBackground { try client.send(payload) }
            var errors = 0
            while true {
                let reply = try client.expectLine()
                if reply == "PONG" { break }
                #expect(reply.hasPrefix("ERR"), "\(reply)")
                errors += 1
            }
            try sender.wait()
            #expect(errors > 1_000)
            #expect(try client.ask("deposit,5,5,5") == "OK")
            #expect(try DaemonClient(daemon.tcpAddress).ask("GET 5") == "5,5.0000,0.0000,5.0000,false")
            #expect(daemon.process.isRunning)
        }

        /// A client that shuts down its sending side still gets every reply, the last line
        /// without a newline included, and then the daemon closes.
        @Test(arguments: DaemonTransport.allCases)
        func halfClose(_ transport: DaemonTransport) throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let short = try DaemonClient(daemon.address(transport))
            try short.send("deposit,1,1,5\nGET 1")
            try short.shutdownWrite()
            #expect(try short.readToEnd() == "OK\n1,5.0000,0.0000,5.0000,false\n")
            // A long stream, then the end of input: all replies arrive before the close.
            let long = try DaemonClient(daemon.address(transport))
            let lines = (0..<20_000).map { "deposit,\($0 % 300 + 2),\($0 + 10),0.0001" }
            let sender = DaemonBackground {
                try long.send(lines.joined(separator: "\n"))  // no final newline either
                try long.shutdownWrite()
            }
            let replies = try long.readToEnd().split(separator: "\n", omittingEmptySubsequences: false)
            try sender.wait()
            #expect(replies.count == 20_001)
            #expect(replies.dropLast().allSatisfy { $0 == "OK" })
            #expect(replies.last == "")
            #expect(try DaemonClient(daemon.unixAddress).askBlock("DUMP") == DaemonReference.dump(of: ["deposit,1,1,5"] + lines))
        }

        /// 200 clients connected at once, half over each socket, each sending its own deposits
        /// concurrently; the totals add up.
        @Test func twoHundredConcurrentClients() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let clients = try (0..<200).map { i in try DaemonClient(i % 2 == 0 ? daemon.unixAddress : daemon.tcpAddress) }
            for c in clients { #expect(try c.ask("PING") == "PONG") }  // every one accepted
            let observer = try DaemonClient(daemon.unixAddress)
            #expect(daemonStats(try observer.ask("STATS"))["connections"] == "201")
            let perClient = 50
            let failures = DaemonFailures()
            let group = DispatchGroup()
            for (i, c) in clients.enumerated() {
                let thread = Thread {
                    defer { group.leave() }
                    do {
                        let id = i + 1
                        let lines = (0..<perClient).map { "deposit,\(id),\(id * 1_000 + $0),\($0 + 1).25" }
                        try c.send(lines.joined(separator: "\n") + "\n")
                        try c.shutdownWrite()
                        let replies = try c.readToEnd()
                        if replies != String(repeating: "OK\n", count: perClient) { failures.add("client \(id): \(replies.prefix(80))") }
                    } catch {
                        failures.add("client \(i + 1): \(error)")
                    }
                }
                thread.stackSize = 1 << 18
                group.enter()
                thread.start()
            }
            #expect(group.wait(timeout: .now() + DaemonBackground.timeoutSeconds) == .success, "clients still running")
            #expect(failures.list.isEmpty, "\(failures.list)")
            // Each client deposited 1.25 + 2.25 + ... + 50.25 = 1275 + 12.5 = 1287.5.
            var expected = ["client,available,held,total,locked"]
            for id in 1...200 { expected.append("\(id),1287.5000,0.0000,1287.5000,false") }
            #expect(try observer.askBlock("DUMP") == expected)
            let stats = daemonStats(try observer.ask("STATS"))
            #expect(stats["applied"] == "\(200 * perClient)")
            #expect(stats["connections"] == "1", "\(stats)")
        }

        /// A client that asks for far more than the pending-reply limit and then reads slowly,
        /// after shutting down its sending side, still gets every reply, whole and in order.
        @Test func slowReaderGetsEverything() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let loader = try DaemonClient(daemon.unixAddress)
            let deposits = (1...5_000).map { "deposit,\($0),\($0),1" }
            try loader.send(deposits.joined(separator: "\n") + "\n")
            for _ in deposits { #expect(try loader.expectLine() == "OK") }
            let dump = try loader.askBlock("DUMP")
            let client = try DaemonClient(daemon.tcpAddress)
            let requests = 200  // ~30 MB of replies against a 1 MiB limit
            try client.send(String(repeating: "DUMP\nPING\n", count: requests))
            try client.shutdownWrite()
            for i in 0..<requests {
                if i % 20 == 0 { usleep(20_000) }  // read slowly
                guard try client.block() == dump, try client.expectLine() == "PONG" else {
                    Issue.record("reply \(i) differs")
                    return
                }
            }
            #expect(try client.readToEnd() == "")
        }

        /// Idle connections cost no CPU: the loop sleeps in epoll with no timeout.
        @Test func idleConnectionsCostNoCPU() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let clients = try (0..<100).map { i in try DaemonClient(i % 2 == 0 ? daemon.unixAddress : daemon.tcpAddress) }
            for c in clients { #expect(try c.ask("PING") == "PONG") }
            func cpuTicks() -> Int {
                guard let stat = try? String(contentsOfFile: "/proc/\(daemon.pid)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { return -1 }
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)  // utime + stime
            }
            let before = cpuTicks()
            usleep(1_000_000)
            let used = cpuTicks() - before
            #expect(used <= 2, "\(used) clock ticks of CPU in one idle second with 100 connections")
        }

        /// One connection over `--max-connections` hears why and is closed; once a connection
        /// closes, a new one is served.
        @Test func connectionLimit() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch, extra: ["--max-connections", "4"])
            // The start-up probe's connection may still count for a moment: wait until it is gone.
            let first = try DaemonClient(daemon.unixAddress)
            for _ in 0..<500 where daemonStats(try first.ask("STATS"))["connections"] != "1" { usleep(10_000) }
            #expect(daemonStats(try first.ask("STATS"))["connections"] == "1")
            let open = try [first] + (1..<4).map { i in try DaemonClient(i % 2 == 0 ? daemon.unixAddress : daemon.tcpAddress) }
            for c in open { #expect(try c.ask("PING") == "PONG") }
            let refused = try DaemonClient(daemon.tcpAddress)
            #expect(try refused.readToEnd() == "ERR too many connections\n")
            #expect(try open[0].ask("QUIT") == "BYE")
            #expect(try open[0].readToEnd() == "")
            // The daemon notices the close on its next loop turn: retry briefly.
            var served = false
            for _ in 0..<200 where !served {
                let c = try DaemonClient(daemon.unixAddress)
                try c.send("PING\n")
                served = try c.line() == "PONG"
                if !served { usleep(10_000) }
            }
            #expect(served)
            for c in open.dropFirst() { #expect(try c.ask("PING") == "PONG") }
        }

        /// The socket file is 0660 and removed on exit; data files are 0600 in a 0700 directory;
        /// a stale socket file left by a crash is replaced.
        @Test func filesAndModes() throws {
            let scratch = DaemonScratch()
            var daemon = try DaemonProcess(in: scratch)
            #expect(try DaemonClient(daemon.unixAddress).ask("deposit,1,1,1") == "OK")
            func mode(_ path: String) throws -> Int {
                (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1) & 0o777
            }
            #expect(try mode(daemon.socketPath) == 0o660)
            #expect(try mode(daemon.dataDirectory) == 0o700)
            daemon.crash()
            #expect(FileManager.default.fileExists(atPath: daemon.socketPath), "SIGKILL leaves the socket file")
            daemon = try DaemonProcess(in: scratch)  // replaces the stale file
            #expect(try DaemonClient(daemon.unixAddress).ask("GET 1") == "1,1.0000,0.0000,1.0000,false")
            #expect(daemon.terminate() == 0)
            #expect(!FileManager.default.fileExists(atPath: daemon.socketPath))
            let files = try FileManager.default.contentsOfDirectory(atPath: daemon.dataDirectory)
            #expect(!files.isEmpty)
            for f in files { #expect(try mode(daemon.dataDirectory + "/" + f) == 0o600, "\(f)") }
        }

        /// A client that sends request after request and never reads its replies: the daemon
        /// stops reading it (backpressure), keeps serving others, and its memory stays bounded.
        @Test func clientThatNeverReads() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let loader = try DaemonClient(daemon.unixAddress)
            let accounts = 20_000
            let deposits = (1...accounts).map { "deposit,\($0),\($0),\($0).5" }
            let sender = DaemonBackground { try loader.send(deposits.joined(separator: "\n") + "\nSYNC\n") }
            for _ in 0...accounts { _ = try loader.expectLine() }
            try sender.wait()
            let dumpBytes = try loader.askBlock("DUMP").reduce(1) { $0 + $1.utf8.count + 1 }

            // The greedy client asks for DUMP after DUMP (each ~0.7 MB of reply for 5 bytes) and
            // never reads, until the daemon has not taken a byte from it for a second.
            let greedy = try Socket.connect(to: daemon.unixAddress, nonBlocking: true)
            defer { try? greedy.close() }
            let request = Array(String(repeating: "DUMP\n", count: 1_000).utf8)
            var sent = 0
            var stalledSince = Date()
            let other = try DaemonClient(daemon.tcpAddress)
            var answeredWhileStalled = 0
            while Date().timeIntervalSince(stalledSince) < 1.0 {
                let n = request.withUnsafeBytes { raw in (try? greedy.sendOnce(raw)) ?? 0 }
                if n > 0 {
                    sent += n
                    stalledSince = Date()
                } else {
                    // Meanwhile another client is served as usual.
                    let id = accounts + 1 + answeredWhileStalled
                    if try other.ask("deposit,\(id),\(id),1") == "OK" { answeredWhileStalled += 1 }
                    usleep(20_000)
                }
            }
            let requestedReplyBytes = (sent / 5) * dumpBytes
            let rss = daemon.residentKiB() ?? Int.max
            #expect(requestedReplyBytes > 1 << 30, "only \(requestedReplyBytes) bytes of replies requested")
            #expect(rss < 200 * 1024, "RSS \(rss) KiB after \(requestedReplyBytes) bytes of replies were requested")
            #expect(answeredWhileStalled >= 3)
            #expect(try other.ask("GET \(accounts + 1)") == "\(accounts + 1),1.0000,0.0000,1.0000,false")
            #expect(try other.ask("PING") == "PONG")
            try? greedy.close()
            #expect(try DaemonClient(daemon.unixAddress).ask("PING") == "PONG")
            #expect(daemon.residentKiB() ?? Int.max < 200 * 1024)
        }
    }
}

/// Runs `body` on its own thread; `wait()` rethrows what it threw, or throws when it is still
/// running after `seconds` (its sockets have time limits of their own, so it ends by itself).
final class DaemonBackground: @unchecked Sendable {
    static let timeoutSeconds = 120.0
    private let done = DispatchSemaphore(value: 0)
    private var error: Error?

    init(_ body: @escaping @Sendable () throws -> Void) {
        let thread = Thread { [self] in
            do { try body() } catch { self.error = error }
            done.signal()
        }
        thread.start()
    }

    func wait(seconds: Double = DaemonBackground.timeoutSeconds) throws {
        guard done.wait(timeout: .now() + seconds) == .success else {
            throw DaemonTestError("background work still running after \(Int(seconds)) s")
        }
        if let error { throw error }
    }
}

/// Failures collected from many threads.
final class DaemonFailures: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    var list: [String] { lock.lock(); defer { lock.unlock() }; return items }
}
