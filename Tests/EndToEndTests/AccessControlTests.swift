import ChildProcessSupport
import Foundation
import Glibc
import PaymentsPlatform
import Testing

// §9's tokens through the real `paymentsd` and real clients (our socket client, curl): the
// AUTH line and the Bearer header, each role's limits, the refusals at start, SIGHUP reloads
// under a connected client, 500 bad tokens in a row, and no token ever in the log. TLS comes
// on top of this in TLSTests. Helpers here start with `Access`.

/// Tokens and their SHA-256, computed apart from our code: `printf %s TOKEN | sha256sum`.
enum AccessTokens {
    static let read = "read-token-1111"
    static let write = "write-token-2222"
    static let admin = "admin-token-3333"
    static let rotated = "rotated-token-4444"
    static let readHash = "9f4defd0004b340e36c0f46d972b49a64a851b76f9ea9a1c3303daa2f534c394"
    static let writeHash = "96b44a1ad9e60cd2c0cd6436dfcab742276ba21712d9ffac158f82f5b82f1dac"
    static let adminHash = "6b4e1bf2908a6fd0630c59c07f7f2c11acf9f6d3ce267fd48da9b1641471c030"
    static let rotatedHash = "ddbcaaddda117349761c6e15584b987e5029165f3eb4ccbbe72f9476006f759f"

    static let standardLines = [
        "# role name sha256", "read dashboards \(readHash)", "write partner-a \(writeHash)", "admin ops \(adminHash)",
    ]

    /// Writes an auth file with `mode` and returns its path.
    static func file(_ scratch: DaemonScratch, _ lines: [String] = standardLines, name: String = "auth", mode: mode_t = 0o600) -> String {
        let path = scratch.write(name, lines.joined(separator: "\n") + "\n")
        chmod(path, mode)
        return path
    }
}

extension DaemonEndToEnd {
    @Suite(.serialized) struct AccessControlTests {
        /// The line protocol over TCP with tokens: nothing before AUTH, each role within its
        /// limits, and a wrong token answered `ERR auth failed` and closed.
        @Test func lineProtocolTokensAndRoles() throws {
            let scratch = DaemonScratch()
            let d = try DaemonProcess(in: scratch, extra: ["--auth-file", AccessTokens.file(scratch)])
            #expect(d.log.contains("tokens required on 127.0.0.1:"), "the log says which listeners need tokens: \(d.log)")

            let anonymous = try DaemonClient(d.tcpAddress)
            #expect(try anonymous.ask("PING") == "ERR auth required")
            #expect(try anonymous.ask("deposit,1,1,5.0") == "ERR auth required")
            #expect(try anonymous.ask("AUTH \(AccessTokens.read)") == "OK", "AUTH may come after refused lines")
            #expect(try anonymous.ask("PING") == "PONG")

            let reader = try DaemonClient(d.tcpAddress)
            #expect(try reader.ask("AUTH \(AccessTokens.read)") == "OK")
            #expect(try reader.ask("deposit,1,1,5.0") == "ERR forbidden: the read role may not do this (needs write)")
            #expect(try reader.ask("SYNC").hasPrefix("ERR forbidden"))
            #expect(try reader.ask("GET 1") == "ERR unknown client", "the refused deposit was not applied")

            let writer = try DaemonClient(d.tcpAddress)
            #expect(try writer.ask("AUTH \(AccessTokens.write)") == "OK")
            #expect(try writer.ask("deposit,1,1,5.0") == "OK")
            #expect(try writer.ask("SYNC").hasPrefix("ERR forbidden: the write role may not do this (needs admin)"))
            #expect(try reader.ask("GET 1") == "1,5.0000,0.0000,5.0000,false")

            let admin = try DaemonClient(d.tcpAddress)
            #expect(try admin.ask("AUTH \(AccessTokens.admin)") == "OK")
            #expect(try admin.ask("withdrawal,1,2,1.5") == "OK")
            #expect(try admin.ask("SYNC") == "OK")

            let wrong = try DaemonClient(d.tcpAddress)
            try wrong.send("AUTH not-a-token\nPING\n")
            #expect(try wrong.readToEnd() == "ERR auth failed\n", "a wrong token is refused and the connection closed, PING unanswered")

            // The Unix socket relies on its file mode unless --auth-unix.
            let local = try DaemonClient(d.unixAddress)
            #expect(try local.ask("GET 1") == "1,3.5000,0.0000,3.5000,false")
            #expect(try local.ask("AUTH \(AccessTokens.read)") == "ERR no tokens on this listener: AUTH is not needed")

            let stats = daemonStats(try local.ask("STATS"))
            #expect(stats["applied"] == "2")
            for token in [AccessTokens.read, AccessTokens.write, AccessTokens.admin, "not-a-token"] {
                #expect(!d.log.contains(token), "a token is never logged")
            }
        }

        /// `--auth-unix`: the Unix socket wants a token too; a connection that sends ten lines
        /// without one is closed after the tenth refusal.
        @Test func unixSocketWithTokensAndTheTenFailureLimit() throws {
            let scratch = DaemonScratch()
            // DaemonProcess probes the Unix socket with a plain connect, which a token does not hinder.
            let d = try DaemonProcess(in: scratch, extra: ["--auth-file", AccessTokens.file(scratch), "--auth-unix"])
            let c = try DaemonClient(d.unixAddress)
            try c.send(String(repeating: "GET 1\n", count: 12))
            let replies = try c.readToEnd().split(separator: "\n", omittingEmptySubsequences: false)
            #expect(replies.dropLast() == Array(repeating: "ERR auth required", count: 10)[...], "ten refusals, then the close: \(replies)")
            let ok = try DaemonClient(d.unixAddress)
            #expect(try ok.ask("AUTH \(AccessTokens.admin)") == "OK")
            #expect(try ok.ask("SYNC") == "OK")
        }

        /// 500 connections in a row with a wrong, empty, over-long or binary token: each is
        /// refused, the daemon keeps serving, `/metrics` counts every one, nothing is logged.
        @Test func fiveHundredBadTokensInARow() throws {
            let scratch = DaemonScratch()
            let d = try HTTPTestDaemon(["--tcp", "127.0.0.1:0", "--auth-file", AccessTokens.file(scratch)])
            let tcpPort = try #require(DaemonProcess.tcpPort(in: d.log))
            let tcp = try SocketAddress.hostPort("127.0.0.1:\(tcpPort)")
            let badTokens: [[UInt8]] = [
                Array("wrong".utf8), [], Array(repeating: 0x41, count: 3000), [0x00, 0xFF, 0x80, 0x7F, 0x01],
                Array(AccessTokens.read.utf8.dropLast()), Array((AccessTokens.read + "x").utf8),
            ]
            for i in 0..<500 {
                let c = try DaemonClient(tcp)
                try c.send(Array("AUTH ".utf8) + badTokens[i % badTokens.count] + Array("\nPING\n".utf8))
                let reply = try c.readToEnd()
                #expect(reply == "ERR auth failed\n", "bad token \(i % badTokens.count): \(reply)")
                if reply != "ERR auth failed\n" { break }
            }
            let good = try DaemonClient(tcp)
            #expect(try good.ask("AUTH \(AccessTokens.read)") == "OK")
            #expect(try good.ask("PING") == "PONG")
            let metrics = try d.request("GET", "/metrics", headers: ["Authorization: Bearer \(AccessTokens.read)"])
            #expect(metrics.status == 200)
            let line = #"payments_auth_failures_total{listener="127.0.0.1:\#(tcpPort) (line)",reason="failed"} 500"#
            #expect(metrics.text.contains(line), "every failure counted: \(metrics.text.split(separator: "\n").filter { $0.contains("auth") })")
            let httpLine = #"payments_auth_failures_total{listener="127.0.0.1:\#(d.port) (http)",reason="failed"} 0"#
            #expect(metrics.text.contains(httpLine), "a listener with tokens is listed from the start, at 0")
            #expect(!d.log.contains("wrong") && !d.log.contains("AAAAAAAA"), "no presented token is logged")
        }

        /// HTTP: Bearer tokens with curl, as users of curl expect; `/healthz` and `/leader` free.
        @Test func httpBearerTokensPerRouteAndRole() throws {
            let scratch = DaemonScratch()
            let d = try HTTPTestDaemon(["--auth-file", AccessTokens.file(scratch)])
            func bearer(_ token: String) -> [String] { ["Authorization: Bearer \(token)"] }
            #expect(try d.request("GET", "/healthz").status == 200)
            #expect(try d.request("GET", "/leader").status == 200)

            let anonymous = try d.request("GET", "/clients")
            #expect(anonymous.status == 401)
            #expect(anonymous.header("www-authenticate") == #"Bearer realm="paymentsd""#)
            let wrong = try d.request("GET", "/clients", headers: bearer("nope"))
            #expect(wrong.status == 401)
            #expect(wrong.header("www-authenticate")?.contains(#"error="invalid_token""#) == true)
            #expect(try d.request("GET", "/clients", headers: ["Authorization: Basic \(AccessTokens.read)"]).status == 401)

            let deposit = Data(#"{"type":"deposit","client":7,"tx":1,"amount":"3.0"}"#.utf8)
            let forbidden = try d.request("POST", "/transactions", headers: bearer(AccessTokens.read) + ["Content-Type: application/json"], body: deposit)
            #expect(forbidden.status == 403)
            #expect(forbidden.text.contains("needs write"))
            let posted = try d.request("POST", "/transactions", headers: bearer(AccessTokens.write) + ["Content-Type: application/json"], body: deposit)
            #expect(posted.status == 200, "\(posted.text)")
            for path in ["/clients", "/clients/7", "/clients/7/transactions", "/transactions/1", "/metrics"] {
                #expect(try d.request("GET", path, headers: bearer(AccessTokens.read)).status == 200, "GET \(path) with a read token")
                #expect(try d.request("GET", path).status == 401, "GET \(path) without a token")
            }
            #expect(try d.request("GET", "/clients/7", headers: ["authorization: bearer \(AccessTokens.admin)"]).status == 200, "the scheme in any case")
            #expect(!d.log.contains(AccessTokens.write))
        }

        /// A keep-alive HTTP connection that keeps failing is closed after ten 401s.
        @Test func httpConnectionClosedAfterTenFailures() throws {
            let scratch = DaemonScratch()
            let d = try HTTPTestDaemon(["--auth-file", AccessTokens.file(scratch)])
            let socket = try d.connect()
            var statuses: [Int] = []
            for _ in 0..<10 {
                let response = try socket.exchange(httpTestRequest("GET", "/clients", headers: ["Authorization: Bearer bad"]))
                statuses.append(response.status)
            }
            #expect(statuses == Array(repeating: 401, count: 10))
            #expect(socket.waitForClose(), "the tenth failure closes the connection")
        }

        /// SIGHUP reloads the token file under connected clients: a token taken out stops
        /// working on its open connection, one that stayed goes on without reconnecting, a new
        /// one works, and a file that fails its checks leaves the old tokens in force.
        @Test func sighupReloadsTokensWithoutDroppingConnections() throws {
            let scratch = DaemonScratch()
            let path = AccessTokens.file(scratch)
            let d = try DaemonProcess(in: scratch, extra: ["--auth-file", path])
            let kept = try DaemonClient(d.tcpAddress), revoked = try DaemonClient(d.tcpAddress)
            #expect(try kept.ask("AUTH \(AccessTokens.write)") == "OK")
            #expect(try revoked.ask("AUTH \(AccessTokens.read)") == "OK")
            #expect(try kept.ask("deposit,3,1,1.0") == "OK")
            // Followers send nothing after FOLLOW: a revoked token must end the stream at the reload.
            let revokedFollower = try DaemonClient(d.tcpAddress), keptFollower = try DaemonClient(d.tcpAddress)
            #expect(try revokedFollower.ask("AUTH \(AccessTokens.read)") == "OK")
            #expect(try keptFollower.ask("AUTH \(AccessTokens.write)") == "OK")
            #expect(try revokedFollower.ask("FOLLOW 1").hasPrefix(#"{"lsn":1,"#))
            #expect(try keptFollower.ask("FOLLOW 1").hasPrefix(#"{"lsn":1,"#))

            let replacement = ["write partner-a \(AccessTokens.writeHash)", "read dashboards-2 \(AccessTokens.rotatedHash)"]
            _ = AccessTokens.file(scratch, replacement, name: "auth.new")
            #expect(rename(scratch.file("auth.new"), path) == 0)
            d.process.signal(SIGHUP)
            try operatorWait("the reload is logged") { d.log.contains("reloaded: 2 token(s)") }

            #expect(try kept.ask("deposit,3,2,1.0") == "OK", "a token that stayed works on its open connection")
            #expect(try revokedFollower.readToEnd() == "ERR auth failed: the token was revoked\n", "a revoked follower's stream ends")
            #expect(try keptFollower.expectLine().hasPrefix(#"{"lsn":2,"#), "a follower whose token stayed goes on")
            try revoked.send("GET 3\n")
            #expect(try revoked.readToEnd() == "ERR auth failed\n", "a removed token stops working at once")
            let fresh = try DaemonClient(d.tcpAddress)
            #expect(try fresh.ask("AUTH \(AccessTokens.rotated)") == "OK")
            #expect(try fresh.ask("GET 3") == "3,2.0000,0.0000,2.0000,false")
            #expect(try DaemonClient(d.tcpAddress).ask("AUTH \(AccessTokens.read)") == "ERR auth failed")

            // A reload that fails its checks (mode 0644) keeps the tokens in force.
            chmod(path, 0o644)
            d.process.signal(SIGHUP)
            try operatorWait("the refused reload is logged") { d.log.contains("the tokens loaded before stay in force") }
            #expect(d.log.contains("mode 0644"))
            #expect(try kept.ask("deposit,3,3,1.0") == "OK")
            #expect(try DaemonClient(d.tcpAddress).ask("AUTH \(AccessTokens.rotated)") == "OK")
            #expect(d.process.isRunning)
        }

        /// Every auth file mistake is refused at start, exit 2, naming the file (and the line).
        @Test func badAuthFilesAreRefusedAtStart() throws {
            let scratch = DaemonScratch()
            let cases: [(lines: [String], mode: mode_t, expected: String)] = [
                (AccessTokens.standardLines, 0o644, "has mode 0644: it must be 0600 or 0640"),
                (AccessTokens.standardLines, 0o660, "has mode 0660"),
                (["read a \(AccessTokens.readHash)", "root b \(AccessTokens.writeHash)"], 0o600, "line 2: unknown role root"),
                (["read a \(AccessTokens.readHash)", "write b 1234"], 0o600, "line 2: the third field must be 64 hex digits"),
                (["read a \(AccessTokens.readHash) extra"], 0o600, "line 1: expected ROLE NAME SHA256HEX, found 4 field(s)"),
                (["read a \(AccessTokens.readHash)", "write a \(AccessTokens.writeHash)"], 0o600, "line 2: token name a is listed twice"),
            ]
            for (i, c) in cases.enumerated() {
                let path = AccessTokens.file(scratch, c.lines, name: "auth\(i)", mode: c.mode)
                let run = try operatorRun(DaemonBinaries.paymentsd, [
                    "--data-dir", scratch.file("data\(i)"), "--unix", scratch.file("s\(i).sock"), "--tcp", "127.0.0.1:0", "--auth-file", path,
                ])
                #expect(run.status == 2, "case \(i): \(run.stderr)")
                #expect(run.stderr.contains("auth file \(path)") && run.stderr.contains(c.expected), "case \(i): \(run.stderr)")
            }
            let missing = try operatorRun(DaemonBinaries.paymentsd, [
                "--data-dir", scratch.file("dm"), "--unix", scratch.file("m.sock"), "--auth-file", scratch.file("absent"),
            ])
            #expect(missing.status == 2)
            #expect(missing.stderr.contains(scratch.file("absent")) && missing.stderr.contains("No such file"), "\(missing.stderr)")
        }

        /// §9's start-up rule: a listener other hosts can reach needs tokens and TLS, unless
        /// `--insecure`, which is logged as a warning.
        @Test func remoteListenersNeedTokensAndTLSUnlessInsecure() throws {
            let scratch = DaemonScratch()
            let refused = try operatorRun(DaemonBinaries.paymentsd, [
                "--data-dir", scratch.file("d1"), "--unix", scratch.file("a.sock"), "--tcp", "0.0.0.0:0", "--allow-remote",
            ])
            #expect(refused.status == 2)
            #expect(refused.stderr.contains("--tcp 0.0.0.0:0 is reachable from other hosts: it needs --auth-file and --tls-cert/--tls-key"), "\(refused.stderr)")
            let tokensOnly = try operatorRun(DaemonBinaries.paymentsd, [
                "--data-dir", scratch.file("d2"), "--unix", scratch.file("b.sock"), "--http", "0.0.0.0:0", "--allow-remote",
                "--auth-file", AccessTokens.file(scratch),
            ])
            #expect(tokensOnly.status == 2)
            #expect(tokensOnly.stderr.contains("it needs --tls-cert/--tls-key"), "\(tokensOnly.stderr)")

            let insecure = try DaemonProcess(
                dataDirectory: scratch.file("d3"), socketPath: scratch.file("c.sock"), extra: ["--tcp", "0.0.0.0:0", "--allow-remote", "--insecure"])
            #expect(insecure.log.contains("reachable from other hosts without tokens or TLS (--insecure)"), "\(insecure.log)")
            #expect(try DaemonClient(insecure.unixAddress).ask("PING") == "PONG")
        }

        /// `paymentsctl hash-token` prints the line for a token read from standard input; the
        /// hash is the one `sha256sum` gives.
        @Test func hashTokenPrintsTheAuthFileLine() throws {
            let scratch = DaemonScratch()
            let run = try OperatorRun.paymentsctl(["hash-token", "write", "partner-a"], stdin: AccessTokens.write + "\n", in: scratch)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == "write partner-a \(AccessTokens.writeHash)\n")
            let nist = try OperatorRun.paymentsctl(["hash-token", "read", "n"], stdin: "abc", in: scratch)
            #expect(nist.stdout == "read n ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n", "FIPS 180-2's \"abc\"")
            let bad = try OperatorRun.paymentsctl(["hash-token", "root", "x"], stdin: "t\n", in: scratch)
            #expect(bad.status == 2 && bad.stderr.contains("read, write or admin"), "\(bad.stderr)")
            let empty = try OperatorRun.paymentsctl(["hash-token", "read", "x"], stdin: "\n", in: scratch)
            #expect(empty.status != 0 && empty.stderr.contains("empty"), "\(empty.stderr)")
        }
    }
}
