import Foundation
import Glibc
import PaymentsCore
import PaymentsFormat
import PaymentsPlatform
import Testing

/// The daemon's side of the change stream (SPEC §10): `FOLLOW` over the line protocol and
/// `GET /events` over HTTP, against the rules applied in-process, across stops, SIGKILL,
/// snapshots, and a follower that never reads.
extension DaemonEndToEnd {
    @Suite struct ChangeStreamTests {
        /// The stream the daemon should send for `lines`: one JSON line per well-formed
        /// transaction, numbered from 1, with the outcome and account the rules give.
        static func expectedStream(_ lines: [String]) -> [String] {
            let engine = Engine()
            var out: [String] = []
            var bytes: [UInt8] = []
            for line in lines {
                guard case .transaction(let t) = TransactionLine.parse(line) else { continue }
                let outcome = engine.apply(t)
                bytes.removeAll(keepingCapacity: true)
                let effect = TransactionRecord.Effect(outcome: outcome, account: engine.ledger.account(t.client))
                ChangeText.appendJSON(lsn: UInt64(out.count + 1), t, effect, to: &bytes)
                bytes.removeLast()
                out.append(String(decoding: bytes, as: UTF8.self))
            }
            return out
        }

        /// `"lsn":N` of a stream line.
        static func lsn(of line: String) -> UInt64? {
            guard let r = line.range(of: #"{"lsn":"#) else { return nil }
            return UInt64(line[r.upperBound...].prefix { $0.isNumber })
        }

        /// Sends a file with `paymentsctl send` on a thread of its own; the result when it ends.
        final class Sender: @unchecked Sendable {
            private let done = DispatchSemaphore(value: 0)
            private var result: Result<DaemonRun, Error>?

            init(_ daemon: DaemonProcess, file: String, scratch: DaemonScratch) {
                let socket = daemon.socketPath
                DispatchQueue.global().async {
                    self.result = Result {
                        try DaemonRun.run(DaemonBinaries.paymentsctl, ["--unix", socket, "send", file], timeoutSeconds: 300, in: scratch)
                    }
                    self.done.signal()
                }
            }

            func wait(seconds: Int = 300) throws -> DaemonRun {
                guard done.wait(timeout: .now() + .seconds(seconds)) == .success else {
                    throw DaemonTestError("paymentsctl send did not finish within \(seconds) s")
                }
                return try result!.get()
            }
        }

        @Test func followFromZeroWhileLinesStreamInMatchesTheRules() throws {
            let scratch = DaemonScratch()
            let lines = DaemonStream.generate(count: 200_000, seed: 0xF0110, clients: 1...500)
            let expected = Self.expectedStream(lines)
            let file = scratch.write("stream.csv", lines.joined(separator: "\n") + "\n")
            let daemon = try DaemonProcess(in: scratch)
            let follower = try DaemonClient(daemon.unixAddress)
            try follower.send("FOLLOW 0\n")
            let late = try DaemonClient(daemon.unixAddress)
            let sender = Sender(daemon, file: file, scratch: scratch)
            // A second follower joins while the lines stream in, from a snapshot.
            var received = 0
            while received < expected.count {
                let line = try follower.expectLine()
                #expect(line == expected[received], "line \(received + 1)")
                if line != expected[received] { break }
                received += 1
                if received == 50_000 { try late.send("FOLLOW SNAPSHOT\n") }
            }
            let run = try sender.wait()
            #expect(run.status == 0, "\(run.stderr)")
            // The snapshot follower: every account at L, then L+1... through the end.
            let reference = DaemonReference()
            var snapshotLSN: UInt64?
            var accounts: [String] = []
            var line = try late.expectLine()
            while line.contains(#""snapshot":true"#) {
                let l = Self.lsn(of: line)
                #expect(snapshotLSN == nil || snapshotLSN == l)
                snapshotLSN = l
                accounts.append(line)
                line = try late.expectLine()
            }
            let at = try #require(snapshotLSN ?? Self.lsn(of: line).map { $0 - 1 })
            var applied: UInt64 = 0
            for l in lines where applied < at { if reference.apply(l) != nil { applied += 1 } }
            var want: [String] = []
            reference.engine.ledger.forEachAccount { a in
                var b: [UInt8] = []
                ChangeText.appendSnapshotJSON(lsn: at, a, to: &b)
                want.append(String(decoding: b.dropLast(), as: UTF8.self))
            }
            #expect(accounts == want, "the snapshot at \(at) is the rules' state after \(at) transactions")
            var next = Int(at)
            while next < expected.count {
                #expect(line == expected[next], "snapshot follower, record \(next + 1)")
                if line != expected[next] { break }
                next += 1
                if next < expected.count { line = try late.expectLine() }
            }
            let stats = daemonStats(try DaemonClient(daemon.unixAddress).ask("STATS"))
            #expect(stats["followers"] == "2")
            #expect(daemon.terminate() == 0)
        }

        @Test func resumeAfterAStopAndAfterSIGKILLHasNoGapAndNoDuplicate() throws {
            let scratch = DaemonScratch()
            let first = DaemonStream.generate(count: 20_000, seed: 0xAB, clients: 1...100)
            let second = DaemonStream.generate(count: 60_000, seed: 0xCD, clients: 1...100, firstTx: 10_000_000)
            let expected = Self.expectedStream(first + second)
            var daemon = try DaemonProcess(in: scratch)
            let run = try DaemonRun.run(
                DaemonBinaries.paymentsctl, ["--unix", daemon.socketPath, "send", scratch.write("a.csv", first.joined(separator: "\n") + "\n")],
                in: scratch)
            #expect(run.status == 0)
            var seen: [String] = []
            // Stop reading part-way: close the follower, then resume after the last line printed.
            do {
                let a = try DaemonClient(daemon.unixAddress)
                try a.send("FOLLOW 0\n")
                for _ in 0..<7_777 { seen.append(try a.expectLine()) }
                a.close()
            }
            let b = try DaemonClient(daemon.unixAddress)
            try b.send("FOLLOW \(seen.count + 1)\n")
            let sender = Sender(daemon, file: scratch.write("b.csv", second.joined(separator: "\n") + "\n"), scratch: scratch)
            // Kill the daemon in the middle of the second file's ingest.
            while seen.count < expected.count - second.count / 2 { seen.append(try b.expectLine()) }
            daemon.crash()
            _ = try? sender.wait()
            while let line = try b.line() { seen.append(line) }  // what was sent before the kill
            daemon = try DaemonProcess(in: scratch)
            let last = Int(try #require(daemonStats(try DaemonClient(daemon.unixAddress).ask("STATS"))["last_lsn"].flatMap { Int($0) }))
            #expect(last >= seen.count, "every line streamed was durable: the restart keeps it")
            let c = try DaemonClient(daemon.unixAddress)
            try c.send("FOLLOW \(seen.count + 1)\n")
            while seen.count < last { seen.append(try c.expectLine()) }
            for (i, line) in seen.enumerated() where line != expected[i] {
                Issue.record("record \(i + 1): got \(line), expected \(expected[i])")
                break
            }
            #expect(seen.map { Self.lsn(of: $0) } == (1...UInt64(last)).map { $0 }, "no gap, no duplicate")
            #expect(daemon.terminate() == 0)
        }

        @Test func aFollowerThatNeverReadsDoesNotGrowTheDaemon() throws {
            let scratch = DaemonScratch()
            let lines = DaemonStream.generate(count: 1_000_000, seed: 0x5107, clients: 1...1000)
            let file = scratch.write("stream.csv", lines.joined(separator: "\n") + "\n")
            // The same ingest without a follower first: the memory the state itself takes.
            let alone = try DaemonProcess(dataDirectory: scratch.file("alone"), socketPath: scratch.file("a.sock"))
            #expect(try Sender(alone, file: file, scratch: scratch).wait().status == 0)
            let baseline = try #require(alone.residentKiB())
            #expect(alone.terminate() == 0)
            let daemon = try DaemonProcess(in: scratch)
            let follower = try DaemonClient(daemon.unixAddress)
            var small: Int32 = 4096
            setsockopt(follower.fd.rawValue, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            try follower.send("FOLLOW 0\n")
            #expect(try Sender(daemon, file: file, scratch: scratch).wait().status == 0)
            let rss = try #require(daemon.residentKiB())
            let stats = daemonStats(try DaemonClient(daemon.unixAddress).ask("STATS"))
            let streamed = Int(stats["streamed"] ?? "") ?? -1
            let last = Int(stats["last_lsn"] ?? "") ?? 0
            print("follower never read: RSS \(rss) KiB, the same ingest alone \(baseline) KiB; streamed \(streamed) of \(last)")
            #expect(stats["followers"] == "1")
            #expect(streamed >= 0 && streamed < 50_000, "the stream paused: \(streamed) lines rendered of \(last)")
            #expect(rss < baseline + 32 * 1024, "RSS \(rss) KiB against \(baseline) KiB without a follower")
            // It resumes where it stopped: every record, in order.
            var expectedLSN: UInt64 = 1
            while expectedLSN <= UInt64(last) {
                let line = try follower.expectLine()
                guard Self.lsn(of: line) == expectedLSN else {
                    Issue.record("expected record \(expectedLSN), got \(line.prefix(80))")
                    break
                }
                expectedLSN += 1
            }
            #expect(daemon.terminate() == 0)
        }

        @Test func lsnGoneAfterSnapshotsOverBothProtocols() throws {
            guard DaemonRun.toolExists("curl") else { Issue.record("curl is needed"); return }
            let scratch = DaemonScratch()
            let lines = DaemonStream.generate(count: 30_000, seed: 0x601E, clients: 1...200)
            let expected = Self.expectedStream(lines)
            let daemon = try DaemonProcess(
                in: scratch, extra: ["--segment-bytes", "65536", "--snapshot-bytes", "131072", "--http", "127.0.0.1:0"])
            let run = try DaemonRun.run(
                DaemonBinaries.paymentsctl, ["--unix", daemon.socketPath, "send", scratch.write("s.csv", lines.joined(separator: "\n") + "\n")],
                in: scratch)
            #expect(run.status == 0)
            let client = try DaemonClient(daemon.unixAddress)
            #expect(try client.ask("SYNC") == "OK")
            let stats = daemonStats(try client.ask("STATS"))
            #expect(Int(stats["snapshots"] ?? "") ?? 0 >= 2, "\(stats)")
            let reply = try client.ask("FOLLOW 1")
            let prefix = "ERR lsn gone: oldest is "
            #expect(reply.hasPrefix(prefix), "\(reply)")
            let oldest = try #require(Int(reply.dropFirst(prefix.count)))
            #expect(oldest > 1 && oldest <= expected.count)
            #expect(try client.ask("PING") == "PONG", "the connection stays usable after the refusal")
            let resumed = try DaemonClient(daemon.unixAddress)
            try resumed.send("FOLLOW \(oldest)\n")
            for i in (oldest - 1)..<expected.count { #expect(try resumed.expectLine() == expected[i]) }
            // HTTP: 410 for the same LSN, the same lines from the oldest kept.
            let port = try #require(Self.httpPort(in: daemon.log))
            let gone = try DaemonRun.run(
                URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/events?from=1"],
                in: scratch)
            #expect(gone.stdout == "410")
            let streamed = try DaemonRun.run(
                URL(fileURLWithPath: "/usr/bin/curl"), ["-sN", "--max-time", "3", "http://127.0.0.1:\(port)/events?from=\(oldest)"],
                in: scratch)
            let body = streamed.stdout.split(separator: "\n").map(String.init)
            #expect(body == Array(expected[(oldest - 1)...]), "curl -N got \(body.count) lines")
            #expect(daemon.terminate() == 0)
        }

        static func httpPort(in log: String) -> UInt16? {
            for line in log.split(separator: "\n") {
                guard let r = line.range(of: "listening on 127.0.0.1:"), line.hasSuffix(" (http)") else { continue }
                return UInt16(line[r.upperBound...].prefix { $0.isNumber })
            }
            return nil
        }
    }
}
