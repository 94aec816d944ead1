import Foundation
import Glibc
import PaymentsPostgres
import Testing

// The promise of SPEC §8, with a real PostgreSQL primary and synchronous standby and real
// daemons: after the leader daemon is killed or stopped, or the PostgreSQL primary is killed
// and its standby promoted, every acknowledged line is in the ledger and the state equals the
// rules applied to a prefix of what was sent.
@Suite("Failover", .serialized, .timeLimit(.minutes(5)))
struct FailoverTests {
    @Test("(a) SIGKILL of the leader mid-stream: the standby takes over with every acknowledged line")
    func leaderKilled() throws {
        let primary = try PostgresCluster.primary()
        let standbyServer = try primary.addSynchronousStandby()
        let uri = PostgresCluster.uri(of: [primary, standbyServer])
        let a = try ReplicatedDaemon(uri: uri, node: "a")
        try a.waitForRole("leader")
        let b = try ReplicatedDaemon(uri: uri, node: "b")
        try b.waitForStandby(of: "a")

        // Roles where a user looks: a standby refuses writes and names the leader.
        #expect(try b.ask("deposit,1,999999,1") == "ERR standby: leader is a")
        #expect(try b.ask("SYNC") == "ERR standby: leader is a")
        #expect(try HTTPProbe.request(port: a.httpPort, "GET", "/leader").status == 200)
        let leaderOnStandby = try HTTPProbe.request(port: b.httpPort, "GET", "/leader")
        #expect(leaderOnStandby.status == 503)
        let post = try HTTPProbe.request(port: b.httpPort, "POST", "/transactions", body: #"{"type":"deposit","client":1,"tx":999999,"amount":"1"}"#)
        #expect(post.status == 503 && post.body.contains(#""error":"standby","leader":"a""#))
        let metrics = try HTTPProbe.request(port: b.httpPort, "GET", "/metrics").body
        #expect(metrics.contains("payments_replica_leader 0") && metrics.contains("payments_replica_lag_records"))

        let lines = Replicated.stream(count: 20_000)
        let stream = try Streamer(a.socketPath, lines: lines)
        stream.start()
        try Replicated.waitFor("2000 replies from the leader") { stream.answered.count >= 2000 }
        a.crash()
        try stream.finish()
        let acknowledged = stream.okCount
        #expect(acknowledged == stream.answered.count, "every reply before the kill is OK or REJECTED")

        try b.waitForRole("leader", seconds: 30)
        let k = try b.lsn()
        #expect(k >= acknowledged, "the new leader holds every acknowledged line")
        #expect(k <= lines.count)
        #expect(try b.dump() == Replicated.expectedDump(lines.prefix(k)))

        // The rest goes to the new leader, which takes it.
        let rest = try Streamer(b.socketPath, lines: Array(lines[k...]))
        rest.start(chunk: 500, pauseMicroseconds: 0)
        try rest.finish()
        #expect(rest.okCount == lines.count - k)
        #expect(try b.dump() == Replicated.expectedDump(lines))
    }

    @Test("(b) SIGSTOP of the leader past its lease: the old leader comes back as a standby and acknowledged nothing it could not commit")
    func leaderStopped() throws {
        let primary = try PostgresCluster.primary()
        let standbyServer = try primary.addSynchronousStandby()
        let uri = primary.uri
        let a = try ReplicatedDaemon(uri: uri, node: "a")
        try a.waitForRole("leader")
        let b = try ReplicatedDaemon(uri: uri, node: "b")
        try b.waitForStandby(of: "a")
        _ = standbyServer

        let first = Replicated.stream(count: 20_000)
        let stream = try Streamer(a.socketPath, lines: first)
        stream.start()
        try Replicated.waitFor("2000 replies from the leader") { stream.answered.count >= 2000 }
        kill(a.pid, SIGSTOP)
        try b.waitForRole("leader", seconds: 30)
        let k = try b.lsn()
        #expect(stream.okCount <= k)

        // The new leader takes writes while the old one is stopped.
        let second = Replicated.stream(count: 2000, firstID: 1_000_000, seed: 99)
        let more = try Streamer(b.socketPath, lines: second)
        more.start(chunk: 500, pauseMicroseconds: 0)
        try more.finish()
        #expect(more.okCount == second.count)

        kill(a.pid, SIGCONT)
        try stream.finish()
        let acknowledgedByA = stream.okCount
        #expect(acknowledgedByA <= k, "the old leader acknowledged only what it committed before the takeover")
        for reply in stream.answered.dropFirst(acknowledgedByA) { #expect(reply.hasPrefix("ERR ")) }
        try a.waitForRole("standby", seconds: 10)
        #expect(a.log.contains("lost the lead of ledger default"))

        let expected = Replicated.expectedDump(Array(first.prefix(k)) + second)
        #expect(try b.dump() == expected)
        try Replicated.waitFor("the old leader to catch up as a standby") { try a.lsn() == b.lsn() }
        #expect(try a.dump() == expected)
        #expect(try a.ask("deposit,1,5000000,1") == "ERR standby: leader is b")
    }

    @Test("(c) SIGKILL of the PostgreSQL primary and promotion of its standby: the daemon reconnects through its multi-host URI")
    func postgresFailover() throws {
        let primary = try PostgresCluster.primary()
        let standbyServer = try primary.addSynchronousStandby()
        let uri = PostgresCluster.uri(of: [primary, standbyServer])
        let a = try ReplicatedDaemon(uri: uri, node: "a")
        try a.waitForRole("leader")

        let lines = Replicated.stream(count: 10_000)
        let stream = try Streamer(a.socketPath, lines: lines)
        stream.start(chunk: 50, pauseMicroseconds: 3000)
        try Replicated.waitFor("1000 replies") { stream.answered.count >= 1000 }
        primary.kill()
        try standbyServer.promote()
        try stream.finish(seconds: 120)
        let replies = stream.answered
        #expect(replies.count == lines.count, "the connection stays open: every line is answered")
        // A refused line (ERR) was not journaled; every other one was, in order.
        let taken = zip(lines, replies).filter { !$0.1.hasPrefix("ERR") }.map(\.0)
        try Replicated.waitFor("the leader to take writes again") { try a.ask("SYNC") == "OK" }
        #expect(try a.lsn() == taken.count)
        #expect(try a.dump() == Replicated.expectedDump(taken))
        // What PostgreSQL holds, read by a daemon that starts from nothing, is the same.
        let fresh = try ReplicatedDaemon(uri: uri, node: "fresh")
        try Replicated.waitFor("the fresh standby to catch up") { try fresh.lsn() == taken.count }
        #expect(try fresh.dump() == Replicated.expectedDump(taken))
        #expect(a.log.contains("PostgreSQL connection lost"), "the primary died under the leader")
        #expect(a.log.contains("PostgreSQL reachable again"))
    }

    @Test("the network to PostgreSQL cut mid-COMMIT: the outcome of the commits in flight is settled by reading back")
    func networkCutMidCommit() throws {
        let server = try PostgresCluster.shared()
        let proxy = try TCPProxy(to: server.port)
        let ledger = "cut_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        let viaProxy = "postgresql://\(PostgresCluster.user):\(PostgresCluster.password)@127.0.0.1:\(proxy.port)/\(PostgresCluster.database)"
        let a = try ReplicatedDaemon(uri: viaProxy, node: "a", extra: ["--ledger", ledger])
        try a.waitForRole("leader")

        let lines = Replicated.stream(count: 10_000)
        let stream = try Streamer(a.socketPath, lines: lines)
        stream.start(chunk: 50, pauseMicroseconds: 3000)
        try Replicated.waitFor("1000 replies") { stream.answered.count >= 1000 }
        proxy.cut()
        try stream.finish(seconds: 120)
        let replies = stream.answered
        #expect(replies.count == lines.count, "every line is answered")
        let taken = zip(lines, replies).filter { !$0.1.hasPrefix("ERR") }.map(\.0)
        #expect(try a.lsn() == taken.count)
        #expect(try a.dump() == Replicated.expectedDump(taken))
        #expect(a.log.contains("commit(s) of unknown outcome"), "the cut left commits in flight:\n\(a.log)")

        // PostgreSQL holds exactly what was acknowledged, read by a daemon that starts from nothing.
        let fresh = try ReplicatedDaemon(uri: server.uri, node: "fresh", extra: ["--ledger", ledger])
        try Replicated.waitFor("the fresh standby to catch up") { try fresh.lsn() == taken.count }
        #expect(try fresh.dump() == Replicated.expectedDump(taken))
    }

    @Test("PostgreSQL silent past the lease: the leader stops answering about the ledger, then resumes")
    func silentPastTheLease() throws {
        let server = try PostgresCluster.shared()
        let proxy = try TCPProxy(to: server.port)
        let ledger = "silent_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        let viaProxy = "postgresql://\(PostgresCluster.user):\(PostgresCluster.password)@127.0.0.1:\(proxy.port)/\(PostgresCluster.database)"
        let a = try ReplicatedDaemon(uri: viaProxy, node: "a", extra: ["--ledger", ledger])
        try a.waitForRole("leader")
        #expect(try a.ask("deposit,1,1,2.5") == "OK")
        #expect(try a.ask("GET 1") == "1,2.5000,0.0000,2.5000,false")

        proxy.freeze()
        let refused = "ERR journal unavailable: the lease on the ledger is not held (PostgreSQL unreachable?)"
        try Replicated.waitFor("the leader to stop answering about the ledger", seconds: 20) { try a.ask("GET 1") == refused }
        #expect(try a.ask("deposit,1,2,1") == refused)
        #expect(try HTTPProbe.request(port: a.httpPort, "GET", "/clients/1").status == 503)
        #expect(try a.ask("PING") == "PONG", "operational requests are still answered")
        #expect(a.role() == "leader")

        proxy.thaw()
        try Replicated.waitFor("the lease to be renewed", seconds: 30) { try a.ask("GET 1") == "1,2.5000,0.0000,2.5000,false" }
        #expect(try a.ask("deposit,1,3,1") == "OK")
        #expect(try a.ask("GET 1") == "1,3.5000,0.0000,3.5000,false")
    }
}
