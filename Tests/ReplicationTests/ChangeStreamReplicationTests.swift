import Foundation
import Glibc
import PaymentsPostgres
import Testing

// SPEC §10 on the PostgreSQL journal (§8), with real PostgreSQL and real daemons: a follower on
// a standby sees the leader's stream line for line, old records are read from PostgreSQL, a
// follower resumes on the new leader after the old one is killed with neither gap nor
// duplicate, and an LSN whose batch was deleted after snapshots is refused.
@Suite("ChangeStream on PostgreSQL", .serialized, .timeLimit(.minutes(5)))
struct ChangeStreamReplicationTests {
    static func uniqueLedger(_ name: String) -> String { "\(name)_\(getpid())_\(UInt32.random(in: 0...UInt32.max))" }

    @Test("a follower on a standby, from 0 and from an LSN, sees the leader's stream line for line; FOLLOW SNAPSHOT on a standby")
    func standbyStreamsTheLeadersStream() throws {
        let server = try PostgresCluster.shared()
        let ledger = Self.uniqueLedger("follow")
        let a = try ReplicatedDaemon(uri: server.uri, node: "a", extra: ["--ledger", ledger])
        try a.waitForRole("leader")
        let b = try ReplicatedDaemon(uri: server.uri, node: "b", extra: ["--ledger", ledger])
        try b.waitForStandby(of: "a")
        let onLeader = try StreamReader(a.socketPath, "FOLLOW 0")
        let onStandby = try StreamReader(b.socketPath, "FOLLOW 0")

        let lines = Replicated.stream(count: 5000)
        let stream = try Streamer(a.socketPath, lines: lines)
        stream.start(chunk: 100, pauseMicroseconds: 1000)
        try stream.finish()
        #expect(stream.okCount == lines.count)

        let leaderLines = try onLeader.wait(for: lines.count, "the leader's follower")
        let standbyLines = try onStandby.wait(for: lines.count, "the standby's follower")
        try ChangeLines.expectContiguous(leaderLines, from: 1)
        try ChangeLines.expectSame(standbyLines, leaderLines, "standby vs leader")
        #expect(try b.dump() == Replicated.expectedDump(lines))

        // A daemon started now holds nothing in memory: its followers read PostgreSQL's batches.
        let c = try ReplicatedDaemon(uri: server.uri, node: "c", extra: ["--ledger", ledger])
        try c.waitForStandby(of: "a")
        let fromZero = try StreamReader(c.socketPath, "FOLLOW 0")
        let fromMiddle = try StreamReader(c.socketPath, "FOLLOW 2501")
        try ChangeLines.expectSame(try fromZero.wait(for: lines.count, "a late standby's follower from 0"), leaderLines, "late standby from 0")
        try ChangeLines.expectSame(try fromMiddle.wait(for: 2500, "a late standby's follower from 2501"),
                                   Array(leaderLines[2500...]), "late standby from 2501")

        // FOLLOW SNAPSHOT on the standby: every account as of its LSN, then what follows.
        let snapshot = try StreamReader(b.socketPath, "FOLLOW SNAPSHOT")
        let accounts = try b.dump().split(separator: "\n").count - 1  // less the header
        let more = Replicated.stream(count: 200, firstID: 1_000_000, seed: 3)
        let second = try Streamer(a.socketPath, lines: more)
        second.start(chunk: 50, pauseMicroseconds: 1000)
        try second.finish()
        let all = try onLeader.wait(for: lines.count + more.count, "the leader's follower, second part")
        let snapshotted = try snapshot.wait(for: accounts + more.count, "the standby's FOLLOW SNAPSHOT")
        let head = snapshotted.prefix(accounts)
        #expect(head.allSatisfy { $0.hasPrefix("{\"lsn\":\(lines.count),\"snapshot\":true,") }, "\(head.first ?? "")")
        try ChangeLines.expectSame(Array(snapshotted.dropFirst(accounts)), Array(all[lines.count...]), "after the snapshot")
        try ChangeLines.expectSame(try onStandby.wait(for: all.count, "the standby's follower, second part"), all, "standby, second part")
        #expect(onStandby.ended == nil && snapshot.ended == nil)
    }

    @Test("SIGKILL of the leader with commits held back: a follower resumes on the new leader from its last LSN + 1, no gap, no duplicate")
    func followerSurvivesFailover() throws {
        let server = try PostgresCluster.shared()
        let ledger = Self.uniqueLedger("failover")
        // The leader reaches PostgreSQL through a relay the test freezes: records it appends
        // then are never committed, and its follower must not have seen them.
        let proxy = try TCPProxy(to: server.port)
        let viaProxy = "postgresql://\(PostgresCluster.user):\(PostgresCluster.password)@127.0.0.1:\(proxy.port)/\(PostgresCluster.database)"
        let a = try ReplicatedDaemon(uri: viaProxy, node: "a", extra: ["--ledger", ledger])
        try a.waitForRole("leader")
        let b = try ReplicatedDaemon(uri: server.uri, node: "b", extra: ["--ledger", ledger])
        try b.waitForStandby(of: "a")
        let onLeader = try StreamReader(a.socketPath, "FOLLOW 0")
        let onStandby = try StreamReader(b.socketPath, "FOLLOW 0")

        let lines = Replicated.stream(count: 20_000)
        let stream = try Streamer(a.socketPath, lines: lines)
        stream.start()
        try Replicated.waitFor("2000 lines streamed from the leader") { onLeader.count >= 2000 }
        proxy.freeze()
        let frozenAt = stream.answered.count
        // Lines the leader takes and cannot commit: half a second for it to append them (STATS
        // would wait for them too). Ids of their own: none of them is ever in the ledger.
        let held = try Streamer(a.socketPath, lines: Replicated.stream(count: 500, firstID: 5_000_000, seed: 11))
        held.start(chunk: 500, pauseMicroseconds: 0)
        usleep(500_000)
        a.crash()
        try stream.finish()
        try held.finish()
        #expect(held.okCount == 0)
        let beforeKill = try onLeader.waitForEnd("the old leader's stream to end")
        let acknowledged = stream.okCount
        #expect(acknowledged <= frozenAt + 1000, "replies stopped with the commits")
        try ChangeLines.expectContiguous(beforeKill, from: 1)

        try b.waitForRole("leader", seconds: 30)
        let k = try b.lsn()
        #expect(k >= acknowledged)
        #expect(k >= beforeKill.count, "the old leader streamed \(beforeKill.count) records, only \(k) were committed")
        #expect(try b.dump() == Replicated.expectedDump(lines.prefix(k)))
        let resumed = try StreamReader(b.socketPath, "FOLLOW \(beforeKill.count + 1)")
        let rest = try Streamer(b.socketPath, lines: Array(lines[k...]))
        rest.start(chunk: 500, pauseMicroseconds: 0)
        try rest.finish()
        #expect(rest.okCount == lines.count - k)
        #expect(try b.dump() == Replicated.expectedDump(lines))

        // The reference: the whole journal as the new leader serves it to a new follower.
        let reference = try StreamReader(b.socketPath, "FOLLOW 0").wait(for: lines.count, "a new follower on the new leader")
        try ChangeLines.expectContiguous(reference, from: 1)
        let joined = beforeKill + (try resumed.wait(for: lines.count - beforeKill.count, "the resumed follower"))
        try ChangeLines.expectSame(joined, reference, "old leader then new leader vs the new leader from 0")
        // The follower that was on the standby all along never lost its connection.
        try ChangeLines.expectSame(try onStandby.wait(for: lines.count, "the follower on the standby turned leader"), reference, "standby follower")
        #expect(onStandby.ended == nil)
    }

    @Test("batches deleted after snapshots: ERR lsn gone on the leader and on a standby (HTTP 410), the oldest kept LSN streams")
    func lsnGoneAfterSnapshots() throws {
        let server = try PostgresCluster.shared()
        let ledger = Self.uniqueLedger("gone")
        let a = try ReplicatedDaemon(uri: server.uri, node: "a", extra: ["--ledger", ledger, "--snapshot-bytes", "20000"])
        try a.waitForRole("leader")
        let b = try ReplicatedDaemon(uri: server.uri, node: "b", extra: ["--ledger", ledger])
        try b.waitForStandby(of: "a")
        let onLeader = try StreamReader(a.socketPath, "FOLLOW 0")
        // In rounds, each answered before the next: a snapshot falls due between them.
        let lines = Replicated.stream(count: 6000)
        for round in stride(from: 0, to: lines.count, by: 1000) {
            let part = try Streamer(a.socketPath, lines: Array(lines[round..<min(lines.count, round + 1000)]))
            part.start(chunk: 1000, pauseMicroseconds: 0)
            try part.finish()
            #expect(part.okCount == part.lines.count)
        }
        try Replicated.waitFor("several snapshots") { Int(try a.stats()["snapshots"] ?? "0")! >= 3 }
        let all = try onLeader.wait(for: lines.count, "the leader's follower")
        // The last snapshot may still be deleting batches: wait until the leader's answer and
        // PostgreSQL agree on the oldest kept.
        var oldest: Int64 = 0
        var onA = ""
        do {
            try Replicated.waitFor("the leader to refuse FOLLOW 1 naming the oldest batch kept", seconds: 20) {
                oldest = try LedgerStartTests.query(
                    server.uri, "SELECT min(first_lsn) FROM payments.batches WHERE ledger = $1", [.text(ledger)]).int64(0, 0) ?? 0
                onA = try a.ask("FOLLOW 1")
                return onA == "ERR lsn gone: oldest is \(oldest)"
            }
        } catch { throw Replicated.Failure("\(error): the oldest batch kept is \(oldest), the leader said \(onA)") }
        #expect(oldest > 1, "snapshots deleted the first batches")
        let gone = "ERR lsn gone: oldest is \(oldest)"
        var onB = ""
        do {
            try Replicated.waitFor("the standby to refuse FOLLOW 1 with \(gone)", seconds: 10) {
                do { onB = try b.ask("FOLLOW 1") } catch { onB = "\(error)"; throw error }
                return onB == gone
            }
        } catch { throw Replicated.Failure("\(error): the standby said \(onB)") }
        #expect(try HTTPProbe.request(port: b.httpPort, "GET", "/events?from=1").status == 410)
        // From the oldest kept on, the standby streams what the leader streamed.
        let kept = try StreamReader(b.socketPath, "FOLLOW \(oldest)")
        try ChangeLines.expectSame(try kept.wait(for: lines.count - Int(oldest) + 1, "the standby's follower from \(oldest)"),
                                   Array(all[Int(oldest - 1)...]), "standby from the oldest kept")
    }
}

/// One `FOLLOW` connection read on a thread of its own: the lines so far, and how it ended.
final class StreamReader: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    private var endLine: String?
    private var closed = false
    private var holding: Bool
    private let client: LineClient

    /// `holding`: reads nothing until `resume()` (the daemon's output to it fills up).
    init(_ socketPath: String, _ request: String, holding: Bool = false) throws {
        client = try LineClient(socketPath, timeoutSeconds: 90)
        self.holding = holding
        try client.send(request + "\n")
        Thread { [self] in
            // Held at most 90 s, like any read.
            var held = 0
            while lock.withLock({ self.holding }) && held < 9000 { usleep(10_000); held += 1 }
            while let line = try? client.line() {
                lock.lock()
                if line.hasPrefix("ERR ") { endLine = line } else { lines.append(line) }
                lock.unlock()
            }
            lock.lock()
            closed = true
            lock.unlock()
        }.start()
    }

    func resume() { lock.withLock { holding = false } }

    var count: Int { lock.lock(); defer { lock.unlock() }; return lines.count }
    var isClosed: Bool { lock.withLock { closed } }
    /// The `ERR` line that ended the stream, if one did.
    var ended: String? { lock.lock(); defer { lock.unlock() }; return endLine }
    private var snapshot: (lines: [String], closed: Bool, end: String?) {
        lock.lock(); defer { lock.unlock() }
        return (lines, closed, endLine)
    }

    /// Waits (bounded) for `count` lines; fails if the stream ends first or shows more.
    func wait(for count: Int, _ what: String, seconds: Double = 90) throws -> [String] {
        do {
            try Replicated.waitFor("\(count) lines from \(what)", seconds: seconds) {
                let s = snapshot
                if s.lines.count < count && s.closed { throw Replicated.Failure("\(what) ended after \(s.lines.count) lines: \(s.end ?? "closed")") }
                return s.lines.count >= count
            }
        } catch let failure as Replicated.Failure {
            throw Replicated.Failure("\(failure) (have \(self.count))")
        }
        usleep(100_000)  // nothing more may follow
        let s = snapshot
        if s.lines.count != count { throw Replicated.Failure("\(what) sent \(s.lines.count) lines, expected \(count)") }
        return s.lines
    }

    /// Waits (bounded) until the daemon closed the stream; the lines it sent.
    func waitForEnd(_ what: String, seconds: Double = 60) throws -> [String] {
        try Replicated.waitFor(what, seconds: seconds) { snapshot.closed }
        return snapshot.lines
    }
}

enum ChangeLines {
    /// The LSN a stream line starts with (`{"lsn":N,`).
    static func lsn(_ line: String) -> UInt64? {
        guard line.hasPrefix("{\"lsn\":") else { return nil }
        return UInt64(line.dropFirst(7).prefix { $0.isNumber })
    }

    static func expectContiguous(_ lines: [String], from first: UInt64) throws {
        for (i, line) in lines.enumerated() where lsn(line) != first + UInt64(i) {
            throw Replicated.Failure("line \(i + 1) should carry LSN \(first + UInt64(i)): \(line)")
        }
    }

    /// The same lines in the same order; the first difference named.
    static func expectSame(_ got: [String], _ expected: [String], _ what: String) throws {
        for (i, (g, e)) in zip(got, expected).enumerated() where g != e {
            throw Replicated.Failure("\(what): line \(i + 1) differs:\n  got      \(g)\n  expected \(e)")
        }
        if got.count != expected.count { throw Replicated.Failure("\(what): \(got.count) lines, expected \(expected.count)") }
    }
}
