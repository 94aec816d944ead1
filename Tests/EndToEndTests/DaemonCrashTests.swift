import Foundation
import PaymentsTestSupport
import Glibc
import PaymentsCore
import PaymentsFormat
import PaymentsPlatform
import Testing

/// Durability (SPEC §5): stops, crashes, restarts, damage, and the lock on the data directory.
extension DaemonEndToEnd {
    @Suite struct CrashTests {
        /// SIGKILL at random moments while one client pipelines a generated stream. After each
        /// restart the DUMP must equal the rules applied to some prefix of what was sent that
        /// holds every acknowledged line, and every reply must have been the right one. The data
        /// directory lives on across rounds, with small segments and frequent snapshots so that
        /// crashes land during roll-overs and snapshots too.
        @Test func sigkillAtRandomMomentsOfPipelinedIngest() throws {
            let rounds = 30
            let seed = UInt64.random(in: 0...UInt64.max)
            var rng = DaemonRandom(seed: seed)
            print("daemon crash test seed \(seed)")
            let scratch = DaemonScratch()
            let reference = DaemonReference()
            var pending: (lines: [String], replies: [String])? = nil
            var totalAcknowledged = 0
            for round in 0...rounds {
                let fsync = round % 6 == 5 ? "periodic" : round % 8 == 7 ? "never" : "always"
                let daemon = try DaemonProcess(
                    in: scratch, fsync: fsync, extra: ["--segment-bytes", "65536", "--snapshot-bytes", "262144"])
                let dump = try DaemonClient(daemon.unixAddress).askBlock("DUMP")
                if let (lines, replies) = pending {
                    let p = try Self.matchPrefix(reference, lines: lines, replies: replies, dump: dump)
                    print("crash round \(round): sent \(lines.count), acknowledged \(replies.count), state is the first \(p)")
                } else {
                    #expect(dump == ["client,available,held,total,locked"])
                }
                guard round < rounds else {
                    #expect(daemon.terminate() == 0)
                    break
                }
                let count = Int.random(in: 2_000...25_000, using: &rng)
                let lines = DaemonStream.generate(
                    count: count, seed: rng.next(), clients: 1...400, firstTx: UInt32(round + 1) * 1_000_000)
                let killAfterReplies = round % 2 == 0 ? Int.random(in: 0..<count, using: &rng) : nil
                let killAfterMicroseconds = UInt32.random(in: 0...150_000, using: &rng)
                let replies = try Self.pipelineAndKill(
                    daemon, lines, afterReplies: killAfterReplies, afterMicroseconds: killAfterMicroseconds)
                totalAcknowledged += replies.count
                pending = (lines, replies)
            }
            #expect(totalAcknowledged > 0)
            let verify = try DaemonRun.run(DaemonBinaries.paymentsd, ["verify", "--data-dir", scratch.file("data")], in: scratch)
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        }

        /// Sends `lines` on one connection from a second thread while reading replies; kills the
        /// daemon after `afterReplies` replies or, when nil, `afterMicroseconds` after the start.
        /// Returns every complete reply line received, the ones that arrived after the kill too.
        static func pipelineAndKill(
            _ daemon: DaemonProcess, _ lines: [String], afterReplies: Int?, afterMicroseconds: UInt32
        ) throws -> [String] {
            let client = try DaemonClient(daemon.unixAddress)
            let payload = Array((lines.joined(separator: "\n") + "\n").utf8)
            let sender = DaemonBackground {
                var offset = 0
                while offset < payload.count {
                    let end = min(payload.count, offset + 16_384)
                    do { try client.send(Array(payload[offset..<end])) } catch { return }  // the daemon died
                    offset = end
                }
                try? client.shutdownWrite()
            }
            var killer: DaemonBackground? = nil
            if afterReplies == nil {
                killer = DaemonBackground {
                    usleep(afterMicroseconds)
                    kill(daemon.pid, SIGKILL)
                }
            }
            var replies: [String] = []
            while let reply = try client.line() {
                replies.append(reply)
                if replies.count == afterReplies { kill(daemon.pid, SIGKILL) }
            }
            try killer?.wait()
            daemon.crash()
            try sender.wait()
            client.close()
            return replies
        }

        /// Advances `reference` through `lines` and returns the length of the first prefix that
        /// holds every acknowledged line and whose accounts equal `dump`. Checks each reply too.
        static func matchPrefix(_ reference: DaemonReference, lines: [String], replies: [String], dump: [String]) throws -> Int {
            #expect(replies.count <= lines.count)
            var target: [ClientID: String] = [:]
            for row in dump.dropFirst() {
                guard let c = row.split(separator: ",").first.flatMap({ ClientID($0) }) else {
                    throw DaemonTestError("bad DUMP row \(row)")
                }
                target[c] = row
            }
            #expect(dump.first == "client,available,held,total,locked")
            var wrongReplies = 0
            for (i, line) in lines.prefix(replies.count).enumerated() {
                let expected: String
                switch reference.apply(line) {
                case .applied?: expected = "OK"
                case .rejected(let r)?: expected = "REJECTED \(r.reason)"
                case nil: expected = "ERR"
                }
                let got = expected == "ERR" ? String(replies[i].prefix(3)) : replies[i]
                if got != expected {
                    wrongReplies += 1
                    if wrongReplies < 5 { Issue.record("line \(i) \(line): reply \(replies[i]), expected \(expected)") }
                }
            }
            var mismatched = Set<ClientID>()
            for row in reference.dump.dropFirst() {
                let c = ClientID(row.split(separator: ",")[0])!
                if target[c] != row { mismatched.insert(c) }
            }
            for c in target.keys where reference.row(c) == nil { mismatched.insert(c) }
            var p = replies.count
            while !mismatched.isEmpty {
                guard p < lines.count else {
                    Issue.record("no prefix of the \(lines.count) lines sent (\(replies.count) acknowledged) gives the recovered accounts; e.g. client \(mismatched.first!): recovered \(target[mismatched.first!] ?? "none"), after all lines \(reference.row(mismatched.first!) ?? "none")")
                    throw DaemonTestError("recovered state is not a prefix")
                }
                if case .transaction(let t) = TransactionLine.parse(lines[p]) {
                    reference.engine.apply(t)
                    if reference.row(t.client) == target[t.client] { mismatched.remove(t.client) } else { mismatched.insert(t.client) }
                }
                p += 1
            }
            return p
        }

        /// SIGTERM answers, syncs, snapshots and exits 0, removing its socket; a restart shows
        /// the same accounts, transactions, histories and counters.
        @Test func sigtermThenRestartGivesSameState() throws {
            let scratch = DaemonScratch()
            let lines = DaemonStream.generate(count: 20_000, seed: 7, clients: 1...300)
            var daemon = try DaemonProcess(in: scratch)
            let client = try DaemonClient(daemon.unixAddress)
            let sender = DaemonBackground {
                try client.send(lines.joined(separator: "\n") + "\n")
                try client.shutdownWrite()
            }
            let replies = try client.readToEnd().split(separator: "\n")
            try sender.wait()
            #expect(replies.count == lines.count)
            func state(_ d: DaemonProcess) throws -> [String] {
                let c = try DaemonClient(d.tcpAddress)
                var out = try c.askBlock("DUMP") + c.askBlock("DUMP JSON")
                for client in [1, 17, 150, 299] { out += try c.askBlock("HISTORY \(client)") }
                for tx in [1, 2, 500, 9_999, 20_000] { out.append(try c.ask("TX \(tx)")) }
                let stats = daemonStats(try c.ask("STATS"))
                out += ["applied=\(stats["applied"] ?? "?")", "rejected=\(stats["rejected"] ?? "?")", "clients=\(stats["clients"] ?? "?")"]
                return out
            }
            let before = try state(daemon)
            #expect(Array(before.prefix(while: { !$0.hasPrefix("{") })) == DaemonReference.dump(of: lines))
            #expect(daemon.terminate() == 0, "\(daemon.log)")
            #expect(!FileManager.default.fileExists(atPath: daemon.socketPath), "the socket file was left behind")
            #expect(daemon.log.contains("snapshot"), "\(daemon.log)")
            // One log line per event, never one per transaction.
            #expect(daemon.log.split(separator: "\n").count < 20, "\(daemon.log)")
            daemon = try DaemonProcess(in: scratch)
            #expect(try state(daemon) == before)
            #expect(daemon.terminate() == 0)
        }

        /// SIGTERM in the middle of a pipelined stream: the daemon answers what it received,
        /// exits 0, and after a restart holds a prefix of the stream with every answered line.
        @Test func sigtermDuringPipelinedIngest() throws {
            let scratch = DaemonScratch()
            let lines = DaemonStream.generate(count: 150_000, seed: 99, clients: 1...1_000)
            var daemon = try DaemonProcess(in: scratch)
            let client = try DaemonClient(daemon.unixAddress)
            let payload = Array((lines.joined(separator: "\n") + "\n").utf8)
            let sender = DaemonBackground {
                var offset = 0
                while offset < payload.count {
                    let end = min(payload.count, offset + 16_384)
                    do { try client.send(Array(payload[offset..<end])) } catch { return }
                    offset = end
                }
                try? client.shutdownWrite()
            }
            var replies: [String] = []
            while let reply = try client.line() {
                replies.append(reply)
                if replies.count == 5_000 { kill(daemon.pid, SIGTERM) }
            }
            try sender.wait()
            daemon.process.waitUntilExit()
            #expect(daemon.process.terminationStatus == 0, "\(daemon.log)")
            #expect(replies.count >= 5_000)
            daemon = try DaemonProcess(in: scratch)
            let dump = try DaemonClient(daemon.unixAddress).askBlock("DUMP")
            let p = try Self.matchPrefix(DaemonReference(), lines: lines, replies: replies, dump: dump)
            print("SIGTERM after 5000 replies: \(replies.count) answered, state is the first \(p) of \(lines.count)")
            #expect(daemon.terminate() == 0)
        }

        /// SIGTERM with a connected client that never reads: the daemon does not wait for it
        /// forever (its grace period is 10 s), and still stops cleanly with a snapshot.
        @Test func sigtermWithAClientThatNeverReads() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let loader = try DaemonClient(daemon.unixAddress)
            try loader.send((1...3_000).map { "deposit,\($0),\($0),1" }.joined(separator: "\n") + "\nSYNC\n")
            for _ in 0...3_000 { _ = try loader.expectLine() }
            let greedy = try Socket.connect(to: daemon.unixAddress, nonBlocking: true)
            defer { try? greedy.close() }
            let request = Array(String(repeating: "DUMP\n", count: 1_000).utf8)
            for _ in 0..<50 {
                if request.withUnsafeBytes({ raw in (try? greedy.sendOnce(raw)) ?? 0 }) == 0 { usleep(20_000) }
            }
            #expect(daemon.terminate() == 0, "\(daemon.log)")
            #expect(daemon.log.contains("did not finish"), "\(daemon.log)")
            let again = try DaemonProcess(in: scratch)
            #expect(try DaemonClient(again.unixAddress).ask("GET 3000") == "3000,1.0000,0.0000,1.0000,false")
        }

        /// Under `periodic` and `never` a reply may leave before the sync but never before the
        /// write: a crash of the process alone loses nothing acknowledged. `SYNC` answers OK.
        @Test(arguments: ["periodic", "never"])
        func relaxedPoliciesLoseNothingOnACrash(_ policy: String) throws {
            let scratch = DaemonScratch()
            var daemon = try DaemonProcess(in: scratch, fsync: policy)
            let client = try DaemonClient(daemon.unixAddress)
            let lines = DaemonStream.generate(count: 5_000, seed: 5, clients: 1...100)
            let sender = DaemonBackground { try client.send(lines.joined(separator: "\n") + "\n") }
            for _ in lines { _ = try client.expectLine() }
            try sender.wait()
            #expect(try client.ask("SYNC") == "OK")
            #expect(try client.ask("deposit,1,999999,1") == "OK")  // acknowledged, maybe not synced
            daemon.crash()
            daemon = try DaemonProcess(in: scratch, fsync: policy)
            #expect(try DaemonClient(daemon.unixAddress).askBlock("DUMP") == DaemonReference.dump(of: lines + ["deposit,1,999999,1"]))
        }

        /// A second daemon on the same data directory refuses to start, with a clear message;
        /// the first goes on. A second daemon on a live socket refuses too.
        @Test func twoDaemonsOnOneDataDirectory() throws {
            let scratch = DaemonScratch()
            let first = try DaemonProcess(in: scratch)
            #expect(try DaemonClient(first.unixAddress).ask("deposit,1,1,1") == "OK")
            let second = try DaemonRun.run(
                DaemonBinaries.paymentsd,
                ["--data-dir", first.dataDirectory, "--unix", scratch.file("other.sock"), "--tcp", "127.0.0.1:0"], in: scratch)
            #expect(second.status != 0)
            #expect(second.stderr.contains("in use"), "\(second.stderr)")
            #expect(second.stderr.contains(first.dataDirectory), "\(second.stderr)")
            let third = try DaemonRun.run(
                DaemonBinaries.paymentsd, ["--data-dir", scratch.file("data2"), "--unix", first.socketPath], in: scratch)
            #expect(third.status != 0)
            #expect(third.stderr.contains(first.socketPath), "\(third.stderr)")
            #expect(try DaemonClient(first.unixAddress).ask("GET 1") == "1,1.0000,0.0000,1.0000,false")
            #expect(first.terminate() == 0)
        }

        /// `paymentsd verify`: clean after a stop; a torn tail is reported (2) and cut with a
        /// warning at the next start; damage followed by good records is refused (1), and the
        /// daemon will not start on it.
        @Test func verifyAndDamagedJournals() throws {
            let scratch = DaemonScratch()
            var daemon = try DaemonProcess(in: scratch)
            let lines = (1...3_000).map { "deposit,\($0 % 50 + 1),\($0),1" }
            let client = try DaemonClient(daemon.unixAddress)
            let sender = DaemonBackground { try client.send(lines.joined(separator: "\n") + "\n") }
            for _ in lines { #expect(try client.expectLine() == "OK") }
            try sender.wait()
            daemon.crash()  // no final snapshot: every record stays in the journal
            let data = daemon.dataDirectory
            func verify() throws -> DaemonRun { try DaemonRun.run(DaemonBinaries.paymentsd, ["verify", "--data-dir", data], in: scratch) }
            #expect(try verify().status == 0)

            let segments = try FileManager.default.contentsOfDirectory(atPath: data).filter { $0.hasSuffix(".seg") }.sorted()
            let segment = data + "/" + segments.last!
            let handle = FileHandle(forUpdatingAtPath: segment)!
            let size = try handle.seekToEnd()
            handle.write(Data([0x10, 0x00, 0x00, 0x00, 0xAB, 0xCD]))  // a record that never finished
            try handle.close()
            let torn = try verify()
            #expect(torn.status == 2, "\(torn.stdout)\(torn.stderr)")
            daemon = try DaemonProcess(in: scratch)
            #expect(daemon.log.contains("6 bytes"), "\(daemon.log)")
            #expect(try DaemonClient(daemon.unixAddress).askBlock("DUMP") == DaemonReference.dump(of: lines))
            daemon.crash()
            #expect(try verify().status == 0)

            // Flip one byte in the middle of the segment: good records follow the bad one.
            let middle = UInt64(size / 2)
            let damaged = FileHandle(forUpdatingAtPath: segment)!
            try damaged.seek(toOffset: middle)
            let byte = damaged.readData(ofLength: 1)[0]
            try damaged.seek(toOffset: middle)
            damaged.write(Data([byte ^ 0x5A]))
            try damaged.close()
            let bad = try verify()
            #expect(bad.status == 1, "\(bad.stdout)\(bad.stderr)")
            let start = try DaemonRun.run(
                DaemonBinaries.paymentsd, ["--data-dir", data, "--unix", scratch.file("d.sock"), "--tcp", "127.0.0.1:0"], in: scratch)
            #expect(start.status != 0)
            #expect(start.stderr.contains(segments.last!) && start.stderr.contains("at byte"), "\(start.stderr)")
        }
    }
}
