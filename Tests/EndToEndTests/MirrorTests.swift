import ChildProcessSupport
import Foundation
import Glibc
import PaymentsFollow
import PaymentsPlatform
import PaymentsRedis
import Testing

extension DaemonEndToEnd {
    /// `paymentsctl mirror` against a real `redis-server` (without persistence: a restart
    /// comes back empty), the mirror and Redis killed at random moments while transactions
    /// stream in; at the end Redis holds exactly the daemon's `DUMP`.
    @Suite struct MirrorTests {
        /// Every `account:*` hash in Redis as a `DUMP JSON` line, and `payments:lsn`.
        static func redisAccounts(_ redis: RedisServer) throws -> (accounts: [String], lsn: UInt64?) {
            let connection = try redis.connect()
            defer { connection.close() }
            guard case .array(let keys?) = try connection.command(["KEYS", "account:*"]) else { throw DaemonTestError("KEYS failed") }
            var accounts: [(UInt16, String)] = []
            for key in keys.compactMap(\.text) {
                guard case .array(let pairs?) = try connection.command(["HGETALL", key]) else { throw DaemonTestError("HGETALL \(key) failed") }
                var fields: [String: String] = [:]
                for index in stride(from: 0, to: pairs.count - 1, by: 2) { fields[pairs[index].text ?? ""] = pairs[index + 1].text }
                let client = fields["client"] ?? "?"
                accounts.append((UInt16(client) ?? 0, #"{"client":\#(client),"available":"\#(fields["available"] ?? "")","held":"\#(fields["held"] ?? "")","total":"\#(fields["total"] ?? "")","locked":\#(fields["locked"] ?? "")}"#))
                #expect(key == "account:\(client)", "hash \(key) names client \(client)")
            }
            let lsn = try connection.command(["GET", "payments:lsn"]).text.flatMap { UInt64($0) }
            return (accounts.sorted { $0.0 < $1.0 }.map(\.1), lsn)
        }

        @Test(.enabled(if: RedisServer.isInstalled, "redis-server is not installed (.ci/run installs it)"))
        func redisAndTheMirrorKilledAtRandomEndsEqualToDump() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            let redis = try RedisServer(directory: scratch.path)
            let log = scratch.file("mirror.log")
            func startMirror() throws -> ChildProcess {
                try ChildProcess(DaemonBinaries.paymentsctl.path, ["--unix", daemon.socketPath, "mirror", redis.url], stderrPath: log)
            }
            var mirror = try startMirror()
            let feeder = FollowFeeder({ daemon.unixAddress }, lines: DaemonStream.generate(count: 6000, seed: 21, clients: 1...300), chunk: 20, pauseMicroseconds: 8_000)
            var rng = SystemRandomNumberGenerator()
            for round in 0..<8 {
                usleep(UInt32.random(in: 100_000...500_000, using: &rng))
                switch round % 4 {
                case 0, 2:
                    redis.kill()
                    usleep(UInt32.random(in: 0...300_000, using: &rng))
                    try redis.start()
                case 1:
                    mirror.signal(SIGKILL)
                    _ = try mirror.wait(seconds: 10, for: "for mirror to die of SIGKILL")
                    mirror = try startMirror()
                default:
                    mirror.signal(SIGTERM)
                    #expect(try mirror.wait(seconds: 30, for: "for mirror to stop after SIGTERM") == 0)
                    mirror = try startMirror()
                }
            }
            try feeder.wait()
            let last = try daemonLastLSN(daemon.unixAddress)
            let mirrorLog = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
            do {
                try followWait(60, "payments:lsn to reach \(last)") { (try? Self.redisAccounts(redis).lsn) == last }
            } catch {
                Issue.record("\(error); the mirror's log:\n\(mirrorLog().suffix(3000))")
                return
            }
            let client = try DaemonClient(daemon.unixAddress)
            let dump = try client.askBlock("DUMP JSON")
            let (accounts, _) = try Self.redisAccounts(redis)
            #expect(accounts.count == dump.count, "Redis holds \(accounts.count) accounts, the daemon \(dump.count)")
            for (index, line) in dump.enumerated() where index >= accounts.count || accounts[index] != line {
                Issue.record("account \(line) is \(index < accounts.count ? accounts[index] : "missing") in Redis")
                break
            }
            #expect(mirrorLog().contains("rebuilding"), "Redis came back empty: the mirror should have rebuilt it:\n\(mirrorLog())")
            mirror.signal(SIGTERM)
            #expect(try mirror.wait(seconds: 30) == 0)
        }

        /// Two batches in flight, the connection cut after the first `EXEC` was answered and in
        /// the middle of the second batch: a real Redis keeps the first whole and nothing of
        /// the second, so `payments:lsn` names the first batch's last LSN and the hashes agree
        /// with it, which is what the next session resumes from (`MirrorInFlight`).
        @Test(.enabled(if: RedisServer.isInstalled, "redis-server is not installed"))
        func twoBatchesInFlightAndTheConnectionCutBetweenThem() throws {
            let scratch = DaemonScratch()
            let redis = try RedisServer(directory: scratch.path)
            let setup = try redis.connect()
            _ = try setup.command(["SET", "payments:lsn", "0"])
            setup.close()
            func line(_ lsn: Int, _ client: Int, _ amount: String) -> String {
                #"{"lsn":\#(lsn),"type":"deposit","client":\#(client),"tx":\#(lsn),"amount":"1.0000","outcome":"ok","account":{"client":\#(client),"available":"\#(amount)","held":"0.0000","total":"\#(amount)","locked":false}}"#
            }
            func encode(_ lines: [String]) throws -> (bytes: [UInt8], batch: MirrorInFlight.Batch) {
                var batch = MirrorBatch()
                for text in lines {
                    let bytes = Array(text.utf8)
                    let change = try ChangeLine.parse(bytes)
                    bytes.withUnsafeBufferPointer { batch.add(change, from: $0) }
                }
                var out: [UInt8] = []
                let commands = batch.encode(before: [], after: [["SET", "payments:lsn", String(batch.lastLSN), "XX"]], into: &out)
                return (out, MirrorInFlight.Batch(commands: commands, checks: [(commands - 1, "SET payments:lsn")], lastLSN: batch.lastLSN, completesRebuild: false))
            }
            let first = try encode([line(1, 1, "1.0000"), line(2, 2, "2.0000"), line(3, 1, "3.0000")])
            let second = try encode([line(4, 2, "4.0000"), line(5, 3, "5.0000")])
            let exec = RESPCommand.encode(["EXEC"])
            #expect(Array(second.bytes.suffix(exec.count)) == exec)
            let connection = try redis.connect()
            var inFlight = MirrorInFlight()
            inFlight.sent(first.batch)
            inFlight.sent(second.batch)
            // The whole first batch, and the second without its EXEC: the cut comes before it.
            try connection.send(first.bytes + second.bytes.dropLast(exec.count))
            var verdicts: [MirrorInFlight.Verdict] = []
            while verdicts.isEmpty { if let settled = inFlight.take(try connection.receive()) { verdicts.append(settled.verdict) } }
            #expect(verdicts == [.applied(lsn: 3, completesRebuild: false)])
            // The second batch's MULTI and HSETs were queued (their replies are on the way) when the connection goes.
            for _ in 0..<second.batch.commands + 1 { #expect(inFlight.take(try connection.receive()) == nil) }
            #expect(inFlight.count == 1)
            connection.close()

            let after = try redis.connect()
            defer { after.close() }
            #expect(try after.command(["GET", "payments:lsn"]).text == "3", "payments:lsn moved without its batch")
            #expect(try after.command(["HGET", "account:1", "available"]).text == "3.0000")
            #expect(try after.command(["HGET", "account:2", "available"]).text == "2.0000", "half of the second batch was applied")
            #expect(try after.command(["EXISTS", "account:3"]) == .integer(0), "half of the second batch was applied")
        }

        /// Redis that is not there: one clear line, retries, and once it starts the mirror fills it.
        @Test(.enabled(if: RedisServer.isInstalled, "redis-server is not installed"))
        func redisDownIsSaidOnceAndRetried() throws {
            let scratch = DaemonScratch()
            let daemon = try DaemonProcess(in: scratch)
            try DaemonClient(daemon.unixAddress).send("deposit,1,1,2.5\n")
            let port = try RedisServer.freePort()
            let log = scratch.file("mirror.log")
            let mirror = try ChildProcess(
                DaemonBinaries.paymentsctl.path, ["--unix", daemon.socketPath, "mirror", "redis://127.0.0.1:\(port)"], stderrPath: log)
            usleep(1_500_000)
            let text = try String(contentsOfFile: log, encoding: .utf8)
            #expect(text.contains("cannot connect to Redis at 127.0.0.1:\(port): Connection refused; retrying"), "\(text)")
            #expect(text.split(separator: "\n").count == 1, "one line per change of state, not per retry:\n\(text)")
            #expect(mirror.isRunning)
            mirror.signal(SIGTERM)
            #expect(try mirror.wait(seconds: 30) == 0)
        }
    }
}
