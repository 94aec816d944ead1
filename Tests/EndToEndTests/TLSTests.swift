import ChildProcessSupport
import Foundation
import Glibc
import PaymentsPlatform
import PaymentsTLS
import TLSTestSupport
import Testing

// §9's TLS through the real `paymentsd` and the clients users have: curl over HTTPS, `openssl
// s_client` and `socat OPENSSL:` on the line protocol, `paymentsctl --tls`; client certificates,
// a certificate reloaded under a connected client, a stalled handshake beside a served client,
// plain text on a TLS port and TLS on a plain one, and bad files at start. Helpers start with `TLSE2E`.

/// A daemon with TLS and tokens on a line (TCP) and an HTTP listener, and its certificates.
final class TLSE2EDaemon {
    let scratch = DaemonScratch()
    let certificates: TestCertificates
    let daemon: HTTPTestDaemon
    let tcpPort: UInt16

    /// `certificate` and `key` override the set's server files (a test that replaces them).
    init(extra: [String] = [], certificates: TestCertificates? = nil, certificate: String? = nil, key: String? = nil) throws {
        self.certificates = try certificates ?? TestCertificates.make(in: scratch.path)
        daemon = try HTTPTestDaemon([
            "--tcp", "127.0.0.1:0", "--auth-file", AccessTokens.file(scratch),
            "--tls-cert", certificate ?? self.certificates.serverCertificate, "--tls-key", key ?? self.certificates.serverKey,
        ] + extra)
        tcpPort = try #require(DaemonProcess.tcpPort(in: daemon.log), "no TCP port in \(daemon.log)")
    }

    var https: String { "https://localhost:\(daemon.port)" }
    var tcpTarget: String { "127.0.0.1:\(tcpPort)" }

    /// curl over HTTPS trusting the test CA; the status code, or the curl failure.
    func curl(_ path: String, token: String? = nil, method: String = "GET", body: String? = nil, extra: [String] = []) throws -> (status: Int, body: String, curlExit: Int32) {
        var args = ["-o", "/dev/stdout", "-w", "\n%{http_code}", "--cacert", certificates.caCertificate, "-X", method] + extra
        if let token { args += ["-H", "Authorization: Bearer \(token)"] }
        if let body { args += ["-H", "Content-Type: application/json", "--data-binary", body] }
        let result = try daemon.curl(args + [https + path])
        let text = result.out
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"), result.status)
    }

    func paymentsctl(_ arguments: [String], stdin: String? = nil) throws -> DaemonRun {
        try OperatorRun.paymentsctl(["--tcp", tcpTarget, "--cacert", certificates.caCertificate] + arguments, stdin: stdin, in: scratch)
    }
}

/// A TLS client on the line protocol held open by the test, built on PaymentsTLS (tested on
/// its own in PaymentsTLSTests); blocking, every wait limited by socket timeouts.
final class TLSE2EClient {
    let fd: FileDescriptor
    let session: TLSSession
    private var buffered: [UInt8] = []

    init(port: UInt16, caFile: String, host: String = "localhost") throws {
        fd = try Socket.connect(to: try SocketAddress.hostPort("127.0.0.1:\(port)"))
        try fd.setTimeouts(milliseconds: 20_000)
        let context = try TLSContext.client(caFile: caFile)
        do { session = try TLSSession.connectBlocking(fd: fd, context: context, host: host) } catch {
            try? fd.close()
            throw error
        }
    }

    deinit { try? fd.close() }

    func ask(_ line: String) throws -> String {
        try session.writeAll(Array((line + "\n").utf8))
        return try readLine()
    }

    func readLine() throws -> String {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = buffered.firstIndex(of: 0x0A) {
                defer { buffered.removeFirst(newline + 1) }
                return String(decoding: buffered[..<newline], as: UTF8.self)
            }
            let count = try chunk.withUnsafeMutableBytes { try session.readBlocking(into: $0) }
            if count == 0 { throw DaemonTestError("the daemon closed the TLS connection") }
            buffered += chunk[..<count]
        }
    }
}

extension DaemonEndToEnd {
    @Suite(.serialized) struct TLSTests {
        /// Every route over HTTPS with curl, with each role, and the refusals.
        @Test func httpsEveryRouteWithEachRoleThroughCurl() throws {
            let t = try TLSE2EDaemon()
            #expect(try t.curl("/healthz").status == 200)
            #expect(try t.curl("/leader").status == 200)
            let deposit = #"{"type":"deposit","client":4,"tx":40,"amount":"2.5"}"#
            #expect(try t.curl("/transactions", token: AccessTokens.read, method: "POST", body: deposit).status == 403)
            #expect(try t.curl("/transactions", method: "POST", body: deposit).status == 401)
            let posted = try t.curl("/transactions", token: AccessTokens.write, method: "POST", body: deposit)
            #expect(posted.status == 200 && posted.body == #"{"result":"ok"}"#, "\(posted)")
            for path in ["/clients", "/clients/4", "/clients/4/transactions", "/transactions/40", "/metrics"] {
                for token in [AccessTokens.read, AccessTokens.write, AccessTokens.admin] {
                    #expect(try t.curl(path, token: token).status == 200, "GET \(path)")
                }
                #expect(try t.curl(path).status == 401, "GET \(path) without a token")
            }
            #expect(try t.curl("/clients/4", token: AccessTokens.read).body
                == #"{"client":4,"available":"2.5000","held":"0.0000","total":"2.5000","locked":false}"#)
            // Without the CA curl refuses the certificate (exit 60); plain HTTP is told to use https.
            let untrusted = try t.daemon.curl(["-o", "/dev/null", t.https + "/healthz"])
            #expect(untrusted.status == 60, "curl without --cacert: \(untrusted.err)")
            let plain = try t.daemon.curl(["http://127.0.0.1:\(t.daemon.port)/healthz"])
            #expect(plain.out == #"{"error":"plain HTTP sent to an HTTPS port: use https://"}"#, "\(plain.out)")
            let metrics = try t.curl("/metrics", token: AccessTokens.read).body
            #expect(metrics.contains("payments_tls_handshake_failures_total 2"), "the plain request and curl's refusal: \(metrics.split(separator: "\n").filter { $0.contains("tls") })")
            if DaemonRun.toolExists("promtool") {
                // The page with the auth and TLS families (labels with spaces and parentheses) still parses.
                let file = t.scratch.write("metrics.txt", metrics)
                let check = try operatorRun(URL(fileURLWithPath: "/bin/sh"), ["-c", "promtool check metrics < \"$1\"", "sh", file])
                #expect(check.status == 0, "promtool: \(check.stdout) \(check.stderr)")
            }
        }

        /// The line protocol with `openssl s_client` and `socat OPENSSL:` as users type them;
        /// socat sends close_notify right after its last line and still gets every reply.
        @Test func lineProtocolThroughOpensslSClientAndSocat() throws {
            let t = try TLSE2EDaemon()
            let s = try DaemonRun.shell(
                "printf 'AUTH \(AccessTokens.write)\\ndeposit,9,1,1.25\\nGET 9\\nQUIT\\n' | openssl s_client -quiet -connect \(t.tcpTarget) "
                    + "-servername localhost -verify_return_error -CAfile \(t.certificates.caCertificate) 2>/dev/null", in: t.scratch)
            #expect(s.stdout == "OK\nOK\n9,1.2500,0.0000,1.2500,false\nBYE\n", "s_client: \(s.stdout) \(s.stderr)")

            guard DaemonRun.toolExists("socat") else { Issue.record("socat is not installed (.ci/run installs it)"); return }
            let count = 10_000
            var lines = "AUTH \(AccessTokens.write)\n"
            for i in 0..<count { lines += "deposit,\(10 + i % 50),\(100 + i),0.5\n" }
            lines += "GET 10\n"
            let input = t.scratch.write("in.csv", lines)
            let run = try DaemonRun.shell(
                "socat -t 20 - OPENSSL:\(t.tcpTarget),cafile=\(t.certificates.caCertificate),commonname=localhost < \(input)", in: t.scratch)
            let replies = run.stdout.split(separator: "\n")
            #expect(replies.count == count + 2, "every reply arrived after socat's close_notify: \(replies.count) \(run.stderr)")
            #expect(replies.dropLast().allSatisfy { $0 == "OK" })
            #expect(replies.last == "10,100.0000,0.0000,100.0000,false")
        }

        /// paymentsctl --tls with a token file and with $PAYMENTSD_TOKEN; each failure said.
        @Test func paymentsctlOverTLSWithTokens() throws {
            let t = try TLSE2EDaemon()
            let tokenFile = t.scratch.write("token", AccessTokens.write + "\n")
            let input = t.scratch.write("tx.csv", "type,client,tx,amount\ndeposit,5,1,10\nwithdrawal,5,2,3\nwithdrawal,5,3,100\n")
            let sent = try t.paymentsctl(["--token-file", tokenFile, "send", input])
            #expect(sent.status == 0 && sent.stdout == "applied 2, rejected 1, malformed 0\n", "\(sent.stdout) \(sent.stderr)")
            let got = try t.paymentsctl(["--token-file", tokenFile, "get", "5"])
            #expect(got.stdout == "5,7.0000,0.0000,7.0000,false\n", "\(got.stderr)")

            var environment = ProcessInfo.processInfo.environment
            environment["PAYMENTSD_TOKEN"] = AccessTokens.read
            environment["PAYMENTSD_SOCKET"] = nil
            let viaEnvironment = try DaemonRun.run(
                DaemonBinaries.paymentsctl, ["--tcp", t.tcpTarget, "--tls", "--cacert", t.certificates.caCertificate, "get", "5"],
                environment: environment, in: t.scratch)
            #expect(viaEnvironment.stdout == "5,7.0000,0.0000,7.0000,false\n", "\(viaEnvironment.stderr)")

            let noToken = try t.paymentsctl(["get", "5"])
            #expect(noToken.status == 1 && noToken.stderr.contains("auth required"), "\(noToken.stderr)")
            let wrongToken = try t.paymentsctl(["--token-file", t.scratch.write("bad", "nope\n"), "ping"])
            #expect(wrongToken.status == 1 && wrongToken.stderr.contains("the token was refused"), "\(wrongToken.stderr)")
            let forbidden = try t.paymentsctl(["--token-file", t.scratch.write("r", AccessTokens.read + "\n"), "sync"])
            #expect(forbidden.status == 1 && forbidden.stderr.contains("forbidden"), "\(forbidden.stderr)")
            let stranger = try TestCertificates.make(in: t.scratch.path, prefix: "x-", caName: "another CA")
            let untrusted = try OperatorRun.paymentsctl(["--tcp", t.tcpTarget, "--cacert", stranger.caCertificate, "--token-file", tokenFile, "ping"], in: t.scratch)
            #expect(untrusted.status == 1 && untrusted.stderr.contains("certificate verify failed"), "\(untrusted.stderr)")
            let noTLS = try OperatorRun.paymentsctl(["--tcp", t.tcpTarget, "--token-file", tokenFile, "ping"], in: t.scratch)
            #expect(noTLS.status == 1 && noTLS.stderr.contains("add --tls"), "\(noTLS.stderr)")
        }

        /// `--tls-client-ca`: a client certificate from that CA is required; curl and
        /// paymentsctl with one are served, without one the handshake fails.
        @Test func clientCertificatesRequiredAndMissing() throws {
            let scratch = DaemonScratch()
            let certificates = try TestCertificates.make(in: scratch.path)
            let t = try TLSE2EDaemon(extra: ["--tls-client-ca", certificates.caCertificate], certificates: certificates)
            let with = try t.curl("/clients", token: AccessTokens.read, extra: ["--cert", certificates.clientCertificate, "--key", certificates.clientKey])
            #expect(with.status == 200, "\(with)")
            let without = try t.curl("/clients", token: AccessTokens.read)
            #expect(without.curlExit != 0 && without.status == 0, "no response without a client certificate: \(without)")
            let tokenFile = t.scratch.write("token", AccessTokens.read + "\n")
            let ctl = try t.paymentsctl(["--cert", certificates.clientCertificate, "--key", certificates.clientKey, "--token-file", tokenFile, "ping"])
            #expect(ctl.status == 0 && ctl.stdout == "PONG\n", "\(ctl.stderr)")
            let ctlWithout = try t.paymentsctl(["--token-file", tokenFile, "ping"])
            #expect(ctlWithout.status == 1, "\(ctlWithout.stdout)")
        }

        /// SIGHUP swaps the certificate: the client connected before goes on, new clients get
        /// the new certificate (and the old CA no longer verifies it).
        @Test func sighupReloadsTheCertificateWhileAClientStaysConnected() throws {
            let scratch = DaemonScratch()
            let first = try TestCertificates.make(in: scratch.path, prefix: "a-", caName: "CA one")
            let second = try TestCertificates.make(in: scratch.path, prefix: "b-", caName: "CA two")
            let certificate = scratch.file("live.pem"), key = scratch.file("live.key")
            try FileManager.default.copyItem(atPath: first.serverCertificate, toPath: certificate)
            try FileManager.default.copyItem(atPath: first.serverKey, toPath: key)
            let t = try TLSE2EDaemon(certificates: first, certificate: certificate, key: key)
            let connected = try TLSE2EClient(port: t.tcpPort, caFile: first.caCertificate)
            #expect(try connected.ask("AUTH \(AccessTokens.write)") == "OK")
            #expect(try connected.ask("deposit,1,1,1") == "OK")

            for (from, to) in [(second.serverCertificate, certificate), (second.serverKey, key)] {
                try FileManager.default.removeItem(atPath: to)
                try FileManager.default.copyItem(atPath: from, toPath: to)
            }
            t.daemon.process?.signal(SIGHUP)
            try operatorWait("the certificate reload is logged") { t.daemon.log.contains("TLS certificate \(certificate) and key reloaded") }

            #expect(try connected.ask("deposit,1,2,1") == "OK", "the connection made before the reload goes on")
            #expect(throws: TLSError.self, "the old CA does not verify the new certificate") { _ = try TLSE2EClient(port: t.tcpPort, caFile: first.caCertificate) }
            let fresh = try TLSE2EClient(port: t.tcpPort, caFile: second.caCertificate)
            #expect(try fresh.ask("AUTH \(AccessTokens.read)") == "OK")
            #expect(try fresh.ask("GET 1") == "1,2.0000,0.0000,2.0000,false")

            // A reload that fails (a key that does not match) keeps the certificate in force.
            try FileManager.default.removeItem(atPath: key)
            try FileManager.default.copyItem(atPath: first.serverKey, toPath: key)
            t.daemon.process?.signal(SIGHUP)
            try operatorWait("the refused reload is logged") { t.daemon.log.contains("the certificate loaded before stays in force") }
            #expect(try TLSE2EClient(port: t.tcpPort, caFile: second.caCertificate).ask("AUTH \(AccessTokens.read)") == "OK")
            #expect(try connected.ask("GET 1") == "1,2.0000,0.0000,2.0000,false")
        }

        /// A client that starts a handshake and stalls holds nobody up, and is dropped at the
        /// handshake timeout; one that speaks plain text to the TLS port is told so.
        @Test func aStalledHandshakeIsHeldWhileOthersAreServedThenDropped() throws {
            let t = try TLSE2EDaemon(extra: ["--tls-handshake-timeout", "2"])
            let tcp = try SocketAddress.hostPort(t.tcpTarget)
            let stalled = try DaemonClient(tcp)
            try stalled.send([0x16, 0x03, 0x01, 0x00])  // the start of a ClientHello, then nothing
            let served = try TLSE2EClient(port: t.tcpPort, caFile: t.certificates.caCertificate)
            #expect(try served.ask("AUTH \(AccessTokens.read)") == "OK")
            #expect(try served.ask("PING") == "PONG", "served while the other handshake stalls")
            #expect(try stalled.readToEnd() == "", "the stalled handshake is closed by the daemon (within the socket's 60 s limit)")
            let metrics = try t.curl("/metrics", token: AccessTokens.read).body
            #expect(metrics.contains("payments_tls_handshake_timeouts_total 1"), "\(metrics.split(separator: "\n").filter { $0.contains("tls") })")

            let plain = try DaemonClient(tcp)
            #expect(try plain.ask("PING") == "ERR this port speaks TLS: connect with TLS (paymentsctl --tls, socat OPENSSL:)")
            #expect(try served.ask("PING") == "PONG")
        }

        /// The change stream over TLS with a token: FOLLOW on the line protocol, and curl -N on
        /// /events, each line as §10 prints it; a token is needed for both.
        @Test func theChangeStreamOverTLS() throws {
            let t = try TLSE2EDaemon()
            let writer = try TLSE2EClient(port: t.tcpPort, caFile: t.certificates.caCertificate)
            #expect(try writer.ask("AUTH \(AccessTokens.write)") == "OK")
            #expect(try writer.ask("deposit,3,1,2.5") == "OK")
            #expect(try writer.ask("withdrawal,3,2,4") == "REJECTED insufficient funds")
            let first = #"{"lsn":1,"type":"deposit","client":3,"tx":1,"amount":"2.5000","outcome":"ok","account":{"client":3,"available":"2.5000","held":"0.0000","total":"2.5000","locked":false}}"#
            let second = #"{"lsn":2,"type":"withdrawal","client":3,"tx":2,"amount":"4.0000","outcome":"rejected","reason":"insufficient funds","account":{"client":3,"available":"2.5000","held":"0.0000","total":"2.5000","locked":false}}"#

            let follower = try TLSE2EClient(port: t.tcpPort, caFile: t.certificates.caCertificate)
            #expect(try follower.ask("FOLLOW 1") == "ERR auth required")
            #expect(try follower.ask("AUTH \(AccessTokens.read)") == "OK")
            #expect(try follower.ask("FOLLOW 1") == first)
            #expect(try follower.readLine() == second)
            #expect(try writer.ask("deposit,3,3,1") == "OK")
            #expect(try follower.readLine().hasPrefix(#"{"lsn":3,"type":"deposit""#), "a new record arrives on the open stream")

            // curl -N ends at its --max-time (exit 28) with what it received.
            let events = try t.daemon.curl(["-N", "--max-time", "2", "--cacert", t.certificates.caCertificate,
                                            "-H", "Authorization: Bearer \(AccessTokens.read)", t.https + "/events?from=1"])
            #expect(events.out.split(separator: "\n").prefix(2).map(String.init) == [first, second], "\(events.out) \(events.err)")
            #expect(try t.curl("/events?from=1").status == 401)
        }

        /// TLS 1.2 and 1.3 are served; a client that offers only 1.1 is refused with the
        /// protocol_version alert (its security level lowered so that it may offer 1.1 at all).
        @Test func tls12And13AreServedAnd11IsRefused() throws {
            let t = try TLSE2EDaemon()
            for version in ["-tls1_2", "-tls1_3", "-tls1_1"] {
                let run = try DaemonRun.shell(
                    "printf 'AUTH \(AccessTokens.read)\\nPING\\nQUIT\\n' | openssl s_client -quiet \(version) -cipher 'DEFAULT:@SECLEVEL=0' "
                        + "-connect \(t.tcpTarget) -CAfile \(t.certificates.caCertificate) 2>&1", in: t.scratch)
                if version == "-tls1_1" {
                    #expect(!run.stdout.contains("PONG") && run.stdout.contains("protocol version"), "TLS 1.1: \(run.stdout)")
                } else {
                    #expect(run.stdout.hasSuffix("OK\nPONG\nBYE\n"), "\(version): \(run.stdout)")
                }
            }
        }

        /// A TLS client on a plain port fails its handshake without harming the daemon.
        @Test func aTLSClientOnAPlainPortFailsCleanly() throws {
            let scratch = DaemonScratch()
            let certificates = try TestCertificates.make(in: scratch.path)
            let d = try DaemonProcess(in: scratch)
            #expect(throws: TLSError.self) { _ = try TLSE2EClient(port: d.tcpPort, caFile: certificates.caCertificate) }
            #expect(try DaemonClient(d.tcpAddress).ask("PING") == "PONG")
        }

        /// Bad TLS files are refused at start, exit 2, naming the files.
        @Test func badCertificatesAndKeysAreRefusedAtStart() throws {
            let scratch = DaemonScratch()
            let c = try TestCertificates.make(in: scratch.path)
            func start(_ flags: [String]) throws -> DaemonRun {
                try operatorRun(DaemonBinaries.paymentsd, ["--data-dir", scratch.file("d"), "--unix", scratch.file("s.sock"), "--tcp", "127.0.0.1:0"] + flags)
            }
            let mismatch = try start(["--tls-cert", c.serverCertificate, "--tls-key", c.clientKey])
            #expect(mismatch.status == 2 && mismatch.stderr.contains(c.clientKey) && mismatch.stderr.contains(c.serverCertificate)
                && mismatch.stderr.contains("does not match"), "\(mismatch.stderr)")
            let missing = try start(["--tls-cert", c.serverCertificate, "--tls-key", scratch.file("absent.key")])
            #expect(missing.status == 2 && missing.stderr.contains(scratch.file("absent.key")), "\(missing.stderr)")
            let notPEM = try start(["--tls-cert", scratch.write("junk.pem", "not a certificate\n"), "--tls-key", c.serverKey])
            #expect(notPEM.status == 2 && notPEM.stderr.contains("junk.pem"), "\(notPEM.stderr)")
            let half = try start(["--tls-cert", c.serverCertificate])
            #expect(half.status == 2 && half.stderr.contains("--tls-cert and --tls-key go together"), "\(half.stderr)")
        }
    }
}
