import ChildProcessSupport
import Foundation
import Glibc
import Testing

// SPEC §10 on PostgreSQL when PostgreSQL fails: a follower reading old records waits while
// PostgreSQL is unreachable and goes on when it is back; a stop never waits for a page query in
// flight; `GET /events` on a standby streams the leader's lines.
extension ChangeStreamReplicationTests {
    /// A URI to the test's server through `proxy`.
    static func uri(via proxy: TCPProxy) -> String {
        "postgresql://\(PostgresCluster.user):\(PostgresCluster.password)@127.0.0.1:\(proxy.port)/\(PostgresCluster.database)"
    }

    /// A leader with `count` lines committed, and its follower's lines from 0 (the reference).
    static func leaderWithTraffic(_ server: PostgresCluster, ledger: String, count: Int) throws -> (ReplicatedDaemon, [String]) {
        let a = try ReplicatedDaemon(uri: server.uri, node: "a", extra: ["--ledger", ledger])
        try a.waitForRole("leader")
        let onLeader = try StreamReader(a.socketPath, "FOLLOW 0")
        let lines = Replicated.stream(count: count)
        let stream = try Streamer(a.socketPath, lines: lines)
        stream.start(chunk: 100, pauseMicroseconds: 500)
        try stream.finish()
        #expect(stream.okCount == lines.count, "first other reply: \(stream.answered.first { $0 != "OK" && !$0.hasPrefix("REJECTED") } ?? "none") to line \(stream.okCount + 1): \(lines[min(stream.okCount, lines.count - 1)])")
        let reference = try onLeader.wait(for: lines.count, "the leader's follower")
        try ChangeLines.expectContiguous(reference, from: 1)
        return (a, reference)
    }

    static func occurrences(_ text: String, in log: String) -> Int { log.components(separatedBy: text).count - 1 }

    @Test("PostgreSQL unreachable while a follower reads old records: it gets nothing, stays connected, and goes on when PostgreSQL is back, no gap, no duplicate")
    func followerWaitsOutUnreachablePostgres() throws {
        let server = try PostgresCluster.shared()
        let ledger = Self.uniqueLedger("outage")
        let (a, reference) = try Self.leaderWithTraffic(server, ledger: ledger, count: 20_000)
        // Started after the traffic, nothing in memory: every line comes from PostgreSQL, through the proxy.
        let proxy = try TCPProxy(to: server.port)
        let c = try ReplicatedDaemon(uri: Self.uri(via: proxy), node: "c", extra: ["--ledger", ledger])
        try c.waitForStandby(of: a.node)

        // The follower reads nothing at first: the daemon stops at its high-water mark, mid-journal.
        let follower = try StreamReader(c.socketPath, "FOLLOW 0", holding: true)
        usleep(1_000_000)
        proxy.block()
        follower.resume()
        usleep(1_500_000)  // it reads what the daemon had rendered; the next pages cannot come
        let during = follower.count
        usleep(2_000_000)
        #expect(during < reference.count, "the follower had everything before PostgreSQL went away: the test shows nothing")
        #expect(follower.count == during, "lines arrived while PostgreSQL was unreachable")
        #expect(!follower.isClosed && follower.ended == nil, "the follower was ended: \(follower.ended ?? "closed")")
        #expect(Self.occurrences("change stream: PostgreSQL unreachable", in: c.log) == 1, "one log line per change of state:\n\(c.log)")

        proxy.unblock()
        let lines = try follower.wait(for: reference.count, "the follower after PostgreSQL came back", seconds: 60)
        try ChangeLines.expectSame(lines, reference, "follower on c across the outage vs the leader")
        #expect(follower.ended == nil)
        #expect(Self.occurrences("change stream: PostgreSQL reachable again", in: c.log) == 1, "\(c.log)")
    }

    @Test("SIGTERM while a page query waits on a network gone silent: the daemon exits within seconds, breaking the query off")
    func stopDoesNotWaitForAPageQuery() throws {
        let server = try PostgresCluster.shared()
        let ledger = Self.uniqueLedger("stop")
        let (a, reference) = try Self.leaderWithTraffic(server, ledger: ledger, count: 3000)
        let proxy = try TCPProxy(to: server.port)
        defer { proxy.thaw() }
        let c = try ReplicatedDaemon(uri: Self.uri(via: proxy), node: "c", extra: ["--ledger", ledger])
        try c.waitForStandby(of: a.node)
        // The fetcher's connection is open (a first follower read from PostgreSQL through it)...
        try ChangeLines.expectSame(try StreamReader(c.socketPath, "FOLLOW 0").wait(for: reference.count, "c's first follower"),
                                   reference, "c's first follower")
        // ...and its next query goes out into a network that holds every byte.
        proxy.freeze()
        let waiting = try StreamReader(c.socketPath, "FOLLOW 0")
        usleep(1_000_000)
        #expect(waiting.count == 0 && !waiting.isClosed)

        let started = Date()
        #expect(kill(c.pid, SIGTERM) == 0)
        let status = try c.waitExit(seconds: 20)
        let took = Date().timeIntervalSince(started)
        #expect(status == 0, "\(c.log)")
        #expect(took < 4, "the stop took \(took) s")
        #expect(!c.log.contains("did not stop"), "a thread was left blocked instead of its query broken off:\n\(c.log)")
    }

    @Test("GET /events on a standby (curl -N) streams the leader's lines as they are committed")
    func httpEventsStreamOnStandby() throws {
        let server = try PostgresCluster.shared()
        let ledger = Self.uniqueLedger("events")
        let a = try ReplicatedDaemon(uri: server.uri, node: "a", extra: ["--ledger", ledger])
        try a.waitForRole("leader")
        let b = try ReplicatedDaemon(uri: server.uri, node: "b", extra: ["--ledger", ledger])
        try b.waitForStandby(of: "a")
        let onLeader = try StreamReader(a.socketPath, "FOLLOW 0")
        let output = b.directory + "/events.ndjson"
        let curl = try ChildProcess("/usr/bin/curl", ["-sS", "-N", "--max-time", "120", "http://127.0.0.1:\(b.httpPort)/events?from=1"],
                                    stdoutPath: output, stderrPath: b.directory + "/curl.err")
        defer { _ = curl.kill(signal: SIGKILL, andWaitSeconds: 10) }

        let lines = Replicated.stream(count: 3000)
        let stream = try Streamer(a.socketPath, lines: lines)
        stream.start(chunk: 100, pauseMicroseconds: 1000)
        try stream.finish()
        let reference = try onLeader.wait(for: lines.count, "the leader's follower")
        var got: [String] = []
        try Replicated.waitFor("\(lines.count) lines from curl on the standby") {
            guard curl.isRunning else {
                throw Replicated.Failure("curl ended: \((try? String(contentsOfFile: b.directory + "/curl.err", encoding: .utf8)) ?? "")")
            }
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            got = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
            return got.count >= lines.count
        }
        try ChangeLines.expectSame(got, reference, "GET /events on the standby vs FOLLOW 0 on the leader")
        #expect(curl.isRunning, "the stream stays open for what comes next")
    }
}
