import Foundation
import Glibc
import PaymentsPostgres
import Testing

// PaymentsPostgres against a real PostgreSQL: binary parameters and results, the error kinds the
// daemon's retry logic depends on, pipeline mode, and libpq's multi-host conventions. Tests that
// only read or use temporary tables share one server; those that kill or promote have their own.

@Suite(.timeLimit(.minutes(1)))
struct PostgresConnectionTests {
    @Test func connectsWithAURIAndReportsTheServer() throws {
        let cluster = try PostgresCluster.shared()
        let connection = try PostgresConnection.connect(cluster.uri)
        let result = try connection.execute("SELECT current_user::text, current_database()::text, 42::int8")
        #expect(result.rowCount == 1 && result.columnCount == 3)
        #expect(result.text(0, 0) == "payments")
        #expect(result.text(0, 1) == "payments")
        #expect(result.int64(0, 2) == 42)
        #expect(connection.serverAddress == "127.0.0.1:\(cluster.port)")
        #expect(connection.parameterStatus("server_version")?.isEmpty == false)
        #expect(connection.parameterStatus("in_hot_standby") == "off")
        #expect(connection.parameterStatus("no_such_parameter") == nil)
        #expect(connection.socketDescriptor >= 0)
        #expect(!connection.isBroken)
        connection.close()
        connection.close()
        #expect(connection.isBroken)
        #expect(connection.socketDescriptor == -1)
        #expect(throws: PostgresError.self) { try connection.execute("SELECT 1") }
    }

    @Test func everyParameterTypeRoundTripsInBinary() throws {
        let connection = try PostgresConnection.connect(try PostgresCluster.shared().uri)
        var generator = SystemRandomNumberGenerator()
        let mebibyte = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let cases: [(int64: Int64, int32: Int32, text: String, bytes: [UInt8], bool: Bool)] = [
            (Int64.min, Int32.min, "", [], false),
            (Int64.max, Int32.max, "héllo ✓ 日本", [0, 0, 1, 0, 255, 0], true),
            (-1, -1, "a\tb\"c'd\\e", [0], true),
            (0, 0, String(repeating: "x", count: 100_000), mebibyte, false),
        ]
        for value in cases {
            let result = try connection.execute(
                """
                SELECT $1::int8, $2::int4, $3::text, $4::bytea, $5::bool, $6::text IS NULL, $6::text,
                       octet_length($4::bytea)::int8, octet_length($3::text)::int8, $3::text = '', (-2)::int2
                """,
                [.int64(value.int64), .int32(value.int32), .text(value.text), .bytes(value.bytes), .bool(value.bool), .null])
            #expect(result.int64(0, 0) == value.int64)
            #expect(result.int64(0, 1) == Int64(value.int32))
            #expect(result.text(0, 2) == value.text)
            #expect(result.bytes(0, 3) == value.bytes)
            #expect(result.bool(0, 4) == value.bool)
            #expect(result.bool(0, 5) == true)
            #expect(result.isNull(0, 6) && result.text(0, 6) == nil && result.int64(0, 6) == nil)
            #expect(!result.isNull(0, 3), "an empty bytea is not NULL")
            #expect(result.int64(0, 7) == Int64(value.bytes.count), "the server saw every byte")
            #expect(result.int64(0, 8) == Int64(value.text.utf8.count))
            #expect(result.bool(0, 9) == value.text.isEmpty, "an empty string is not NULL")
            #expect(result.int64(0, 10) == -2)
        }
    }

    @Test func affectedRowsCountsWhatAStatementChanged() throws {
        let connection = try PostgresConnection.connect(try PostgresCluster.shared().uri)
        try connection.executeScript("CREATE TEMP TABLE counted (n int8); INSERT INTO counted VALUES (1), (2), (3);")
        #expect(try connection.execute("UPDATE counted SET n = n + $1 WHERE n >= $2", [.int64(10), .int64(2)]).affectedRows == 2)
        #expect(try connection.execute("DELETE FROM counted WHERE n = 99").affectedRows == 0)
        let rows = try connection.execute("SELECT n FROM counted ORDER BY n")
        #expect((0..<rows.rowCount).map { rows.int64($0, 0) } == [1, 12, 13])
        #expect(try connection.execute("CREATE TEMP TABLE other (n int8)").affectedRows == 0)
    }

    @Test func aWrongPasswordIsAnAuthenticationFailureOnOneLine() throws {
        let cluster = try PostgresCluster.shared()
        let error = try #require(throws: PostgresError.self) {
            try PostgresConnection.connect("postgresql://payments:wrong@127.0.0.1:\(cluster.port)/payments")
        }
        #expect(error.kind == .authentication)
        #expect(error.sqlState == "28P01")
        #expect(error.message.contains("password authentication failed for user \"payments\""), "\(error)")
        #expect(!error.message.contains("\n") && !error.message.contains("FATAL"), "\(error)")
        #expect(error.description == error.message)
    }

    @Test func anUnknownDatabaseOrRoleIsAnAuthenticationFailure() throws {
        let port = try PostgresCluster.shared().port
        let database = try #require(throws: PostgresError.self) {
            try PostgresConnection.connect("postgresql://payments:secret@127.0.0.1:\(port)/nowhere")
        }
        #expect(database.kind == .authentication && database.sqlState == "3D000", "\(database)")
        let role = try #require(throws: PostgresError.self) {
            try PostgresConnection.connect("postgresql://nobody@127.0.0.1:\(port)/payments")
        }
        #expect(role.kind == .authentication && role.sqlState == "28000", "\(role)")
        #expect(!role.message.contains("\n"))
    }

    @Test func aPortWithoutAServerIsUnreachableAtOnce() throws {
        let port = try PostgresCluster.Tool.freeLoopbackPort()
        let started = Date()
        let error = try #require(throws: PostgresError.self) {
            try PostgresConnection.connect("postgresql://payments:secret@127.0.0.1:\(port)/payments?connect_timeout=5")
        }
        #expect(error.kind == .unreachable)
        #expect(error.sqlState == nil)
        #expect(error.message.contains("\(port)") && !error.message.contains("\n"), "\(error)")
        #expect(Date().timeIntervalSince(started) < 2)
    }

    @Test func aWriteInAReadOnlyTransactionIsReadOnly() throws {
        let connection = try PostgresConnection.connect(try PostgresCluster.shared().uri)
        let table = "read_only_\(UInt32.random(in: 0...UInt32.max))"
        try connection.execute("CREATE TABLE \(table) (n int8)")
        defer { _ = try? connection.execute("DROP TABLE \(table)") }
        try connection.execute("SET default_transaction_read_only = on")
        let error = try #require(throws: PostgresError.self) {
            try connection.execute("INSERT INTO \(table) VALUES ($1)", [.int64(1)])
        }
        #expect(error.kind == .readOnly && error.sqlState == "25006", "\(error)")
        #expect(error.message.contains("read-only transaction"), "\(error)")
        #expect(!connection.isBroken)
        try connection.execute("SET default_transaction_read_only = off")
        #expect(try connection.execute("INSERT INTO \(table) VALUES ($1)", [.int64(1)]).affectedRows == 1)
    }

    @Test func aServerErrorKeepsTheConnection() throws {
        let connection = try PostgresConnection.connect(try PostgresCluster.shared().uri)
        let error = try #require(throws: PostgresError.self) { try connection.execute("SELECT * FROM no_such_table") }
        #expect(error.kind == .server && error.sqlState == "42P01", "\(error)")
        #expect(!error.message.contains("\n") && !error.message.contains("LINE 1"), "\(error)")
        let unique = try #require(throws: PostgresError.self) {
            try connection.executeScript("CREATE TEMP TABLE u (n int8 PRIMARY KEY); INSERT INTO u VALUES (1), (1);")
        }
        #expect(unique.kind == .server && unique.sqlState == "23505", "\(unique)")
        #expect(unique.message.contains("(Key (n)=(1) already exists.)"), "the detail is kept: \(unique)")
        #expect(try connection.execute("SELECT 7::int4").int64(0, 0) == 7)
    }

    @Test func aHundredSyncedStatementsComeBackInOrder() throws {
        let connection = try PostgresConnection.connect(try PostgresCluster.shared().uri)
        try connection.execute("CREATE TEMP TABLE pipelined (n int8)")
        try connection.enterPipelineMode()
        #expect(throws: PostgresError.self) { try connection.execute("SELECT 1") }
        for n in 0..<100 {
            try connection.send("INSERT INTO pipelined VALUES ($1) RETURNING n", [.int64(Int64(n))])
            try connection.pipelineSync()
        }
        try connection.flush()
        for n in 0..<100 {
            guard case .result(let result) = try connection.nextPipelineItem() else {
                Issue.record("statement \(n): expected its result, got a sync")
                return
            }
            #expect(result.affectedRows == 1 && result.int64(0, 0) == Int64(n))
            guard case .sync = try connection.nextPipelineItem() else {
                Issue.record("statement \(n): expected a sync")
                return
            }
        }
        try connection.exitPipelineMode()
        #expect(try connection.execute("SELECT count(*) FROM pipelined").int64(0, 0) == 100)
    }

    @Test func anErrorAbortsTheRestOfItsGroupOnly() throws {
        let connection = try PostgresConnection.connect(try PostgresCluster.shared().uri)
        try connection.execute("CREATE TEMP TABLE groups (n int8)")
        try connection.enterPipelineMode()
        let insert = "INSERT INTO groups VALUES ($1)"
        try connection.send(insert, [.int64(1)])
        try connection.send("SELECT 1 / $1", [.int32(0)])
        try connection.send(insert, [.int64(3)])
        try connection.pipelineSync()
        try connection.send(insert, [.int64(4)])
        try connection.pipelineSync()
        try connection.flush()

        guard case .result = try connection.nextPipelineItem() else { Issue.record("first statement"); return }
        let failed = try #require(throws: PostgresError.self) { try connection.nextPipelineItem() }
        #expect(failed.kind == .server && failed.sqlState == "22012", "\(failed)")
        let aborted = try #require(throws: PostgresError.self) { try connection.nextPipelineItem() }
        #expect(aborted.kind == .server, "\(aborted)")
        #expect(aborted.message == "pipeline aborted: division by zero", "\(aborted)")
        guard case .sync = try connection.nextPipelineItem() else { Issue.record("first sync"); return }
        guard case .result(let fourth) = try connection.nextPipelineItem() else { Issue.record("next group"); return }
        #expect(fourth.affectedRows == 1)
        guard case .sync = try connection.nextPipelineItem() else { Issue.record("second sync"); return }
        let nothing = try #require(throws: PostgresError.self) { try connection.nextPipelineItem() }
        #expect(nothing.kind == .usage)
        try connection.exitPipelineMode()
        // A group is one implicit transaction: the statement before the error is rolled back too.
        let rows = try connection.execute("SELECT n FROM groups ORDER BY n")
        #expect((0..<rows.rowCount).map { rows.int64($0, 0) } == [4])
    }

    @Test func aKilledServerIsAConnectionLost() throws {
        let cluster = try PostgresCluster.primary()
        let connection = try PostgresConnection.connect(cluster.uri)
        let pipelined = try PostgresConnection.connect(cluster.uri)
        try pipelined.enterPipelineMode()
        #expect(try connection.execute("SELECT 1::int4").int64(0, 0) == 1)
        cluster.kill()
        let error = try #require(throws: PostgresError.self) { try connection.execute("SELECT 1::int4") }
        #expect(error.kind == .connectionLost, "\(error)")
        #expect(!error.message.contains("\n"))
        #expect(connection.isBroken)

        let lost = try #require(throws: PostgresError.self) {
            try pipelined.send("SELECT 1::int4", [])
            try pipelined.pipelineSync()
            try pipelined.flush()
            _ = try pipelined.nextPipelineItem()
        }
        #expect(lost.kind == .connectionLost, "\(lost)")
        let again = try #require(throws: PostgresError.self) { try PostgresConnection.connect(cluster.uri) }
        #expect(again.kind == .unreachable)
    }

    @Test func severalHostsReachTheOneThatAnswers() throws {
        let cluster = try PostgresCluster.shared()
        let badPort = try PostgresCluster.Tool.freeLoopbackPort()
        let connection = try PostgresConnection.connect(
            "host=127.0.0.1,127.0.0.1 port=\(badPort),\(cluster.port) user=payments password=secret dbname=payments")
        #expect(connection.serverAddress == "127.0.0.1:\(cluster.port)")
        #expect(try connection.execute("SELECT 1::int8").int64(0, 0) == 1)
    }

    @Test func readWriteSessionsSkipAStandbyUntilItIsPromoted() throws {
        let primary = try PostgresCluster.primary()
        let standby = try primary.addSynchronousStandby()
        #expect(standby.isStandby && !primary.isStandby)
        let sync = try primary.psql("SELECT sync_state::text FROM pg_stat_replication")
        #expect(sync.rowCount == 1 && sync.text(0, 0) == "sync")

        let both = PostgresCluster.uri(of: [standby, primary])
        let writer = try PostgresConnection.connect(both)
        #expect(writer.serverAddress == "127.0.0.1:\(primary.port)")
        #expect(writer.parameterStatus("in_hot_standby") == "off")
        try writer.execute("CREATE TABLE replicated (n int8)")
        try writer.execute("INSERT INTO replicated VALUES ($1)", [.int64(7)])

        let reader = try PostgresConnection.connect(standby.uri)
        #expect(reader.parameterStatus("in_hot_standby") == "on")
        // Synchronous commit (remote flush) guarantees the standby has it; replay is quick.
        try standby.waitFor("replay on the standby", timeoutSeconds: 10) {
            try reader.execute("SELECT count(*) FROM replicated").int64(0, 0) == 1
        }
        let refused = try #require(throws: PostgresError.self) {
            try reader.execute("INSERT INTO replicated VALUES ($1)", [.int64(8)])
        }
        #expect(refused.kind == .readOnly && refused.sqlState == "25006", "\(refused)")

        primary.kill()
        try standby.promote()
        #expect(!standby.isStandby)
        let promoted = try PostgresConnection.connect(both)
        #expect(promoted.serverAddress == "127.0.0.1:\(standby.port)")
        try promoted.execute("INSERT INTO replicated VALUES ($1)", [.int64(8)])
        #expect(try promoted.execute("SELECT sum(n)::int8 FROM replicated").int64(0, 0) == 15)
    }
}
