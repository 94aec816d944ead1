import Foundation
import Glibc
import PaymentsPlatform
import Testing

/// `paymentsctl` as operators meet it (issue 13): a reply that is not paymentsd's, a refusal at
/// the connection limit, command words in any case, `send` typed at a terminal, `--version`,
/// the interactive prompt, raw requests, `--json` on `stats` and `history`, `-r`/`-i` and
/// `--latency`. Real daemons, real sockets; the terminal is a pseudo-terminal.
extension DaemonEndToEnd {
    @Suite struct PaymentsctlOperatorTests {
        /// Runs paymentsctl against one daemon's Unix socket.
        static func ctl(_ daemon: DaemonProcess, _ arguments: [String], stdin: String? = nil, in scratch: DaemonScratch) throws -> DaemonRun {
            try OperatorRun.paymentsctl(["--unix", daemon.socketPath] + arguments, stdin: stdin, in: scratch)
        }

        /// Point 1: pointed at the HTTP port by mistake, every command fails with one line
        /// that says so, exit 1, nothing on standard output; `send` applies nothing.
        @Test func theHTTPPortIsNotTakenForPaymentsd() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch, extra: ["--http", "127.0.0.1:0"])
            let port = try #require(OperatorRun.httpPort(in: daemon.log), "no http line in:\n\(daemon.log)")
            let http = ["--tcp", "127.0.0.1:\(port)"]
            let expected = "paymentsctl: not a paymentsd line protocol at 127.0.0.1:\(port) (got \"HTTP/1.1 400 Bad Request\")\n"
            let input = scratch.write("in.csv", "deposit,1,1,10\ndeposit,1,2,5\n")
            let commands: [[String]] = [
                ["ping"], ["get", "1"], ["stats"], ["tx", "1"], ["sync"], ["dump"], ["history", "1"], ["stats", "--json"],
                ["send", input], ["deposit,1,3,1"],
            ]
            for command in commands {
                let r = try OperatorRun.paymentsctl(http + command, in: scratch)
                #expect(r.status == 1 && r.stdout.isEmpty, "\(command): \(r.status) \(r.stdout)")
                #expect(r.stderr == expected, "\(command): \(r.stderr)")
            }
            let piped = try OperatorRun.paymentsctl(http, stdin: "PING\n", in: scratch)
            #expect(piped.status == 1 && piped.stdout.isEmpty && piped.stderr == expected, "\(piped.stdout)\(piped.stderr)")
            #expect(try DaemonClient(daemon.unixAddress).ask("GET 1") == "ERR unknown client")
            #expect(daemon.terminate() == 0)
        }

        /// Point 2: at the connection limit (`--max-connections 2`, two TCP connections held)
        /// the daemon's `ERR too many connections` is reported as a refusal, never as a reply
        /// to a request or a broken pipe; `send` exits 3 and applied nothing.
        @Test func aRefusalAtTheConnectionLimitIsReportedAsSuch() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch, extra: ["--max-connections", "2"])
            let tcp = ["--tcp", "127.0.0.1:\(daemon.tcpPort)"]
            // Two connections the daemon counts (the start's readiness probe may still be open
            // for a moment, so each is retried until admitted).
            var held = [try OperatorRun.admittedClient(daemon.tcpAddress), try OperatorRun.admittedClient(daemon.tcpAddress)]
            let refusal = "paymentsctl: 127.0.0.1:\(daemon.tcpPort) refused the connection: too many connections"
            let input = scratch.write("in.csv", "deposit,1,1,10\ndeposit,1,2,5\n")
            for command in [["ping"], ["get", "1"], ["stats"], ["dump"], ["sync"], ["send", input], ["deposit,1,3,1"]] {
                let r = try OperatorRun.paymentsctl(tcp + command, in: scratch)
                #expect(r.status == (command[0] == "send" ? 3 : 1), "\(command): \(r.status) \(r.stderr)")
                #expect(r.stdout.isEmpty, "\(command): \(r.stdout)")
                #expect(r.stderr.hasPrefix(refusal) && r.stderr.split(separator: "\n").count == 1, "\(command): \(r.stderr)")
            }
            let piped = try OperatorRun.paymentsctl(tcp, stdin: "deposit,1,4,1\n", in: scratch)
            #expect(piped.status == 1 && piped.stderr.hasPrefix(refusal), "\(piped.stdout)\(piped.stderr)")
            held.removeAll()
            #expect(try OperatorRun.admittedClient(daemon.tcpAddress).ask("GET 1") == "ERR unknown client")
            #expect(daemon.terminate() == 0)
        }

        /// Point 6: command words in any case (`PING`, `Get`), `tx -1` a usage error about the
        /// id, `--unix` naming a regular file or a directory "not a socket".
        @Test func commandWordsInAnyCaseAndClearUsageErrors() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            _ = try DaemonClient(daemon.unixAddress).ask("deposit,3,1,2.5")
            #expect(try Self.ctl(daemon, ["PING"], in: scratch).stdout == "PONG\n")
            #expect(try Self.ctl(daemon, ["Get", "3"], in: scratch).stdout == "3,2.5000,0.0000,2.5000,false\n")
            let stats = try Self.ctl(daemon, ["STATS"], in: scratch)
            #expect(stats.status == 0 && daemonStats(stats.stdout)["applied"] == "1", "\(stats.stdout)\(stats.stderr)")
            for command in [["tx", "-1"], ["TX", "-1"], ["get", "-5"]] {
                let r = try Self.ctl(daemon, command, in: scratch)
                #expect(r.status == 2, "\(command)")
                #expect(r.stderr.contains("must be a number") && r.stderr.contains("\"\(command[1])\""), "\(command): \(r.stderr)")
                #expect(!r.stderr.contains("unknown option"), "\(command): \(r.stderr)")
            }
            let file = scratch.write("not-a-socket", "hello\n")
            for path in [file, scratch.path] {
                let r = try OperatorRun.paymentsctl(["--unix", path, "ping"], in: scratch)
                #expect(r.status == 1 && r.stderr.hasPrefix("paymentsctl: cannot connect to \(path): not a socket"), "\(r.stderr)")
                #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
            }
            #expect(daemon.terminate() == 0)
        }

        /// Point 7: `send` reading a terminal says so on standard error and draws no progress
        /// line into what is typed; Ctrl-D ends the input and the summary follows.
        @Test func sendFromATerminalSaysSoAndDrawsNoProgressLine() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let summary = scratch.file("summary")
            _ = FileManager.default.createFile(atPath: summary, contents: nil)
            let terminal = try PseudoTerminalProcess(
                DaemonBinaries.paymentsctl, ["--unix", daemon.socketPath, "send"], stdoutPath: summary)
            try terminal.waitFor("paymentsctl: reading standard input (Ctrl-D to end)\n")
            try terminal.type("deposit,1,1,10\n")
            try terminal.waitFor("deposit,1,1,10\n")  // the terminal's echo
            try terminal.type("deposit,1,2,5\n")
            try terminal.waitFor("deposit,1,2,5\n")
            try terminal.type("\u{04}")
            #expect(try terminal.waitForExit() == 0, "\(terminal.output)")
            #expect(try String(contentsOfFile: summary, encoding: .utf8) == "applied 2, rejected 0, malformed 0\n")
            #expect(!terminal.output.contains("sent ") && !terminal.output.contains("\u{1B}"), "\(terminal.output.debugDescription)")
            #expect(try DaemonClient(daemon.unixAddress).ask("GET 1") == "1,15.0000,0.0000,15.0000,false")
            #expect(daemon.terminate() == 0)
        }

        /// Point 8: `--version` prints the release, exit 0, and needs no daemon.
        @Test func versionIsPrinted() throws {
            let scratch = DaemonScratch()
            let r = try OperatorRun.paymentsctl(["--version"], in: scratch)
            #expect(r.status == 0 && r.stdout == "paymentsctl 0.5.0\n" && r.stderr.isEmpty, "\(r.stdout)\(r.stderr)")
        }

        /// Point 9: with no command on a terminal, a prompt named after the socket file (or
        /// HOST:PORT) takes protocol requests in any case; multi-line replies come whole
        /// before the next prompt; `help` lists every request; Ctrl-D leaves with status 0.
        @Test func interactivePromptOnATerminal() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let terminal = try PseudoTerminalProcess(DaemonBinaries.paymentsctl, ["--unix", daemon.socketPath])
            let prompt = "d.sock> "
            try terminal.waitFor(prompt)
            func ask(_ line: String) throws -> [String] {
                try terminal.type(line + "\n")
                let shown = try terminal.waitFor(prompt)  // the echo, the reply, the next prompt
                var lines = shown.dropLast(prompt.count).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                #expect(lines.first == line, "the echo of \(line): \(shown)")
                lines.removeFirst()
                return lines
            }
            #expect(try ask("ping") == ["PONG", ""])
            #expect(try ask("deposit,1,1,10") == ["OK", ""])
            #expect(try ask("deposit, 2, 2, 2.5") == ["OK", ""])
            #expect(try ask("withdrawal,1,3,20") == ["REJECTED insufficient funds", ""])
            #expect(try ask("DUMP") == [
                "client,available,held,total,locked", "1,10.0000,0.0000,10.0000,false", "2,2.5000,0.0000,2.5000,false", "", "",
            ])
            #expect(try ask("history 1") == ["deposit,1,1,10.0000,ok", "withdrawal,1,3,20.0000,rejected: insufficient funds", "", ""])
            #expect(try ask("get 99") == ["ERR unknown client", ""])
            let help = try ask("help")
            for request in ["GET <client>", "DUMP", "TX <id>", "HISTORY <client>", "SYNC", "STATS", "PING", "HELP", "QUIT"] {
                #expect(help.contains { $0.hasPrefix(request) }, "help lacks \(request): \(help)")
            }
            #expect(help.contains { $0.contains("Ctrl-D") }, "\(help)")
            try terminal.type("\u{04}")
            #expect(try terminal.waitForExit() == 0, "\(terminal.output)")

            let overTCP = try PseudoTerminalProcess(DaemonBinaries.paymentsctl, ["--tcp", "127.0.0.1:\(daemon.tcpPort)"])
            let tcpPrompt = "127.0.0.1:\(daemon.tcpPort)> "
            try overTCP.waitFor(tcpPrompt)
            try overTCP.type("GET 2\n")
            #expect(try overTCP.waitFor(tcpPrompt) == "GET 2\n2,2.5000,0.0000,2.5000,false\n\(tcpPrompt)")
            try overTCP.type("quit\n")
            #expect(try overTCP.waitForExit() == 0, "\(overTCP.output)")
            #expect(overTCP.output.hasSuffix("quit\nBYE\n"), "\(overTCP.output)")
            #expect(daemon.terminate() == 0)
        }

        /// Point 9: raw requests — words as the protocol spells them on the command line
        /// (`GET 3 JSON`, a transaction line, `QUIT`), and request lines on standard input
        /// when it is not a terminal, replies exactly as the daemon sends them.
        @Test func rawRequestsOnTheCommandLineAndStandardInput() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let applied = try Self.ctl(daemon, ["deposit,3,1,7.5"], in: scratch)
            #expect(applied.status == 0 && applied.stdout == "OK\n", "\(applied.stdout)\(applied.stderr)")
            let rejected = try Self.ctl(daemon, ["withdrawal,3,2,100"], in: scratch)
            #expect(rejected.status == 1 && rejected.stdout == "REJECTED insufficient funds\n", "\(rejected.stdout)\(rejected.stderr)")
            let malformed = try Self.ctl(daemon, ["deposit,3,x,1"], in: scratch)
            #expect(malformed.status == 1 && malformed.stdout.isEmpty && malformed.stderr.hasPrefix("paymentsctl: deposit,3,x,1: "))
            #expect(try Self.ctl(daemon, ["GET", "3"], in: scratch).stdout == "3,7.5000,0.0000,7.5000,false\n")
            #expect(try Self.ctl(daemon, ["GET", "3", "JSON"], in: scratch).stdout
                == #"{"client":3,"available":"7.5000","held":"0.0000","total":"7.5000","locked":false}"# + "\n")
            #expect(try Self.ctl(daemon, ["QUIT"], in: scratch).stdout == "BYE\n")

            // Standard input: one request at a time, the replies as nc shows them.
            let queries = "GET 3\nDUMP\n\nping\nTX 1\nhistory 3\nhelp\n"
            let piped = try Self.ctl(daemon, [], stdin: queries, in: scratch)
            #expect(piped.status == 0, "\(piped.stderr)")
            #expect(piped.stdout.hasPrefix("""
                3,7.5000,0.0000,7.5000,false
                client,available,held,total,locked
                3,7.5000,0.0000,7.5000,false

                PONG
                deposit,3,1,7.5000,ok
                deposit,3,1,7.5000,ok
                withdrawal,3,2,100.0000,rejected: insufficient funds


                """), "\(piped.stdout)")
            let file = scratch.write("queries", queries)
            let byNetcat = try DaemonRun.shell("nc -U -N \(daemon.socketPath) < \(file)", in: scratch)
            #expect(byNetcat.status == 0 && piped.stdout == byNetcat.stdout, "nc: \(byNetcat.stdout)")
            let write = try Self.ctl(daemon, [], stdin: "deposit,4,3,1\nGET 4\n", in: scratch)
            #expect(write.status == 0 && write.stdout == "OK\n4,1.0000,0.0000,1.0000,false\n", "\(write.stdout)\(write.stderr)")
            let withError = try Self.ctl(daemon, [], stdin: "get 99\nPING\n", in: scratch)
            #expect(withError.status == 1 && withError.stdout == "ERR unknown client\nPONG\n", "\(withError.stdout)")
            let quit = try Self.ctl(daemon, [], stdin: "QUIT\nPING\n", in: scratch)
            #expect(quit.status == 0 && quit.stdout == "BYE\n", "\(quit.stdout)\(quit.stderr)")
            #expect(daemon.terminate() == 0)
        }

        /// Point 9: `stats --json` is one object of the STATS pairs, numbers as numbers;
        /// `history --json` one object per line, as the HTTP API writes history entries.
        @Test func jsonForStatsAndHistory() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let client = try DaemonClient(daemon.unixAddress)
            for line in ["deposit,1,1,10", "withdrawal,1,2,20", "dispute,1,1"] { _ = try client.ask(line) }
            let stats = try Self.ctl(daemon, ["stats", "--json"], in: scratch)
            #expect(stats.status == 0 && stats.stdout.split(separator: "\n").count == 1, "\(stats.stdout)\(stats.stderr)")
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any], "\(stats.stdout)")
            // The same keys as STATS; a number where STATS has digits (the values of
            // `connections` and `uptime_s` may have moved since), a string elsewhere.
            let pairs = daemonStats(try client.ask("STATS"))
            #expect(Set(object.keys) == Set(pairs.keys), "\(stats.stdout)")
            for (key, value) in pairs {
                if Int(value) != nil {
                    #expect(object[key] is NSNumber && !(object[key] is String), "\(key) in \(stats.stdout)")
                } else {
                    #expect(object[key] as? String == value, "\(key) in \(stats.stdout)")
                }
            }
            #expect((object["applied"] as? NSNumber)?.intValue == 2 && stats.stdout.contains(#""applied":2,"#), "\(stats.stdout)")
            let history = try Self.ctl(daemon, ["history", "1", "--json"], in: scratch)
            #expect(history.status == 0, "\(history.stderr)")
            #expect(history.stdout == """
                {"type":"deposit","client":1,"tx":1,"amount":"10.0000","outcome":"ok"}
                {"type":"withdrawal","client":1,"tx":2,"amount":"20.0000","outcome":"rejected","reason":"insufficient funds"}
                {"type":"dispute","client":1,"tx":1,"amount":"10.0000","outcome":"ok"}

                """)
            #expect(try Self.ctl(daemon, ["HISTORY", "7", "--json"], in: scratch).stdout == "")
            #expect(try Self.ctl(daemon, ["tx", "1", "--json"], in: scratch).status == 2)
            #expect(daemon.terminate() == 0)
        }

        /// Point 9: `-r N -i SECONDS` runs the command N times, like `redis-cli`; the first
        /// failure stops it with its status.
        @Test func repeatModeRunsTheCommandNTimes() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let pings = try Self.ctl(daemon, ["-r", "3", "-i", "0.05", "ping"], in: scratch)
            #expect(pings.status == 0 && pings.stdout == "PONG\nPONG\nPONG\n", "\(pings.stdout)\(pings.stderr)")
            let stats = try Self.ctl(daemon, ["stats", "-r", "2", "-i", "0"], in: scratch)
            #expect(stats.status == 0 && stats.stdout.split(separator: "\n").count == 2, "\(stats.stdout)")
            let failing = try Self.ctl(daemon, ["-r", "5", "get", "9"], in: scratch)
            #expect(failing.status == 1 && failing.stderr.split(separator: "\n").count == 1, "\(failing.stderr)")
            for bad in [["-r", "0", "ping"], ["-r", "x", "ping"], ["-i", "-1", "ping"], ["-r", "2", "send"]] {
                #expect(try Self.ctl(daemon, bad, in: scratch).status == 2, "\(bad)")
            }
            #expect(daemon.terminate() == 0)
        }

        /// Point 9: `--latency` times PING round trips: with `-r N`, N samples and one line
        /// of min/avg/max; on a terminal until Ctrl-C (SIGINT), then the same line.
        @Test func latencyMeasuresPingRoundTrips() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let counted = try Self.ctl(daemon, ["--latency", "-r", "5", "-i", "0"], in: scratch)
            #expect(counted.status == 0, "\(counted.stderr)")
            #expect(OperatorRun.latencyLine(counted.stdout, samples: 5), "\(counted.stdout)")

            let terminal = try PseudoTerminalProcess(DaemonBinaries.paymentsctl, ["--unix", daemon.socketPath, "--latency"])
            try terminal.waitFor(" samples)")
            kill(terminal.pid, SIGINT)
            #expect(try terminal.waitForExit() == 0, "\(terminal.output)")
            let last = terminal.output.components(separatedBy: "\u{1B}[K").last ?? ""
            #expect(OperatorRun.latencyLine(last, samples: nil), "\(terminal.output.debugDescription)")

            let http = try DaemonProcess(
                dataDirectory: scratch.file("data2"), socketPath: scratch.file("h.sock"), extra: ["--http", "127.0.0.1:0"])
            let port = try #require(OperatorRun.httpPort(in: http.log))
            let wrong = try OperatorRun.paymentsctl(["--tcp", "127.0.0.1:\(port)", "--latency", "-r", "3"], in: scratch)
            #expect(wrong.status == 1 && wrong.stderr.contains("not a paymentsd line protocol"), "\(wrong.stderr)")
            #expect(http.terminate() == 0)
            #expect(daemon.terminate() == 0)
        }
    }
}

/// Running paymentsctl with a time limit, and reading what the daemon logged.
enum OperatorRun {
    static let timeoutSeconds = 30.0

    /// Runs paymentsctl to its end (killed, and the test failed, after `timeoutSeconds`) with
    /// `stdin` as its standard input (empty when nil) and without `$PAYMENTSD_SOCKET`.
    static func paymentsctl(_ arguments: [String], stdin: String? = nil, in scratch: DaemonScratch) throws -> DaemonRun {
        let inPath = scratch.file("in." + String(UInt64.random(in: 0...UInt64.max)))
        _ = FileManager.default.createFile(atPath: inPath, contents: Data((stdin ?? "").utf8))
        defer { try? FileManager.default.removeItem(atPath: inPath) }
        var environment = ProcessInfo.processInfo.environment
        environment["PAYMENTSD_SOCKET"] = nil
        return try DaemonRun.run(
            DaemonBinaries.paymentsctl, arguments, stdin: inPath, environment: environment, timeoutSeconds: timeoutSeconds,
            in: scratch)
    }

    /// The port of "listening on 127.0.0.1:PORT (http)".
    static func httpPort(in log: String) -> UInt16? {
        for line in log.split(separator: "\n") {
            guard let r = line.range(of: "listening on 127.0.0.1:"), line.hasSuffix(" (http)") else { continue }
            if let port = UInt16(line[r.upperBound...].prefix { $0.isNumber }) { return port }
        }
        return nil
    }

    /// A connection the daemon admitted (it answered `PING`), retried while it refuses (a
    /// connection just closed is counted off a moment later); at most `timeoutSeconds`.
    static func admittedClient(_ address: SocketAddress) throws -> DaemonClient {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while true {
            // Refused, the daemon may close before the request is sent: that is a refusal too.
            if let client = try? DaemonClient(address), (try? client.ask("PING")) == "PONG" { return client }
            guard Date() < deadline else { throw DaemonTestError("still refused after \(timeoutSeconds) s") }
            usleep(20_000)
        }
    }

    /// `min: A ms, avg: B ms, max: C ms (N samples)` and a newline, with A <= B <= C
    /// (N as given, or any N when nil).
    static func latencyLine(_ text: String, samples: Int?) -> Bool {
        let pattern = #"^min: (\d+\.\d{3}) ms, avg: (\d+\.\d{3}) ms, max: (\d+\.\d{3}) ms \((\d+) samples\)\n$"#
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return false }
        let field = { (i: Int) in Range(match.range(at: i), in: text).map { String(text[$0]) } ?? "" }
        let (low, average, high) = (Double(field(1)) ?? -1, Double(field(2)) ?? -1, Double(field(3)) ?? -1)
        guard let count = Int(field(4)), count >= 1 else { return false }
        return low <= average && average <= high && (samples == nil || count == samples)
    }
}
