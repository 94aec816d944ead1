import Foundation
import Glibc
import PaymentsPlatform
import Testing

/// `paymentsctl` with several addresses (SPEC §8): writes go to the daemon whose `STATS` says
/// `role=leader` (a daemon without a `role` is not replicated and leads), queries to the first
/// that accepts a connection, and a failure names every address. A replicated daemon is not
/// built yet, so the standby is a fake that answers like one, next to a real `paymentsd`.
extension DaemonEndToEnd {
    @Suite struct PaymentsctlFailoverTests {
        static let transactions = "deposit,1,1,10\ndeposit,2,2,5.5\nwithdrawal,1,3,2.5\n"

        /// A real daemon, a fake standby on a Unix socket and one on TCP, a socket file nobody
        /// listens on, a path with no socket and a closed TCP port.
        struct Cluster {
            let scratch = DaemonScratch()
            let daemon: DaemonProcess
            let standby: FailoverFakeDaemon
            let tcpStandby: FailoverFakeDaemon
            let refusedPath: String
            let missingPath: String
            let closedPort: String
            let input: String

            init() throws {
                daemon = try DaemonProcess(in: scratch)
                standby = try FailoverFakeDaemon(.unix(path: scratch.file("standby.sock")))
                tcpStandby = try FailoverFakeDaemon(try SocketAddress.hostPort("127.0.0.1:0"))
                refusedPath = scratch.file("stale.sock")
                try Socket.listen(on: .unix(path: refusedPath)).close()
                missingPath = scratch.file("missing.sock")
                let closed = try Socket.listen(on: try SocketAddress.hostPort("127.0.0.1:0"))
                closedPort = "\(try closed.localAddress()!)"
                try closed.close()
                input = scratch.write("in.csv", PaymentsctlFailoverTests.transactions)
            }

            var real: String { daemon.socketPath }
            var realTCP: String { "127.0.0.1:\(daemon.tcpPort)" }

            func ctl(_ arguments: [String], socket: String? = nil) throws -> DaemonRun {
                try FailoverRun.paymentsctl(arguments, socketEnvironment: socket, in: scratch)
            }

            /// The three transactions applied once: what `GET` shows on the real daemon.
            func expectApplied() throws {
                let client = try DaemonClient(daemon.unixAddress)
                #expect(try client.ask("GET 1") == "1,7.5000,0.0000,7.5000,false")
                #expect(try client.ask("GET 2") == "2,5.5000,0.0000,5.5000,false")
            }

            func stop() {
                standby.stop()
                tcpStandby.stop()
                #expect(daemon.terminate() == 0)
            }
        }

        /// `send` with a standby first: the standby is only asked `STATS`, the real daemon
        /// (no `role`) takes the lines; the same over TCP and with dead addresses in front.
        @Test func sendGoesPastAStandbyToTheLeader() throws {
            let c = try Cluster()
            let send = try c.ctl(["--unix", c.standby.path, "--unix", c.real, "send", c.input])
            #expect(send.status == 0, "\(send.stderr)")
            #expect(send.stdout == "applied 3, rejected 0, malformed 0\n")
            #expect(send.stderr.isEmpty, "\(send.stderr)")
            #expect(c.standby.lines == ["STATS"])
            try c.expectApplied()

            // Mixed and repeated, in the order given: dead, TCP standby, Unix standby, leader over TCP.
            let again = try c.ctl([
                "--unix", c.missingPath, "--tcp", c.tcpStandby.path, "--unix", c.standby.path, "--tcp", c.realTCP,
                "send", "--verbose", c.input,
            ])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.hasSuffix("applied 0, rejected 3, malformed 0\n"), "\(again.stdout)")
            #expect(c.tcpStandby.lines == ["STATS"])
            #expect(c.standby.lines == ["STATS", "STATS"])
            try c.expectApplied()
            c.stop()
        }

        /// `sync` is a write: past the standby to the leader; with the leader first the standby
        /// is never asked; with the standby alone there is no probe and its `ERR` is the error.
        @Test func syncGoesToTheLeader() throws {
            let c = try Cluster()
            let sync = try c.ctl(["--unix", c.standby.path, "--unix", c.real, "sync"])
            #expect(sync.status == 0 && sync.stdout == "OK\n", "\(sync.stdout)\(sync.stderr)")
            #expect(c.standby.lines == ["STATS"])
            let leaderFirst = try c.ctl(["--unix", c.real, "--tcp", c.tcpStandby.path, "sync"])
            #expect(leaderFirst.status == 0 && leaderFirst.stdout == "OK\n", "\(leaderFirst.stderr)")
            #expect(c.tcpStandby.lines.isEmpty)
            let alone = try c.ctl(["--tcp", c.tcpStandby.path, "sync"])
            #expect(alone.status == 1 && alone.stdout.isEmpty, "\(alone.stdout)")
            #expect(alone.stderr == "paymentsctl: SYNC: standby: leader is n1\n")
            #expect(c.tcpStandby.lines == ["SYNC"])
            c.stop()
        }

        /// A standby given alone gets the lines (one address: no probe) and answers every one
        /// `ERR standby`: that is not a success, and not "malformed" either.
        @Test func sendToAStandbyAloneIsNotASuccess() throws {
            let c = try Cluster()
            let send = try c.ctl(["--unix", c.standby.path, "send", c.input])
            #expect(send.status == 3, "\(send.stdout)\(send.stderr)")
            #expect(send.stdout == "applied 0, rejected 0, malformed 0, not taken 3\n")
            #expect(send.stderr.split(separator: "\n").count == 1, "\(send.stderr)")
            #expect(send.stderr.contains("standby: leader is n1") && send.stderr.contains("3 line(s)"), "\(send.stderr)")
            #expect(c.standby.lines == PaymentsctlFailoverTests.transactions.split(separator: "\n").map(String.init))
            c.stop()
        }

        /// Queries go to the first address that accepts a connection, without a probe: dead
        /// ones are skipped, a standby in front answers itself.
        @Test func queriesGoToTheFirstThatAnswers() throws {
            let c = try Cluster()
            #expect(try c.ctl(["--unix", c.real, "send", c.input]).status == 0)
            let get = try c.ctl(["--unix", c.missingPath, "--tcp", c.closedPort, "--unix", c.refusedPath, "--tcp", c.realTCP, "get", "1"])
            #expect(get.status == 0, "\(get.stderr)")
            #expect(get.stdout == "1,7.5000,0.0000,7.5000,false\n")
            #expect(get.stderr.isEmpty, "\(get.stderr)")
            let dump = try c.ctl(["--tcp", c.closedPort, "--unix", c.real, "dump"])
            #expect(dump.status == 0 && dump.stdout.split(separator: "\n").count == 3, "\(dump.stdout)\(dump.stderr)")
            let ping = try c.ctl(["--unix", c.missingPath, "--unix", c.standby.path, "--unix", c.real, "ping"])
            #expect(ping.status == 0 && ping.stdout == "PONG\n", "\(ping.stderr)")
            #expect(c.standby.lines == ["PING"])
            c.stop()
        }

        /// No address answers: every command fails with one line naming each address and why;
        /// no leader among live daemons (standbys, a server that is not paymentsd) likewise.
        @Test func noDaemonOrNoLeaderNamesEveryAddress() throws {
            let c = try Cluster()
            let dead = ["--unix", c.missingPath, "--tcp", c.closedPort, "--unix", c.refusedPath]
            for command in [["send", c.input], ["sync"], ["get", "1"], ["dump"], ["ping"]] {
                let r = try c.ctl(dead + command)
                #expect(r.status == 1 && r.stdout.isEmpty, "\(command): \(r.stdout)")
                #expect(r.stderr.split(separator: "\n").count == 1, "\(command): \(r.stderr)")
                for address in [c.missingPath, c.closedPort, c.refusedPath] {
                    #expect(r.stderr.contains("\(address): "), "\(command) does not name \(address): \(r.stderr)")
                }
                #expect(r.stderr.contains("refused") && r.stderr.contains("no such socket"), "\(command): \(r.stderr)")
            }
            let stranger = try FailoverFakeDaemon(.unix(path: c.scratch.file("http.sock")), answer: .notPaymentsd)
            defer { stranger.stop() }
            let noLeader = try c.ctl(["--unix", c.standby.path, "--unix", stranger.path, "--tcp", c.closedPort, "send", c.input])
            #expect(noLeader.status == 1 && noLeader.stdout.isEmpty, "\(noLeader.stdout)")
            #expect(noLeader.stderr == """
                paymentsctl: no leader among \(c.standby.path), \(stranger.path), \(c.closedPort) \
                (\(c.standby.path): role=standby leader=n1; \(stranger.path): unexpected reply to STATS: \
                "HTTP/1.1 400 Bad Request"; \(c.closedPort): no daemon is listening (connection refused))

                """)
            #expect(c.standby.lines == ["STATS"] && stranger.lines == ["STATS"])
            #expect(try DaemonClient(c.daemon.unixAddress).ask("GET 1") == "ERR unknown client")
            c.stop()
        }

        /// `$PAYMENTSD_SOCKET` as a comma-separated list, entries as today (path, HOST:PORT)
        /// or marked `tcp:`/`unix:`, blanks and empty entries ignored; the flags win over it.
        @Test func commaSeparatedSocketEnvironment() throws {
            let c = try Cluster()
            let list = "\(c.missingPath), tcp:\(c.tcpStandby.path),,\(c.standby.path) ,\(c.realTCP)"
            let send = try c.ctl(["send", c.input], socket: list)
            #expect(send.status == 0 && send.stdout == "applied 3, rejected 0, malformed 0\n", "\(send.stdout)\(send.stderr)")
            #expect(c.tcpStandby.lines == ["STATS"] && c.standby.lines == ["STATS"])
            try c.expectApplied()
            let get = try c.ctl(["get", "2"], socket: "tcp:\(c.closedPort),\(c.missingPath),unix:\(c.real)")
            #expect(get.status == 0 && get.stdout == "2,5.5000,0.0000,5.5000,false\n", "\(get.stderr)")
            let none = try c.ctl(["ping"], socket: "\(c.missingPath),\(c.closedPort)")
            #expect(none.status == 1 && none.stderr.contains(c.missingPath) && none.stderr.contains(c.closedPort), "\(none.stderr)")
            let flagsWin = try c.ctl(["--unix", c.real, "ping"], socket: c.missingPath)
            #expect(flagsWin.status == 0 && flagsWin.stdout == "PONG\n", "\(flagsWin.stderr)")
            let bad = try c.ctl(["ping"], socket: "\(c.real),tcp:nowhere")
            #expect(bad.status == 2 && bad.stderr.hasPrefix("paymentsctl: PAYMENTSD_SOCKET: "), "\(bad.stderr)")
            c.stop()
        }

        /// A daemon that accepts but never answers `STATS` (stopped, hung) is passed over once
        /// the probe's time is up, not waited on forever.
        @Test func aSilentDaemonIsPassedOver() throws {
            let c = try Cluster()
            let silent = try FailoverFakeDaemon(.unix(path: c.scratch.file("silent.sock")), answer: .nothing)
            defer { silent.stop() }
            let started = Date()
            let send = try c.ctl(["--unix", silent.path, "--unix", c.real, "send", c.input])
            let seconds = Date().timeIntervalSince(started)
            #expect(send.status == 0 && send.stdout == "applied 3, rejected 0, malformed 0\n", "\(send.stdout)\(send.stderr)")
            #expect(silent.lines == ["STATS"])
            #expect(seconds >= 4.5 && seconds < 20, "took \(seconds) s")
            try c.expectApplied()
            let alone = try c.ctl(["--unix", silent.path, "--unix", c.standby.path, "sync"])
            #expect(alone.stderr.contains("\(silent.path): no answer to STATS within 5 s"), "\(alone.stderr)")
            #expect(alone.status == 1)
            c.stop()
        }
    }
}

/// Runs `paymentsctl` with a time limit: a child still running after it is killed and the
/// test fails, so a hang in the routing cannot hang the suite.
enum FailoverRun {
    static let timeoutSeconds = 30.0

    static func paymentsctl(_ arguments: [String], socketEnvironment: String?, in scratch: DaemonScratch) throws -> DaemonRun {
        var environment = ProcessInfo.processInfo.environment
        environment["PAYMENTSD_SOCKET"] = socketEnvironment
        return try DaemonRun.run(
            DaemonBinaries.paymentsctl, arguments, environment: environment, timeoutSeconds: timeoutSeconds, in: scratch)
    }
}

/// A stand-in for a daemon on one thread: answers like a replicated standby (or like another
/// server, or not at all) and records every request line it got. Every wait is a poll of at
/// most `pollMilliseconds`; the thread ends on `stop()` or after `lifetimeSeconds` at the latest.
final class FailoverFakeDaemon: @unchecked Sendable {
    enum Answer: Sendable {
        /// `STATS` with `role=standby leader=n1`; `PING` `PONG`; everything else `ERR standby: leader is n1`.
        case standby
        /// An HTTP server's error line to every request.
        case notPaymentsd
        /// Reads and records, never answers.
        case nothing
        /// `OK` to the first `count` request lines, nothing to the rest; closes once the client
        /// has sent everything (its half-close), like a daemon that dies between reading a batch
        /// and answering it.
        case okToFirst(Int)
    }

    static let pollMilliseconds: Int32 = 20
    static let lifetimeSeconds = 120.0
    static let stopTimeoutSeconds = 10.0

    let address: SocketAddress
    private let listener: FileDescriptor
    private let answer: Answer
    private let lock = NSLock()
    private var received: [String] = []
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)
    private var stopped = false

    init(_ address: SocketAddress, answer: Answer = .standby) throws {
        listener = try Socket.listen(on: address)
        self.address = try listener.localAddress() ?? address
        self.answer = answer
        let thread = Thread { [self] in
            serve()
            finished.signal()
        }
        thread.start()
    }

    deinit { stop() }

    /// The address as `paymentsctl` takes it: a path for `--unix`, `HOST:PORT` for `--tcp`.
    var path: String { address.description }

    /// Every request line received so far, in order.
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return received }

    func stop() {
        guard !stopped else { return }
        stopped = true
        lock.lock(); stopping = true; lock.unlock()
        #expect(finished.wait(timeout: .now() + Self.stopTimeoutSeconds) == .success, "the fake daemon did not stop")
        try? listener.close()
    }

    private var shouldStop: Bool { lock.lock(); defer { lock.unlock() }; return stopping }

    private func serve() {
        var connections: [(fd: FileDescriptor, pending: [UInt8])] = []
        let end = Date().addingTimeInterval(Self.lifetimeSeconds)
        while !shouldStop && Date() < end {
            var entries = [PollEntry(listener, read: true, write: false)]
            entries += connections.map { PollEntry($0.fd, read: true, write: false) }
            guard (try? Poll.wait(&entries, timeoutMilliseconds: Self.pollMilliseconds)) != nil else { break }
            var open: [(fd: FileDescriptor, pending: [UInt8])] = []
            for (i, var connection) in connections.enumerated() {
                let entry = entries[i + 1]
                if (entry.isReadable || entry.isBroken) && !serve(&connection) {
                    try? connection.fd.close()
                } else {
                    open.append(connection)
                }
            }
            connections = open
            if entries[0].isReadable, let fd = try? listener.accept() { connections.append((fd, [])) }
        }
        for connection in connections { try? connection.fd.close() }
    }

    /// Reads what is there and answers each whole line; false when the peer is done.
    private func serve(_ connection: inout (fd: FileDescriptor, pending: [UInt8])) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let fd = connection.fd
        let count = chunk.withUnsafeMutableBytes { raw in (try? fd.read(into: raw)) ?? 0 }
        guard count > 0 else { return false }
        connection.pending += chunk[..<count]
        while let newline = connection.pending.firstIndex(of: 0x0A) {
            let line = String(decoding: connection.pending[..<newline], as: UTF8.self)
                .trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
            connection.pending.removeFirst(newline + 1)
            let header = line.lowercased().filter { $0 != " " && $0 != "\t" } == "type,client,tx,amount"
            if line.trimmingCharacters(in: .whitespaces).isEmpty || header { continue }
            lock.lock(); received.append(line); let index = received.count; lock.unlock()
            if let reply = reply(to: line, index: index) { Self.send(reply + "\n", on: fd) }
        }
        return true
    }

    /// The answer to the `index`th line received (from 1).
    private func reply(to line: String, index: Int) -> String? {
        switch answer {
        case .nothing: return nil
        case .okToFirst(let count): return index <= count ? "OK" : nil
        case .notPaymentsd: return "HTTP/1.1 400 Bad Request"
        case .standby:
            switch line.uppercased() {
            case "STATS":
                return "applied=0 rejected=0 malformed=0 clients=0 connections=1 journal_bytes=0 uptime_s=1 "
                    + "role=standby epoch=3 lsn=0 leader=n1"
            case "PING": return "PONG"
            default: return "ERR standby: leader is n1"
            }
        }
    }

    /// Replies are a few bytes on a socket nobody else writes to: a bounded retry is enough.
    private static func send(_ text: String, on fd: FileDescriptor) {
        let bytes = Array(text.utf8)
        var done = 0, attempts = 0
        while done < bytes.count && attempts < 1_000 {
            attempts += 1
            let n = bytes.withUnsafeBytes { raw in try? fd.sendOnce(UnsafeRawBufferPointer(rebasing: raw[done...])) }
            if let n { done += n } else { usleep(1_000) }
        }
    }
}
