import ChildProcessSupport
import Foundation
import Glibc
import PaymentsFormat
import PaymentsPlatform
import Testing

// The daemon as operators meet it (issue 13), with the real binaries over real sockets and the
// real tools (curl, promtool, systemctl, systemd-sysusers): the Unix socket's reserved
// connections and the refusal log, POST bodies of several lines, mistyped commands, usage
// errors and failed starts, --version, the process metrics, and the systemd install. Helpers
// here start with `Operator` so that they cannot clash with the other end-to-end files.

extension DaemonEndToEnd {
    @Suite(.serialized) struct DaemonOperatorTests {
        // MARK: Point 2: the connection limit

        /// TCP and HTTP clients fill `--max-connections`; the Unix socket still takes 8 more
        /// (and refuses the one after), TCP and HTTP stay refused, and the refusals are logged
        /// at most one line per 10 s, the lines adding up to every refusal.
        @Test func unixSocketKeepsEightConnectionsBeyondTheLimitAndRefusalsAreLoggedSparingly() throws {
            let d = try HTTPTestDaemon(["--tcp", "127.0.0.1:0", "--max-connections", "3"])
            let tcpPort = try #require(DaemonProcess.tcpPort(in: d.log), "no TCP port in: \(d.log)")
            let tcp = try SocketAddress.hostPort("127.0.0.1:\(tcpPort)"), unix = SocketAddress.unix(path: d.unixSocketPath)
            // The start-up probe's connection may still count for a moment: wait until only ours does.
            let first = try DaemonClient(unix)
            try operatorWait("only the test's connection is open") { daemonStats(try first.ask("STATS"))["connections"] == "1" }
            // With a TCP line client and an HTTP client, 3 are open: the limit.
            let line = try DaemonClient(tcp)
            #expect(try line.ask("PING") == "PONG")
            let http = try d.connect()
            #expect(try http.exchange(httpTestRequest("GET", "/healthz")).status == 200)

            let started = Date()
            var refusals = 0
            func refusedOverTCP() throws {
                #expect(try DaemonClient(tcp).readToEnd() == "ERR too many connections\n")
                refusals += 1
            }
            try refusedOverTCP()
            let refusedHTTP = try d.connect()
            refusedHTTP.send(httpTestRequest("GET", "/healthz"))
            #expect(refusedHTTP.waitForClose(), "an HTTP client over the limit is closed")
            #expect(String(decoding: refusedHTTP.reader.buffer, as: UTF8.self).hasPrefix("HTTP/1.1 503"))
            refusals += 1

            // The Unix socket: up to 3 + 8 connections in all.
            var operators: [DaemonClient] = []
            for _ in 0..<8 {
                let c = try DaemonClient(unix)
                #expect(try c.ask("PING") == "PONG", "a Unix client within the reserved 8 is served")
                operators.append(c)
            }
            #expect(daemonStats(try first.ask("STATS"))["connections"] == "11")
            #expect(try DaemonClient(unix).readToEnd() == "ERR too many connections\n", "the 9th beyond the limit is refused")
            refusals += 1
            for _ in 0..<4 { try refusedOverTCP() }
            #expect(try operators[0].ask("PING") == "PONG")

            // First refusal at once, then one line per 10 s at most with the count since the
            // last line: wait (bounded) until the lines account for every refusal.
            var lines: [String] = []
            try operatorWait("the log accounts for \(refusals) refusals", seconds: 40) {
                lines = d.log.split(separator: "\n").map(String.init).filter { $0.contains("connection limit") }
                return operatorRefusalsCounted(lines) == refusals
            }
            let elapsed = Date().timeIntervalSince(started)
            #expect(lines.first?.contains("refused a connection on") == true, "\(lines)")
            #expect(lines.count <= 1 + Int(elapsed / 10), "\(lines.count) lines in \(elapsed) s:\n\(lines.joined(separator: "\n"))")
            #expect(lines.count >= 2, "the refusals after the first are summed up in a later line: \(lines)")
        }

        // MARK: Point 3: POST bodies of several lines

        /// A body of several lines is handled as lines whatever its type (curl's default form
        /// type, `application/json` for NDJSON); one JSON object over several lines stays one
        /// transaction; a single line is still one transaction with its own status.
        @Test func multiLinePostIsHandledAsLinesWhateverItsType() throws {
            let d = try HTTPTestDaemon()
            let csv = try d.request("POST", "/transactions", body: Data("deposit,1,1,10\ndeposit,1,1,10\nwithdrawal,1,2,100\nhello\n".utf8))
            #expect(csv.status == 200, "\(csv.text)")
            let summary = try csv.jsonObject()
            #expect(summary["applied"] as? Int == 1 && summary["rejected"] as? Int == 2 && summary["malformed"] as? Int == 1, "\(csv.text)")
            let errors = summary["errors"] as? [[String: Any]] ?? []
            #expect(errors.map { $0["line"] as? Int } == [2, 3, 4], "\(csv.text)")
            #expect(errors.last?["reply"] as? String == "ERR unknown transaction type", "a word in a body is a transaction of no known type")

            let ndjson = #"{"type":"deposit","client":2,"tx":3,"amount":"1.5"}"# + "\n\n" + #"{"type":"deposit","client":2,"tx":4,"amount":2}"#
            let n = try d.request("POST", "/transactions", headers: ["Content-Type: application/json"], body: Data(ndjson.utf8))
            let nSummary = try n.jsonObject()
            #expect(n.status == 200 && nSummary["applied"] as? Int == 2, "\(n.text)")

            let pretty = "{\n  \"type\": \"deposit\",\n  \"client\": 3,\n  \"tx\": 5,\n  \"amount\": \"4\"\n}\n"
            let one = try d.request("POST", "/transactions", headers: ["Content-Type: application/json"], body: Data(pretty.utf8))
            #expect(one.status == 200 && one.text == #"{"result":"ok"}"#, "\(one.text)")
            let single = try d.request("POST", "/transactions", body: Data("deposit,4,6,x\n".utf8))
            #expect(single.status == 400, "one bad line is still a 400: \(single.text)")

            let clients = try httpTestAccounts(json: try d.request("GET", "/clients"))
            #expect(clients.map(\.client) == [1, 2, 3])
            #expect(clients.first { $0.client == 2 }?.total == Decimal(string: "3.5"))
        }

        // MARK: Point 4: a mistyped command

        /// One word that is no command and no transaction type is a command attempt: the reply
        /// names it and points to HELP. Transactions keep their own errors.
        @Test func mistypedCommandPointsToHelp() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let c = try DaemonClient(daemon.unixAddress)
            #expect(try c.ask("hello") == "ERR unknown command hello (HELP lists the requests)")
            #expect(try c.ask("  PIGN\r") == "ERR unknown command PIGN (HELP lists the requests)")
            #expect(try c.ask(String(repeating: "x", count: 100)) == "ERR unknown command \(String(repeating: "x", count: 32))... (HELP lists the requests)")
            #expect(try c.ask("ping") == "PONG")
            #expect(try c.ask("deposit") == "ERR missing client", "a transaction type alone is a transaction")
            #expect(try c.ask("bogus line") == "ERR unknown transaction type")
            #expect(try c.ask("hello,1,2,3") == "ERR unknown transaction type")
            #expect(try c.ask(#"{"type":"hello"}"#).hasPrefix("ERR "))
            #expect(try c.askBlock("HELP").contains { $0.hasPrefix("PING") })
            #expect(daemonStats(try c.ask("STATS"))["malformed"] == "7", "unknown commands count with the malformed lines")
        }

        // MARK: Point 5: usage errors and failed starts

        /// Every listener address is checked with the other flags: exit 2 at once, and neither
        /// the data directory nor a socket file is created.
        @Test func badListenerAddressesAreUsageErrorsBeforeAnythingIsCreated() throws {
            let scratch = DaemonScratch()
            let data = scratch.file("data"), socket = scratch.file("d.sock")
            let cases: [(flags: [String], says: String)] = [
                (["--tcp", "7390"], "--tcp 7390: expected HOST:PORT"),
                (["--http", "localhost"], "--http localhost: expected HOST:PORT"),
                (["--tcp", "127.0.0.1:70000"], "--tcp 127.0.0.1:70000: port must be a number"),
                (["--http", "example.com:80"], "is not an IPv4 address"),
                (["--tcp", "192.0.2.1:7300"], "--tcp 192.0.2.1:7300 is not a loopback address: pass --allow-remote"),
                (["--unix", "/tmp/" + String(repeating: "s", count: 120)], "the limit is 107"),
            ]
            for (flags, says) in cases {
                let run = try operatorRun(DaemonBinaries.paymentsd, ["--data-dir", data, "--unix", socket] + flags)
                #expect(run.status == 2, "\(flags): \(run.stderr)")
                #expect(run.stderr.hasPrefix("paymentsd: ") && run.stderr.contains(says), "\(flags): \(run.stderr)")
                #expect(!FileManager.default.fileExists(atPath: data), "\(flags): the data directory was created")
                #expect(!FileManager.default.fileExists(atPath: socket), "\(flags): the socket file was created")
            }
        }

        /// A start that fails on a port already taken exits 1 and leaves none of the Unix socket
        /// files it had created.
        @Test func failedStartRemovesTheSocketFilesItCreated() throws {
            let scratch = DaemonScratch()
            let taken = try Socket.listen(on: try SocketAddress.hostPort("127.0.0.1:0"))
            defer { try? taken.close() }
            let port = try #require(try taken.localAddress()?.port)
            let sockets = [scratch.file("a.sock"), scratch.file("b.sock")]
            let run = try operatorRun(
                DaemonBinaries.paymentsd,
                ["--data-dir", scratch.file("data"), "--unix", sockets[0], "--unix", sockets[1], "--tcp", "127.0.0.1:\(port)"])
            #expect(run.status == 1, "\(run.stderr)")
            #expect(run.stderr.contains("cannot listen on 127.0.0.1:\(port)"), "\(run.stderr)")
            #expect(run.stderr.contains("listening on \(sockets[1])"), "both sockets were bound before the failure: \(run.stderr)")
            for path in sockets { #expect(!FileManager.default.fileExists(atPath: path), "\(path) was left behind") }
        }

        // MARK: Point 8: --version and the process metrics

        @Test func versionFlags() throws {
            for (binary, name) in [(DaemonBinaries.paymentsd, "paymentsd"), (DaemonBinaries.payments, "payments")] {
                let run = try operatorRun(binary, ["--version"])
                #expect(run.status == 0 && run.stderr.isEmpty, "\(name): \(run.stderr)")
                #expect(run.stdout == "\(name) \(PaymentsVersion.current)\n")
            }
            #expect(PaymentsVersion.current.wholeMatch(of: /[0-9]+\.[0-9]+\.[0-9]+/) != nil)
        }

        /// The five standard process metrics, each with HELP and TYPE, agree with what /proc
        /// says about the daemon's process.
        @Test func processMetricsAgreeWithProc() throws {
            let before = Date().timeIntervalSince1970
            let d = try HTTPTestDaemon()
            let after = Date().timeIntervalSince1970
            let pid = d.pid
            let text = try d.request("GET", "/metrics").text
            let page = try HTTPTestPrometheusPage(text)
            let expected = [
                "process_start_time_seconds": "gauge", "process_cpu_seconds_total": "counter",
                "process_resident_memory_bytes": "gauge", "process_open_fds": "gauge", "process_max_fds": "gauge",
            ]
            for (name, type) in expected {
                #expect(page.types[name] == type, "\(name)")
                #expect(text.contains("\n# HELP \(name) "), "\(name) has no HELP")
            }
            let start = try #require(page.value("process_start_time_seconds"))
            #expect(start >= before - 1 && start <= after + 1, "start \(start), test saw \(before)...\(after)")
            let cpu = try #require(page.value("process_cpu_seconds_total"))
            let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
            let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
            let ticksNow = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
            #expect(cpu >= 0 && cpu <= ticksNow / 100, "cpu \(cpu) s, /proc says \(ticksNow) ticks now")
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            let rssKiB = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?
                .split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Double($0) })
            let rss = try #require(page.value("process_resident_memory_bytes"))
            #expect(rss > rssKiB * 1024 / 2 && rss < rssKiB * 1024 * 2, "rss \(rss), /proc says \(rssKiB) KiB")
            let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
            let soft = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") }?
                .split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first.flatMap { Double($0) })
            #expect(page.value("process_max_fds") == soft)
            let open = try #require(page.value("process_open_fds"))
            let fdsNow = Double(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count)
            #expect(open >= 5 && abs(open - fdsNow) <= 4, "open fds \(open), /proc lists \(fdsNow)")
        }

        /// `promtool check metrics` (Debian package prometheus; .ci/run installs it) accepts a
        /// live daemon's page after some traffic, histogram buckets filled.
        @Test(.enabled(if: DaemonRun.toolExists("promtool"), "promtool is not installed (apt-get install prometheus; .ci/run installs it)"))
        func promtoolAcceptsTheMetricsPage() throws {
            let d = try HTTPTestDaemon()
            let c = try DaemonClient(.unix(path: d.unixSocketPath))
            #expect(try c.ask("deposit,1,1,5") == "OK")
            #expect(try c.ask("hello").hasPrefix("ERR"))
            #expect(try c.ask("SYNC") == "OK")
            let page = try d.request("GET", "/metrics")
            #expect(page.status == 200)
            let file = d.directory + "/metrics.txt"
            try Data(page.body).write(to: URL(fileURLWithPath: file))
            let check = try operatorRun(URL(fileURLWithPath: "/bin/sh"), ["-c", "promtool check metrics < \"$1\"", "sh", file])
            #expect(check.status == 0, "promtool check metrics:\n\(check.stdout)\(check.stderr)\n\(page.text)")
        }

        // MARK: Point 10: the systemd units as the README installs them

        /// The README's install, done with the real tools into a scratch root: `install -D`
        /// works without /usr/local/lib/sysusers.d, systemd-sysusers creates the user, units under
        /// /usr/local/lib/systemd/system can be enabled, and `systemctl mask` of the HTTP socket
        /// works (copied into /etc/systemd/system, as before, it fails). The service keeps no
        /// RuntimeDirectory=, hides /dev/shm and lets core dumps happen.
        @Test(.enabled(
            if: ["systemctl", "systemd-sysusers", "install"].allSatisfy(DaemonRun.toolExists),
            "systemctl and systemd-sysusers are not installed (Debian package systemd; .ci/run installs it)"))
        func installUnderUsrLocalThenMaskTheHTTPSocket() throws {
            let scratch = DaemonScratch()
            let root = scratch.file("root"), units = systemdUnitsDirectory.path
            try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
            func run(_ command: String) throws -> DaemonRun {
                try operatorRun(URL(fileURLWithPath: "/bin/sh"), ["-c", command, "sh", root, units])
            }
            func succeeds(_ command: String) throws {
                let r = try run(command)
                #expect(r.status == 0, "\(command): \(r.stderr)")
            }
            try succeeds(#"install -D -m 644 "$2/paymentsd.sysusers" "$1/usr/local/lib/sysusers.d/paymentsd.conf""#)
            try succeeds(#"systemd-sysusers --root="$1""#)
            let passwd = (try? String(contentsOfFile: root + "/etc/passwd", encoding: .utf8)) ?? ""
            #expect(passwd.contains("paymentsd:x:"), "\(passwd)")
            try succeeds(#"install -D -m 644 -t "$1/usr/local/lib/systemd/system" "$2"/*.service "$2"/*.socket"#)
            try succeeds(#"systemctl --root="$1" enable paymentsd.socket paymentsd-http.socket"#)
            try succeeds(#"systemctl --root="$1" disable paymentsd-http.socket"#)
            try succeeds(#"systemctl --root="$1" mask paymentsd-http.socket"#)
            let mask = try FileManager.default.destinationOfSymbolicLink(atPath: root + "/etc/systemd/system/paymentsd-http.socket")
            #expect(mask == "/dev/null")
            try succeeds(#"systemctl --root="$1" enable paymentsd.service"#)
            // Enable links point at the unit's path on the target system (dangling here): read, not followed.
            let wants = root + "/etc/systemd/system/"
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: wants + "multi-user.target.wants/paymentsd.service"))
                == "/usr/local/lib/systemd/system/paymentsd.service")
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: wants + "sockets.target.wants/paymentsd.socket"))
                == "/usr/local/lib/systemd/system/paymentsd.socket")
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: wants + "sockets.target.wants/paymentsd-http.socket")) == nil,
                    "the masked socket is not pulled in by enabling the service (Also=)")

            // The old copy-install: the unit file in /etc is where the mask would go.
            let old = try run(#"mkdir -p "$1/old/etc/systemd/system" && cp "$2"/*.service "$2"/*.socket "$1/old/etc/systemd/system/" && systemctl --root="$1/old" mask paymentsd-http.socket"#)
            #expect(old.status != 0 && old.stderr.contains("already exists"), "\(old.stderr)")

            let service = try String(contentsOfFile: units + "/paymentsd.service", encoding: .utf8)
            let settings = service.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
            #expect(!settings.contains { $0.hasPrefix("RuntimeDirectory") }, "RuntimeDirectory= hands the socket's directory to the service")
            #expect(settings.contains("InaccessiblePaths=-/dev/shm"))
            #expect(settings.contains("LimitCORE=infinity"))
            let socket = try String(contentsOfFile: units + "/paymentsd.socket", encoding: .utf8)
            #expect(socket.contains("ListenStream=/run/paymentsd/paymentsd.sock") && socket.contains("DirectoryMode=0755"),
                    "the socket unit creates /run/paymentsd itself")
        }
    }
}

// MARK: - Helpers

/// Runs a program to its end, at most `seconds` (then its group is killed and the test fails),
/// in its own process group (`ChildProcess`): output through files, standard input empty.
func operatorRun(_ program: URL, _ arguments: [String], seconds: Double = 60) throws -> DaemonRun {
    let scratch = DaemonScratch()
    let outPath = scratch.file("out"), errPath = scratch.file("err")
    let child = try ChildProcess(program.path, arguments, stdoutPath: outPath, stderrPath: errPath)
    let status = try child.wait(seconds: seconds, for: "for \(program.lastPathComponent) to finish")
    return DaemonRun(
        status: status,
        stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
}

/// Polls `condition` until it holds, at most `seconds`.
func operatorWait(_ what: String, seconds: Double = 20, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while true {
        if try condition() { return }
        guard Date() < deadline else { throw DaemonTestError("not within \(seconds) s: \(what)") }
        usleep(20_000)
    }
}

/// The refusals the log's connection-limit lines account for: 1 for "refused a connection",
/// N for "refused N more".
func operatorRefusalsCounted(_ lines: [String]) -> Int {
    lines.reduce(0) { sum, line in
        if line.contains("refused a connection on") { return sum + 1 }
        guard let r = line.range(of: "refused ") else { return sum }
        return sum + (Int(line[r.upperBound...].prefix { $0.isNumber }) ?? 0)
    }
}
