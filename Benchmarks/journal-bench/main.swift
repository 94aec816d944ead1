// journal-bench: how fast the journal appends durably, replays and recovers, next to a plain
// `write` + `fdatasync` loop of the same bytes measured in the same run.
//
//   swift run -c release journal-bench [RECORDS] [SNAPSHOT_MB]
//
// Records carry 15-byte payloads (about one transaction), appended in batches of 1000.
import Glibc
import PaymentsJournal
import PaymentsPlatform

let args = CommandLine.arguments
let totalRecords = args.count > 1 ? UInt64(args[1]) ?? 10_000_000 : 10_000_000
let snapshotBytes = (args.count > 2 ? Int(args[2]) ?? 100 : 100) << 20
let batchRecords = 1000
let payloadBytes = 15
let frameBytes = payloadBytes + 8

// MARK: Helpers (integers only: rates are printed with two decimals from integer arithmetic)

func elapsed(since start: UInt64) -> UInt64 { max(MonotonicClock.nanoseconds() - start, 1) }

func twoDecimals(_ hundredths: UInt64) -> String {
    let frac = hundredths % 100
    return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
}

/// `count` per second in millions, e.g. "12.34 M".
func millionsPerSecond(_ count: UInt64, _ nanos: UInt64) -> String {
    twoDecimals(count * 100_000 / nanos)  // count / (nanos / 1e9) / 1e6, in hundredths
}

func megabytesPerSecond(_ bytes: UInt64, _ nanos: UInt64) -> String {
    twoDecimals(bytes * 100_000 / nanos)
}

func milliseconds(_ nanos: UInt64) -> String { twoDecimals(nanos / 10_000) }

func ratio(_ a: UInt64, over b: UInt64) -> String { "x" + twoDecimals(a * 100 / max(b, 1)) }

func encode(_ lsn: UInt64, _ dest: UnsafeMutableRawBufferPointer) {
    dest.storeBytes(of: lsn.littleEndian, as: UInt64.self)
    dest.storeBytes(of: UInt32(truncatingIfNeeded: lsn &* 2_654_435_761).littleEndian, toByteOffset: 8, as: UInt32.self)
    dest[12] = 1; dest[13] = 2; dest[14] = 3
}

func freshDirectory(_ name: String) -> String {
    let dir = "/tmp/journal-bench-\(getpid())-\(name)"
    removeDirectory(dir)
    try! FileSystem.makeDirectory(dir)
    return dir
}

func removeDirectory(_ dir: String) {
    guard FileSystem.isDirectory(dir) else { return }
    for name in (try? FileSystem.listDirectory(dir)) ?? [] { try? FileSystem.remove(dir + "/" + name) }
    rmdir(dir)
}

func check(_ ok: Bool, _ what: String) { if !ok { print("FAILED: \(what)"); exit(1) } }

// MARK: The runs

/// Appends `records` with `.always` group commit. With `waitEachBatch` every batch waits for its
/// own sync (one client, strictly request-reply); without, the loop never waits, as a daemon with
/// many clients would not. Returns nanoseconds until everything is durable.
func append(_ dir: String, records: UInt64, waitEachBatch: Bool) throws(JournalError) -> UInt64 {
    let journal = try Journal.open(JournalOptions(directory: dir))
    let committer = try GroupCommitter(journal: journal, policy: .always)
    let start = MonotonicClock.nanoseconds()
    while journal.lastLSN < records {
        for _ in 0..<batchRecords {
            let lsn = journal.lastLSN + 1
            _ = try journal.appendRecord(payloadSize: payloadBytes) { encode(lsn, $0) }
        }
        try journal.flush()
        committer.requestSync()
        if waitEachBatch { try committer.waitDurable(journal.lastLSN) }
    }
    try committer.waitDurable(journal.lastLSN)
    let nanos = elapsed(since: start)
    committer.stop()
    try journal.close()
    return nanos
}

/// The baseline: the same bytes, one `write` + `fdatasync` per batch, no journal.
func baseline(_ dir: String, records: UInt64) throws(SystemError) -> UInt64 {
    let fd = try FileDescriptor.open(dir + "/baseline", OpenFlags.writeOnly | OpenFlags.create, mode: 0o600)
    let batch = [UInt8](repeating: 0x42, count: batchRecords * frameBytes)
    let start = MonotonicClock.nanoseconds()
    var done: UInt64 = 0
    while done < records {
        try fd.writeAll(batch)
        try fd.dataSync()
        done += UInt64(batchRecords)
    }
    let nanos = elapsed(since: start)
    try fd.close()
    return nanos
}

/// Opens (recovery: validates every checksum) and replays with a callback that sums payload
/// bytes. Returns (open nanoseconds, replay nanoseconds, records replayed).
func recover(_ dir: String) throws(JournalError) -> (UInt64, UInt64, UInt64, Int) {
    let start = MonotonicClock.nanoseconds()
    let journal = try Journal.open(JournalOptions(directory: dir))
    let snapshot = journal.takeSnapshotPayload()
    let opened = elapsed(since: start)
    var count: UInt64 = 0
    var sum: UInt64 = 0
    let replayStart = MonotonicClock.nanoseconds()
    try journal.replay { lsn, payload in
        count += 1
        sum &+= UInt64(payload[0]) &+ lsn
    }
    let replayed = elapsed(since: replayStart)
    check(sum != 0 || count == 0, "replay")
    try journal.close()
    return (opened, replayed, count, snapshot?.count ?? 0)
}

func writeSnapshot(_ dir: String, afterRecords: UInt64) throws(JournalError) {
    let journal = try Journal.open(JournalOptions(directory: dir))
    let payload = UnsafeMutableRawBufferPointer.allocate(byteCount: snapshotBytes, alignment: 16)
    defer { payload.deallocate() }
    for i in 0..<snapshotBytes { payload[i] = UInt8(truncatingIfNeeded: i &* 7) }
    try journal.writeSnapshot(throughLSN: journal.lastLSN, payload: UnsafeRawBufferPointer(payload))
    while journal.lastLSN < totalRecords + afterRecords {
        let lsn = journal.lastLSN + 1
        _ = try journal.appendRecord(payloadSize: payloadBytes) { encode(lsn, $0) }
    }
    try journal.close()
}

// MARK: Main

do {
    let bytes = totalRecords * UInt64(frameBytes)
    print("journal-bench: \(totalRecords) records of \(payloadBytes) bytes (\(frameBytes) framed), batches of \(batchRecords)")
    let dir = freshDirectory("append")

    let baseRecords = min(totalRecords, 2_000_000)
    let baseNanos = try baseline(freshDirectory("baseline"), records: baseRecords)
    removeDirectory("/tmp/journal-bench-\(getpid())-baseline")
    let baseRate = baseRecords * 1_000_000_000 / baseNanos
    print("baseline write+fdatasync per batch: \(millionsPerSecond(baseRecords, baseNanos)) M records/s, "
          + "\(megabytesPerSecond(baseRecords * UInt64(frameBytes), baseNanos)) MB/s")

    let waitNanos = try append(freshDirectory("wait"), records: baseRecords, waitEachBatch: true)
    removeDirectory("/tmp/journal-bench-\(getpid())-wait")
    let waitRate = baseRecords * 1_000_000_000 / waitNanos
    print("append, always, each batch waits for its sync: \(millionsPerSecond(baseRecords, waitNanos)) M records/s "
          + "(\(ratio(waitRate, over: baseRate)) baseline)")

    let appendNanos = try append(dir, records: totalRecords, waitEachBatch: false)
    let appendRate = totalRecords * 1_000_000_000 / appendNanos
    print("append, always, group commit (loop never waits): \(millionsPerSecond(totalRecords, appendNanos)) M records/s, "
          + "\(megabytesPerSecond(bytes, appendNanos)) MB/s, \(milliseconds(appendNanos)) ms until all durable "
          + "(\(ratio(appendRate, over: baseRate)) baseline)")

    let (openNanos, replayNanos, replayed, _) = try recover(dir)
    check(replayed == totalRecords, "replayed \(replayed) of \(totalRecords)")
    print("recovery without snapshot: open+validate \(milliseconds(openNanos)) ms, replay \(milliseconds(replayNanos)) ms "
          + "(\(millionsPerSecond(replayed, replayNanos)) M records/s), total \(milliseconds(openNanos + replayNanos)) ms")

    let after: UInt64 = 100_000
    try writeSnapshot(dir, afterRecords: after)
    let (sOpen, sReplay, sReplayed, sBytes) = try recover(dir)
    check(sReplayed == after && sBytes == snapshotBytes, "snapshot recovery")
    print("recovery with a \(snapshotBytes >> 20) MiB snapshot + \(after) later records: open+validate+load snapshot "
          + "\(milliseconds(sOpen)) ms, replay \(milliseconds(sReplay)) ms, total \(milliseconds(sOpen + sReplay)) ms")
    removeDirectory(dir)
} catch {
    print("journal-bench: \(error)")
    exit(1)
}
