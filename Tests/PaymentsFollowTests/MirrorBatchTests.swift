import PaymentsFollow
import PaymentsPlatform
import PaymentsRedis
import Testing

@Suite struct MirrorBatchTests {
    func line(_ lsn: Int, client: Int, available: String, locked: Bool = false, snapshot: Bool = false) -> String {
        let account = #"{"client":\#(client),"available":"\#(available)","held":"0.0000","total":"\#(available)","locked":\#(locked)}"#
        return snapshot ? #"{"lsn":\#(lsn),"snapshot":true,"account":\#(account)}"#
            : #"{"lsn":\#(lsn),"type":"deposit","client":\#(client),"tx":\#(lsn),"amount":"1.0000","outcome":"ok","account":\#(account)}"#
    }

    func add(_ text: String, to batch: inout MirrorBatch) throws {
        let bytes = Array(text.utf8)
        let change = try ChangeLine.parse(bytes)
        bytes.withUnsafeBufferPointer { batch.add(change, from: $0) }
    }

    /// The commands of a batch, decoded back from RESP.
    func commands(_ bytes: [UInt8]) throws -> [[String]] {
        var reader = RESPReader()
        reader.append(bytes)
        var out: [[String]] = []
        while let value = try reader.next() {
            guard case .array(let items?) = value else { Issue.record("not an array: \(value)"); break }
            out.append(items.map { $0.text ?? "?" })
        }
        return out
    }

    @Test func coalescesAnAccountsChangesLastWins() throws {
        var batch = MirrorBatch()
        try add(line(1, client: 7, available: "1.0000"), to: &batch)
        try add(line(2, client: 3, available: "5.0000"), to: &batch)
        try add(line(3, client: 7, available: "2.0000", locked: true), to: &batch)
        #expect(batch.lines == 3 && batch.accounts == 2 && batch.lastLSN == 3)
        var out: [UInt8] = []
        let count = batch.encode(before: [], after: [["SET", "payments:lsn", "3", "XX"]], into: &out)
        #expect(count == 3)
        #expect(try commands(out) == [
            ["MULTI"],
            ["HSET", "account:7", "client", "7", "available", "2.0000", "held", "0.0000", "total", "2.0000", "locked", "true"],
            ["HSET", "account:3", "client", "3", "available", "5.0000", "held", "0.0000", "total", "5.0000", "locked", "false"],
            ["SET", "payments:lsn", "3", "XX"],
            ["EXEC"],
        ])
        batch.reset()
        #expect(batch.isEmpty && batch.accounts == 0)
        try add(line(4, client: 7, available: "9.0000"), to: &batch)
        out.removeAll()
        _ = batch.encode(before: [], after: [], into: &out)
        #expect(try commands(out)[1][5] == "9.0000")
    }

    /// The HSET written through a pointer: every width of client number and of amount.
    @Test(arguments: [0, 9, 10, 99, 100, 999, 1_000, 9_999, 10_000, 65_535])
    func encodesEveryClientWidthAndAmountForm(client: Int) throws {
        var batch = MirrorBatch()
        let long = "-123456789012345.0000"
        let line = #"{"lsn":1,"snapshot":true,"account":{"client":\#(client),"available":"\#(long)","held":"0.0000","total":"7.1250","locked":true}}"#
        try add(line, to: &batch)
        var out: [UInt8] = []
        _ = batch.encode(before: [], after: [], into: &out)
        #expect(try commands(out) == [
            ["MULTI"],
            ["HSET", "account:\(client)", "client", "\(client)", "available", long, "held", "0.0000", "total", "7.1250", "locked", "true"],
            ["EXEC"],
        ])
    }

    @Test func snapshotAndRecordsAreTold() throws {
        var batch = MirrorBatch()
        try add(line(5, client: 1, available: "1.0000", snapshot: true), to: &batch)
        #expect(batch.hasSnapshotLines && !batch.hasRecords)
        try add(line(6, client: 1, available: "2.0000"), to: &batch)
        #expect(batch.hasRecords && batch.accounts == 1)
    }
}

@Suite struct LSNFileTests {
    @Test func roundTripAndMissingAndDamaged() throws {
        let directory = "/tmp/lsnfile-test-\(Environment.processID)-\(UInt32.random(in: 0...UInt32.max))"
        try FileSystem.makeDirectory(directory)
        defer { for name in (try? FileSystem.listDirectory(directory)) ?? [] { try? FileSystem.remove(directory + "/" + name) } }
        let path = directory + "/lsn"
        #expect(try LSNFile.read(path) == nil)
        try LSNFile.write(path, 41, durable: false)
        #expect(try LSNFile.read(path) == 41)
        try LSNFile.write(path, 18_446_744_073_709_551_615, durable: true)
        #expect(try LSNFile.read(path) == UInt64.max)
        #expect(!FileSystem.exists(path + ".tmp"))
        let fd = try FileDescriptor.openForWriting(path)
        try fd.writeAll(Array("12x\n".utf8))
        try fd.close()
        #expect(throws: LSNFile.Damaged.self) { try LSNFile.read(path) }
    }
}
