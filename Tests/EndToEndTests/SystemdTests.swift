import Foundation
import Glibc
import Testing

/// paymentsd as systemd runs it (issue 5, SPEC §5 "Running it"), without a running systemd:
/// socket activation through `systemd-socket-activate`, `sd_notify` to a datagram socket the
/// test binds, journald prefixes on standard error, and the unit files through
/// `systemd-analyze verify`. Serialized: each test runs a real daemon on a 2-core machine.
@Suite(.serialized) struct SystemdTests {
    /// Unix and TCP sockets opened by `systemd-socket-activate` are served as the line protocol,
    /// the one named `http` as HTTP; the Unix socket file is systemd's and stays after exit.
    @Test func socketActivationServesUnixAndTCPAndNamedHTTP() throws {
        let scratch = try SystemdScratch()
        let listeners = try SystemdListeners(in: scratch)
        let daemon = try systemdActivate(
            listeners, dataDirectory: scratch.file("data"), environment: [:], stderrPath: scratch.file("err"))
        let unixReplies = try SystemdClient(unixPath: listeners.unixPath).exchange("PING\ndeposit,1,1,1.5\nGET 1\n")
        #expect(unixReplies == "PONG\nOK\n1,1.5000,0.0000,1.5000,false\n")
        let tcpReplies = try SystemdClient(port: listeners.tcpPort).exchange("PING\ndeposit,1,2,2.25\nGET 1\n")
        #expect(tcpReplies == "PONG\nOK\n1,3.7500,0.0000,3.7500,false\n")
        let http = try SystemdClient(port: listeners.httpPort)
            .exchange("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        #expect(http.hasPrefix("HTTP/1.1 "), "the socket named http must be served as HTTP, got: \(http.prefix(80))")
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit() == 0, "stderr: \(daemon.stderr)")
        let log = daemon.stderr
        #expect(log.contains("passed by systemd as line"))
        #expect(log.contains("passed by systemd as http"))
        #expect(FileManager.default.fileExists(atPath: listeners.unixPath), "the daemon removed a socket file systemd owns")
        #expect(!FileManager.default.fileExists(atPath: scratch.file("paymentsd.sock")))
    }

    /// Listener flags are ignored, with a warning, when systemd passes sockets.
    @Test func passedSocketsWinOverListenerFlags() throws {
        let scratch = try SystemdScratch()
        let listeners = try SystemdListeners(in: scratch)
        let ownPath = scratch.file("own.sock")
        let daemon = try systemdActivate(
            listeners, dataDirectory: scratch.file("data"), environment: [:],
            daemonArguments: ["--unix", ownPath], stderrPath: scratch.file("err"))
        #expect(try SystemdClient(unixPath: listeners.unixPath).exchange("PING\n") == "PONG\n")
        #expect(!FileManager.default.fileExists(atPath: ownPath))
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit() == 0)
        #expect(daemon.stderr.contains("ignoring --unix/--tcp/--http"))
    }

    /// READY=1 comes once, after recovery of a non-empty journal: its STATUS= already counts the
    /// recovered accounts, `STATUS=recovering` came before it, and a GET sent right after READY
    /// on a connection opened before it shows the recovered state.
    @Test func readyOnlyAfterRecoveryOfANonEmptyJournal() throws {
        let scratch = try SystemdScratch()
        let data = scratch.file("data")
        let clients = 5, perClient = 20
        try systemdPrepareJournal(scratch, data: data, clients: clients, perClient: perClient)

        let notify = try SystemdNotifySocket(scratch.file("notify"))
        defer { notify.stop() }
        let listeners = try SystemdListeners(in: scratch)
        let daemon = try systemdActivate(
            listeners, dataDirectory: data, environment: ["NOTIFY_SOCKET": notify.name], stderrPath: scratch.file("err"))
        let early = try SystemdClient(unixPath: listeners.unixPath)  // starts the daemon
        #expect(notify.wait(for: "READY=1"), "no READY=1; stderr: \(daemon.stderr)")
        var replies = early.exchange((1...clients).map { "GET \($0)\n" }.joined())
        let expected = (1...clients).map { c in
            let total = SystemdTests.amount(cents: perClient * c * 100 + perClient * 25)
            return "\(c),\(total),0.0000,\(total),false\n"
        }.joined()
        #expect(replies == expected)

        let messages = notify.received
        let readyIndex = messages.firstIndex { SystemdNotifySocket.assignments($0).contains("READY=1") }
        let recoveringIndex = messages.firstIndex { $0.contains("STATUS=recovering") }
        #expect(recoveringIndex != nil && readyIndex != nil && recoveringIndex! < readyIndex!, "\(messages)")
        if let readyIndex {
            #expect(messages[readyIndex].contains("STATUS=serving: \(clients) accounts"), "\(messages[readyIndex])")
        }
        #expect(messages.filter { SystemdNotifySocket.assignments($0).contains("READY=1") }.count == 1)
        replies = try SystemdClient(port: listeners.tcpPort).exchange("GET 1\n")
        #expect(replies.hasPrefix("1,"))
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit() == 0)
    }

    /// With WATCHDOG_USEC=200 ms the loop pings WATCHDOG=1 (every 100 ms); after SIGTERM comes
    /// STOPPING=1 with a stopping status, and the daemon exits 0.
    @Test func watchdogPingsAndStoppingAfterSIGTERM() throws {
        let scratch = try SystemdScratch()
        let notify = try SystemdNotifySocket(scratch.file("notify"))
        defer { notify.stop() }
        let listeners = try SystemdListeners(in: scratch)
        let daemon = try systemdActivate(
            listeners, dataDirectory: scratch.file("data"),
            environment: ["NOTIFY_SOCKET": notify.name, "WATCHDOG_USEC": "200000"], stderrPath: scratch.file("err"))
        #expect(try SystemdClient(unixPath: listeners.unixPath).exchange("PING\n") == "PONG\n")
        let pings = { (messages: [String]) in
            messages.filter { SystemdNotifySocket.assignments($0).contains("WATCHDOG=1") }.count
        }
        #expect(notify.wait(seconds: 10) { pings($0) >= 3 }, "watchdog pings: \(notify.received)")
        #expect(!notify.received.contains { $0.contains("STOPPING=1") })
        daemon.signal(SIGTERM)
        #expect(notify.wait(for: "STOPPING=1"), "no STOPPING=1: \(notify.received)")
        #expect(daemon.waitForExit() == 0)
        let stopping = notify.received.first { SystemdNotifySocket.assignments($0).contains("STOPPING=1") } ?? ""
        #expect(stopping.contains("STATUS=stopping"))
    }

    /// WATCHDOG_PID naming another process: the pings are not ours to send.
    @Test func watchdogForAnotherPIDIsNotPinged() throws {
        let scratch = try SystemdScratch()
        let notify = try SystemdNotifySocket(scratch.file("notify"))
        defer { notify.stop() }
        let listeners = try SystemdListeners(in: scratch)
        let daemon = try systemdActivate(
            listeners, dataDirectory: scratch.file("data"),
            environment: ["NOTIFY_SOCKET": notify.name, "WATCHDOG_USEC": "100000", "WATCHDOG_PID": "1"],
            stderrPath: scratch.file("err"))
        #expect(try SystemdClient(unixPath: listeners.unixPath).exchange("PING\n") == "PONG\n")
        #expect(notify.wait(for: "READY=1"))
        Thread.sleep(forTimeInterval: 0.6)  // 12 intervals of 50 ms
        #expect(!notify.received.contains { $0.contains("WATCHDOG=1") }, "\(notify.received)")
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit() == 0)
    }

    /// `NOTIFY_SOCKET=@name` is an abstract socket address. Without `--data-dir` the data goes
    /// to `$STATE_DIRECTORY`, as systemd's `StateDirectory=` sets it.
    @Test func abstractNotifySocketAndStateDirectory() throws {
        let scratch = try SystemdScratch()
        let notify = try SystemdNotifySocket("@paymentsd-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { notify.stop() }
        let listeners = try SystemdListeners(in: scratch)
        let state = scratch.file("state")
        #expect(mkdir(state, 0o700) == 0)
        let daemon = try systemdActivate(
            listeners, dataDirectory: nil, environment: ["NOTIFY_SOCKET": notify.name, "STATE_DIRECTORY": state],
            stderrPath: scratch.file("err"))
        #expect(try SystemdClient(port: listeners.tcpPort).exchange("PING\ndeposit,3,1,2\n") == "PONG\nOK\n")
        #expect(notify.wait(for: "READY=1"), "stderr: \(daemon.stderr)")
        daemon.signal(SIGTERM)
        #expect(notify.wait(for: "STOPPING=1"))
        #expect(daemon.waitForExit() == 0)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: state)) ?? []
        #expect(!files.isEmpty, "nothing written to $STATE_DIRECTORY; stderr: \(daemon.stderr)")
        #expect(daemon.stderr.contains("data directory \(state)"))
    }

    /// With JOURNAL_STREAM set every line the daemon writes to stderr starts with `<N>`
    /// (warnings `<4>`, info `<6>`); `--log-level warning` drops the info lines.
    @Test func journalPrefixesOnEveryStderrLine() throws {
        for level in ["info", "warning"] {
            let scratch = try SystemdScratch()
            let listeners = try SystemdListeners(in: scratch)
            let daemon = try systemdActivate(
                listeners, dataDirectory: scratch.file("data"), environment: ["JOURNAL_STREAM": "8:123456"],
                daemonArguments: ["--tcp", "127.0.0.1:1", "--log-level", level], stderrPath: scratch.file("err"))
            #expect(try SystemdClient(unixPath: listeners.unixPath).exchange("PING\ndeposit,1,1,1\n") == "PONG\nOK\n")
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit() == 0)
            let lines = SystemdTests.daemonLines(daemon.stderr)
            #expect(!lines.isEmpty)
            for line in lines {
                #expect(line.range(of: #"^<[0-7]>\S"#, options: .regularExpression) != nil, "unprefixed: \(line)")
            }
            #expect(lines.contains { $0.hasPrefix("<4>ignoring") })
            #expect(lines.contains { $0.hasPrefix("<6>") } == (level == "info"), "\(lines)")
        }
    }

    /// A usage error comes before the logger exists: under journald it is prefixed too.
    @Test func usageErrorUnderJournaldIsPrefixed() throws {
        let scratch = try SystemdScratch()
        let daemon = try SystemdProcess(
            executable: systemdDaemonBinary.path, arguments: ["--no-such-flag"],
            extraEnvironment: ["JOURNAL_STREAM": "8:123456"], stderrPath: scratch.file("err"))
        #expect(daemon.waitForExit() == 2)
        let lines = daemon.stderr.split(separator: "\n")
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { $0.hasPrefix("<3>") }, "\(lines)")
    }

    /// Without JOURNAL_STREAM the lines carry a UTC timestamp and the level in words.
    @Test func plainTimestampedLinesWithoutJournalStream() throws {
        let scratch = try SystemdScratch()
        let listeners = try SystemdListeners(in: scratch)
        let daemon = try systemdActivate(
            listeners, dataDirectory: scratch.file("data"), environment: [:], stderrPath: scratch.file("err"))
        #expect(try SystemdClient(unixPath: listeners.unixPath).exchange("PING\n") == "PONG\n")
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit() == 0)
        let lines = SystemdTests.daemonLines(daemon.stderr)
        #expect(!lines.isEmpty)
        for line in lines {
            let pattern = #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (error|warning|info|debug) "#
            #expect(line.range(of: pattern, options: .regularExpression) != nil, "\(line)")
        }
    }

    /// The three units pass `systemd-analyze verify` without a warning. ExecStart= must be an
    /// executable: the installed /usr/local/bin/paymentsd (as .ci/run installs it), else a copy
    /// of the units pointing at the binary this test run built.
    @Test(.enabled(if: systemdFindTool("systemd-analyze") != nil, "systemd-analyze is not installed (Debian package systemd; .ci/run installs it)"))
    func unitsPassSystemdAnalyzeVerify() throws {
        let names = ["paymentsd.service", "paymentsd.socket", "paymentsd-http.socket"]
        let scratch = try SystemdScratch()
        var directory = systemdUnitsDirectory.path
        if access("/usr/local/bin/paymentsd", X_OK) != 0 {
            directory = scratch.path
            for name in names {
                let text = try String(contentsOf: systemdUnitsDirectory.appendingPathComponent(name), encoding: .utf8)
                let adjusted = text.replacingOccurrences(of: "/usr/local/bin/paymentsd", with: systemdDaemonBinary.path)
                try adjusted.write(toFile: scratch.file(name), atomically: true, encoding: .utf8)
            }
        }
        let verify = try SystemdProcess(
            executable: systemdFindTool("systemd-analyze")!, arguments: ["verify"] + names.map { "\(directory)/\($0)" },
            stderrPath: scratch.file("verify.err"))
        let status = verify.waitForExit(seconds: 30)
        #expect(status == 0, "\(verify.stderr)")
        let complaints = verify.stderr.split(separator: "\n").filter { $0.contains("paymentsd") }
        #expect(complaints.isEmpty, "\(complaints.joined(separator: "\n"))")

        let service = try String(contentsOf: systemdUnitsDirectory.appendingPathComponent("paymentsd.service"), encoding: .utf8)
        for setting in ["Type=notify", "WatchdogSec=", "StateDirectory=paymentsd",
                        "ProtectSystem=strict", "NoNewPrivileges=yes", "SystemCallFilter=@system-service",
                        "LimitNOFILE=4096", "Restart=on-failure", "ExecStart=/usr/local/bin/paymentsd\n"] {
            #expect(service.contains(setting), "paymentsd.service lacks \(setting)")
        }
        let http = try String(contentsOf: systemdUnitsDirectory.appendingPathComponent("paymentsd-http.socket"), encoding: .utf8)
        #expect(http.contains("FileDescriptorName=http") && http.contains("Service=paymentsd.service"))
    }

    // MARK: - Helpers

    /// The daemon's own stderr lines: without the ones systemd-socket-activate writes to the
    /// same file before it execs the daemon.
    static func daemonLines(_ stderr: String) -> [String] {
        let activator = ["Listening on ", "Communication attempt on fd ", "Execing "]
        return stderr.split(separator: "\n").map(String.init).filter { line in
            !activator.contains { line.hasPrefix($0) }
        }
    }

    /// `cents` hundredths as the daemon prints amounts (4 decimals).
    static func amount(cents: Int) -> String {
        "\(cents / 100).\(String(format: "%02d", cents % 100))00"
    }
}

/// Runs paymentsd once on its own (no systemd), sends `clients × perClient` deposits (client c
/// gets `perClient` deposits of c.25), waits for every OK and a SYNC, then SIGKILLs it: the next
/// start has a non-empty journal and no snapshot of it to recover from.
func systemdPrepareJournal(_ scratch: SystemdScratch, data: String, clients: Int, perClient: Int) throws {
    let socketPath = scratch.file("prep.sock")
    let daemon = try SystemdProcess(
        executable: systemdDaemonBinary.path, arguments: ["--data-dir", data, "--unix", socketPath],
        stderrPath: scratch.file("prep.err"))
    var lines = ""
    var tx = 1
    for _ in 0..<perClient {
        for c in 1...clients {
            lines += "deposit,\(c),\(tx),\(c).25\n"
            tx += 1
        }
    }
    let replies = try SystemdClient(unixPath: socketPath).exchange(lines + "SYNC\n")
    daemon.signal(SIGKILL)
    _ = daemon.waitForExit()
    let expected = String(repeating: "OK\n", count: clients * perClient + 1)
    guard replies == expected else { throw SystemdTestFailure("preparing the journal: \(replies.prefix(200)) \(daemon.stderr)") }
}
