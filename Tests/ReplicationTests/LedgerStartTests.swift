import ChildProcessSupport
import Foundation
import Glibc
import PaymentsPostgres
import Testing

// Starting on a ledger: from PostgreSQL alone, and every way a start can be refused. Each
// test has a ledger (or database) of its own on the process-wide server.
@Suite("Ledger start", .timeLimit(.minutes(3)))
struct LedgerStartTests {
    static func uniqueLedger(_ name: String) -> String { "\(name)_\(getpid())_\(UInt32.random(in: 0...UInt32.max))" }

    /// A statement on the ledger's database, as its owner.
    @discardableResult
    static func query(_ uri: String, _ sql: String, _ parameters: [PostgresValue] = []) throws -> PostgresResult {
        let connection = try PostgresConnection.connect(uri)
        defer { connection.close() }
        return try connection.execute(sql, parameters)
    }

    /// `paymentsd verify --journal`: exit status and output.
    static func verify(_ uri: String, ledger: String) throws -> (Int32, String) {
        let output = Replicated.scratch() + "/out"
        defer { try? FileManager.default.removeItem(atPath: (output as NSString).deletingLastPathComponent) }
        let process = try ChildProcess(
            Replicated.binary("paymentsd").path, ["verify", "--journal", uri, "--ledger", ledger],
            stdoutPath: output, stderrPath: output)
        let status = try process.wait(seconds: 60, for: "paymentsd verify to finish")
        return (status, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    @Test("(d) a daemon with an empty data directory rebuilds from the snapshots and batches in PostgreSQL")
    func rebuildFromPostgres() throws {
        let server = try PostgresCluster.shared()
        let ledger = Self.uniqueLedger("rebuild")
        let lines = Replicated.stream(count: 6000)
        let a = try ReplicatedDaemon(uri: server.uri, node: "a", extra: ["--ledger", ledger, "--snapshot-bytes", "20000"])
        try a.waitForRole("leader")
        // In rounds, each answered before the next: a snapshot falls due between them.
        let client = try LineClient(a.socketPath)
        var taken = 0
        for round in stride(from: 0, to: lines.count, by: 1000) {
            let part = lines[round..<min(lines.count, round + 1000)]
            try client.send(part.map { $0 + "\n" }.joined())
            for _ in part {
                let reply = try client.line() ?? ""
                if reply == "OK" || reply.hasPrefix("REJECTED") { taken += 1 }
            }
        }
        #expect(taken == lines.count)
        try Replicated.waitFor("several snapshots") { Int(try a.stats()["snapshots"] ?? "0")! >= 3 }
        let expected = Replicated.expectedDump(lines)
        #expect(try a.dump() == expected)

        // Batches covered by the second-newest snapshot are gone; what is left still rebuilds.
        // A snapshot may still be in flight after the last round: its rows are committed before
        // the older ones are deleted, so three rows are seen for a moment. Once quiet, two.
        func snapshotRows() throws -> PostgresResult {
            try Self.query(server.uri, "SELECT lsn FROM payments.snapshots WHERE ledger = $1 ORDER BY lsn DESC", [.text(ledger)])
        }
        try? Replicated.waitFor("the snapshot in flight to delete what it covers") { try snapshotRows().rowCount == 2 }
        let snapshots = try snapshotRows()
        #expect(snapshots.rowCount == 2, "the two newest snapshots are kept")
        if snapshots.rowCount == 2 {
            let covered = try Self.query(server.uri,
                "SELECT count(*) FROM payments.batches WHERE ledger = $1 AND last_lsn <= $2",
                [.text(ledger), .int64(snapshots.int64(1, 0)!)])
            #expect(covered.int64(0, 0) == 0)
        }
        let (status, report) = try Self.verify(server.uri, ledger: ledger)
        #expect(status == 0, "\(report)")
        #expect(report.contains("2 snapshot(s) checked"))

        // A new daemon, nothing on its disk: a standby with the same state within moments.
        let b = try ReplicatedDaemon(uri: server.uri, node: "b", extra: ["--ledger", ledger])
        try Replicated.waitFor("b to catch up") { try b.lsn() == lines.count }
        #expect(try b.dump() == expected)
        #expect(try b.ask("GET 1") == (try a.ask("GET 1")))

        // A clean stop gives the lease back: b leads at once, not after the lease.
        #expect(kill(a.pid, SIGTERM) == 0)
        #expect(try a.waitExit() == 0)
        try b.waitForRole("leader", seconds: 10)
        #expect(try b.ask("deposit,7,9000001,1.5") == "OK")
        #expect(try b.dump() == Replicated.expectedDump(lines + ["deposit,7,9000001,1.5"]))
    }

    @Test("a wrong password exits 2 at once with one line naming it")
    func wrongPassword() throws {
        let server = try PostgresCluster.shared()
        let uri = server.uri.replacingOccurrences(of: ":\(PostgresCluster.password)@", with: ":wrong@")
        let d = try ReplicatedDaemon(uri: uri, node: "a", waitReady: false)
        #expect(try d.waitExit() == 2)
        #expect(d.log.contains("PostgreSQL refused the login: "), "\(d.log)")
        #expect(d.log.contains("password authentication failed for user \"payments\""), "\(d.log)")
        #expect(!d.log.contains("wrong"), "the password is never logged")
    }

    @Test("an unreachable server is retried with one log line, and SIGTERM still stops the daemon")
    func unreachable() throws {
        let port = try PostgresCluster.Tool.freeLoopbackPort()
        let d = try ReplicatedDaemon(uri: "postgresql://payments:x@127.0.0.1:\(port)/payments", node: "a", waitReady: false)
        try Replicated.waitFor("the unreachable warning") { d.log.contains("PostgreSQL unreachable, retrying with backoff") }
        usleep(1_500_000)
        #expect(d.process.isRunning, "it keeps trying")
        #expect(d.log.components(separatedBy: "unreachable").count == 2, "one line per change of state:\n\(d.log)")
        kill(d.pid, SIGTERM)
        #expect(try d.waitExit(seconds: 15) == 0, "a requested stop:\n\(d.log)")
    }

    @Test("a read-only server and a schema of a newer format are refused at start (exit 2)")
    func refusedServers() throws {
        let server = try PostgresCluster.shared()
        let name = "ro_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        try server.psql("CREATE DATABASE \(name) OWNER payments")
        try server.psql("ALTER DATABASE \(name) SET default_transaction_read_only = on")
        let readOnly = try ReplicatedDaemon(uri: "postgresql://payments:secret@127.0.0.1:\(server.port)/\(name)", node: "a", waitReady: false)
        #expect(try readOnly.waitExit() == 2)
        #expect(readOnly.log.contains("is read-only"), "\(readOnly.log)")

        let newer = "new_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        try server.psql("CREATE DATABASE \(newer) OWNER payments")
        let uri = "postgresql://payments:secret@127.0.0.1:\(server.port)/\(newer)"
        let first = try ReplicatedDaemon(uri: uri, node: "a")
        first.crash()
        let connection = try PostgresConnection.connect(uri)
        try connection.execute("UPDATE payments.format SET version = 99")
        connection.close()
        let second = try ReplicatedDaemon(uri: uri, node: "b", waitReady: false)
        #expect(try second.waitExit() == 2)
        #expect(second.log.contains("format version 99"), "\(second.log)")
    }

    @Test("a batch whose checksum fails is refused at start, naming the ledger and the record; verify says the same")
    func damagedBatch() throws {
        let server = try PostgresCluster.shared()
        let ledger = Self.uniqueLedger("damaged")
        let a = try ReplicatedDaemon(uri: server.uri, node: "a", extra: ["--ledger", ledger])
        try a.waitForRole("leader")
        for (i, line) in Replicated.stream(count: 300).enumerated() {
            let reply = try a.ask(line)
            #expect(reply == "OK" || reply.hasPrefix("REJECTED"), "line \(i): \(reply)")
        }
        a.crash()  // no snapshot at exit: the batches are what a start replays
        let batch = try Self.query(server.uri,
            "SELECT first_lsn FROM payments.batches WHERE ledger = $1 ORDER BY first_lsn DESC LIMIT 1", [.text(ledger)])
        let first = batch.int64(0, 0)!
        try Self.query(server.uri,
            "UPDATE payments.batches SET records = set_byte(records, 9, get_byte(records, 9) # 1) WHERE ledger = $1 AND first_lsn = $2",
            [.text(ledger), .int64(first)])
        let b = try ReplicatedDaemon(uri: server.uri, node: "b", extra: ["--ledger", ledger], waitReady: false)
        #expect(try b.waitExit() == 2, "damage: a restart cannot fix it")
        #expect(b.log.contains("ledger \(ledger) batch at record \(first)"), "\(b.log)")
        #expect(b.log.contains("checksum mismatch"))
        let (status, report) = try Self.verify(server.uri, ledger: ledger)
        #expect(status == 1)
        #expect(report.contains("batch at record \(first)"), "\(report)")
    }
}
