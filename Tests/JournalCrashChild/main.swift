// A child process for the journal's crash tests: appends records whose payload is derived from
// their LSN, with group commit under `.always`, and prints every newly durable LSN as one line
// on standard output. The test kills it with SIGKILL at random moments and checks recovery.
//
// Usage: journal-crash-child DIR [SEGMENT_BYTES]
import PaymentsJournal
import PaymentsPlatform
import Glibc
import PaymentsTestSupport

/// The payload for `lsn`: its 8 bytes, then `lsn % 16` bytes derived from it.
func payloadBytes(_ lsn: UInt64) -> Int { 8 + Int(lsn % 16) }
func encode(_ lsn: UInt64, into dest: UnsafeMutableRawBufferPointer) {
    dest.storeBytes(of: lsn.littleEndian, as: UInt64.self)
    for i in 8..<dest.count { dest[i] = UInt8(truncatingIfNeeded: lsn &* 31 &+ UInt64(i)) }
}

/// Stop after this many records so a test that forgets to kill us still ends.
let maxRecords: UInt64 = 3_000_000
let snapshotEveryBatches = 40

func fail(_ message: String) -> Never {
    try? FileDescriptor.standardError.writeAll(Array("journal-crash-child: \(message)\n".utf8))
    exit(2)
}

/// The test that started us: should it die before killing us, we are adopted by another
/// process and stop (a child never outlives its test run).
let parent = getppid()

let args = CommandLine.arguments
guard args.count >= 2 else { fail("usage: journal-crash-child DIR [SEGMENT_BYTES]") }
let segmentBytes = args.count > 2 ? Int(args[2]) ?? 65536 : 65536

do throws(JournalError) {
    let journal = try Journal.open(JournalOptions(directory: args[1], segmentBytes: segmentBytes))
    _ = journal.takeSnapshotPayload()
    let committer = try GroupCommitter(journal: journal, policy: .always)
    var reported = journal.durableLSN
    var batches = 0
    var state = SplitMix64(seed: UInt64(getpid()))
    while journal.lastLSN < maxRecords {
        if getppid() != parent { fail("the test process is gone") }
        let count = Int(state.next() % 300) + 1
        for _ in 0..<count {
            let lsn = journal.lastLSN + 1
            _ = try journal.appendRecord(payloadSize: payloadBytes(lsn)) { encode(lsn, into: $0) }
        }
        try journal.flush()
        committer.requestSync()
        batches += 1
        if batches % snapshotEveryBatches == 0 {
            var snap = [UInt8](repeating: 0xA5, count: 4096)
            let lsn = journal.lastLSN
            snap.withUnsafeMutableBytes { $0.storeBytes(of: lsn.littleEndian, as: UInt64.self) }
            try snap.withUnsafeBytes { raw in
                Result(catching: { () throws(JournalError) in try journal.writeSnapshot(throughLSN: lsn, payload: raw) })
            }.get()
        }
        if state.next() % 4 == 0 { _ = try committer.waitDurable(journal.lastLSN) }
        if let error = committer.failure { throw error }
        let durable = committer.durableLSN
        if durable > reported {
            reported = durable
            try? FileDescriptor.standardOutput.writeAll(Array("\(durable)\n".utf8))
        }
    }
    committer.stop()
    try journal.close()
} catch {
    fail("\(error)")
}

