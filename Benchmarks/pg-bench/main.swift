// pg-bench: the raw cost of PostgreSQL alone, for Benchmarks/replication.sh. A minimal libpq
// loop (through PaymentsPostgres, pipeline mode) that does what the replicated journal's
// commits do at the storage level and nothing else: RECORDS framed records (length + CRC-32C,
// as the journal frames them) in rows of BATCH records, one row per PostgreSQL transaction
// (`INSERT` + pipeline sync = an implicit transaction), up to IN_FLIGHT commits in flight.
//
//   pg-bench CONNINFO RECORDS BATCH [FRAME_BYTES] [IN_FLIGHT] [STORAGE]
//
//   FRAME_BYTES  bytes per framed record, header included (default 30: 8 header + 22 payload)
//   IN_FLIGHT    commits in flight at once (default 4, as the daemon)
//   STORAGE      external (default: the column is SET STORAGE EXTERNAL, as payments.batches)
//                or extended (PostgreSQL's default: TOAST tries to compress the bytes)
//
// Table `bench_records` (dropped and created again): first bigint primary key, last bigint,
// records bytea. Prints one line: records=... rows=... seconds=... records_per_s=...
// rows_per_s=... commit_ms_avg=... cpu_s=... (this process's CPU during the inserts)
import Glibc
import PaymentsJournal
import PaymentsPostgres

/// One line on standard error.
func note(_ message: String) {
    var line = "pg-bench: " + message + "\n"
    line.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

func fail(_ message: String) -> Never {
    note(message)
    exit(1)
}

let args = CommandLine.arguments
guard args.count >= 4, let totalRecords = Int(args[2]), let batchRecords = Int(args[3]),
      totalRecords > 0, batchRecords > 0
else {
    fail("usage: pg-bench CONNINFO RECORDS BATCH [FRAME_BYTES] [IN_FLIGHT] [external|extended]")
}
let frameBytes = args.count > 4 ? Int(args[4]) ?? 30 : 30
let inFlightLimit = args.count > 5 ? Int(args[5]) ?? 4 : 4
let storage = args.count > 6 ? args[6] : "external"
guard frameBytes >= RecordFraming.headerBytes, inFlightLimit > 0, ["external", "extended"].contains(storage) else {
    fail("FRAME_BYTES must be >= \(RecordFraming.headerBytes), IN_FLIGHT > 0, STORAGE external or extended")
}
let payloadBytes = frameBytes - RecordFraming.headerBytes

/// `value` with `places` decimals (no Foundation here).
func fixed(_ value: Double, _ places: Int) -> String {
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let scaled = Int64((value * scale).rounded())
    let whole = scaled / Int64(scale), frac = String(scaled % Int64(scale))
    return places == 0 ? "\(whole)" : "\(whole)." + String(repeating: "0", count: places - frac.count) + frac
}

func nanoseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

/// User + system CPU of this process so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// Pseudo-random payload bytes (so that TOAST compression, when tried, gains nothing, as with
/// real records), sealed as the journal seals them.
struct SplitMix {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func makeRow(records: Int, frameBytes: Int, payloadBytes: Int, _ random: inout SplitMix) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: records * frameBytes)
    bytes.withUnsafeMutableBytes { raw in
        let base = raw.baseAddress!
        for i in 0..<records {
            let frame = base + i * frameBytes
            var j = 0
            while j < payloadBytes {
                var word = random.next()
                let n = min(8, payloadBytes - j)
                memcpy(frame + RecordFraming.headerBytes + j, &word, n)
                j += n
            }
            RecordFraming.seal(frame, length: payloadBytes)
        }
    }
    return bytes
}

do {
    let connection = try PostgresConnection.connect(args[1])
    defer { connection.close() }
    var setup = """
        SET client_min_messages = warning;
        DROP TABLE IF EXISTS bench_records;
        CREATE TABLE bench_records (first bigint PRIMARY KEY, last bigint NOT NULL, records bytea NOT NULL);
        """
    if storage == "external" { setup += "ALTER TABLE bench_records ALTER COLUMN records SET STORAGE EXTERNAL;" }
    try connection.executeScript(setup)
    let settings = try connection.execute(
        "SELECT current_setting('synchronous_commit'), current_setting('synchronous_standby_names'), current_setting('fsync')")
    note("synchronous_commit=\(settings.text(0, 0) ?? "?") synchronous_standby_names='\(settings.text(0, 1) ?? "?")' "
          + "fsync=\(settings.text(0, 2) ?? "?"), \(totalRecords) records of \(frameBytes) bytes, \(batchRecords) a row, "
          + "\(inFlightLimit) in flight, storage \(storage)")

    // Rows are made before the clock starts: the figure is PostgreSQL's, not the generator's.
    var rows: [(first: Int64, last: Int64, bytes: [UInt8])] = []
    var random = SplitMix()
    var next = 1
    while next <= totalRecords {
        let count = min(batchRecords, totalRecords - next + 1)
        rows.append((Int64(next), Int64(next + count - 1), makeRow(records: count, frameBytes: frameBytes, payloadBytes: payloadBytes, &random)))
        next += count
    }

    try connection.enterPipelineMode()
    let insert = "INSERT INTO bench_records (first, last, records) VALUES ($1, $2, $3)"
    var sentAt: [UInt64] = []  // per commit in flight, oldest first
    var commitNanos: UInt64 = 0
    var sentRows = 0, doneRows = 0
    let cpuAtStart = cpuSeconds()
    let start = nanoseconds()
    while doneRows < rows.count {
        var sent = false
        while sentRows < rows.count && sentAt.count < inFlightLimit {
            let row = rows[sentRows]
            try connection.send(insert, [.int64(row.first), .int64(row.last), .bytes(row.bytes)])
            try connection.pipelineSync()
            sentAt.append(nanoseconds())
            sentRows += 1
            sent = true
        }
        if sent { try connection.flush() }
        // The oldest commit: its INSERT's result, then its sync (= COMMIT done).
        guard case .result(let result) = try connection.nextPipelineItem(), result.affectedRows == 1 else {
            fail("row \(doneRows): INSERT did not insert one row")
        }
        guard case .sync = try connection.nextPipelineItem() else { fail("row \(doneRows): expected the sync") }
        commitNanos += nanoseconds() - sentAt.removeFirst()
        doneRows += 1
    }
    let elapsed = nanoseconds() - start
    try connection.exitPipelineMode()
    let check = try connection.execute("SELECT count(*), coalesce(sum(last - first + 1), 0)::bigint FROM bench_records")
    guard check.int64(0, 0) == Int64(rows.count), check.int64(0, 1) == Int64(totalRecords) else {
        fail("table holds \(check.int64(0, 0) ?? -1) rows / \(check.int64(0, 1) ?? -1) records, expected \(rows.count) / \(totalRecords)")
    }
    try connection.executeScript("DROP TABLE bench_records")
    let seconds = Double(elapsed) / 1e9
    let line = "records=\(totalRecords) rows=\(rows.count) seconds=\(fixed(seconds, 3)) "
        + "records_per_s=\(Int(Double(totalRecords) / seconds)) rows_per_s=\(Int(Double(rows.count) / seconds)) "
        + "commit_ms_avg=\(fixed(Double(commitNanos) / Double(rows.count) / 1e6, 2)) cpu_s=\(fixed(cpuSeconds() - cpuAtStart, 2))"
    print(line)
} catch {
    fail("\(error)")
}
