import ChildProcessSupport
import Foundation
import Testing
@testable import PaymentsJournal
import PaymentsPlatform

/// A fresh directory under /tmp, removed when the test's scope ends.
final class TempDir {
    let path: String
    init() {
        var template = Array("/tmp/journal-test.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(cString: template)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
    func names() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
    func segmentNames() -> [String] { names().filter { $0.hasSuffix(".seg") } }
    func snapshotNames() -> [String] { names().filter { $0.hasPrefix("snapshot-") } }
}

/// The test payload for `lsn`: recognisable, variable length (8...39 bytes).
func testPayload(_ lsn: UInt64) -> [UInt8] {
    var bytes = withUnsafeBytes(of: lsn.littleEndian) { Array($0) }
    for i in 0..<Int(lsn % 32) { bytes.append(UInt8(truncatingIfNeeded: lsn &* 7 &+ UInt64(i))) }
    return bytes
}

/// Appends records with `testPayload` until `lastLSN == through`, flushing every `batch`.
func appendTestRecords(_ journal: Journal, through: UInt64, batch: Int = 100) throws {
    var inBatch = 0
    while journal.lastLSN < through {
        let payload = testPayload(journal.lastLSN + 1)
        try payload.withUnsafeBytes { raw in try journal.append(raw) }
        inBatch += 1
        if inBatch == batch { try journal.flush(); inBatch = 0 }
    }
    try journal.flush()
}

/// Every record the journal replays, as (LSN, payload).
func replayAll(_ journal: Journal) throws -> [(UInt64, [UInt8])] {
    var out: [(UInt64, [UInt8])] = []
    try journal.replay { lsn, payload in out.append((lsn, Array(payload))) }
    return out
}

/// Checks that `records` are exactly `first...last` with their test payloads.
func expectTestRecords(_ records: [(UInt64, [UInt8])], first: UInt64, last: UInt64,
                       sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(records.count == Int(last + 1 - first), sourceLocation: sourceLocation)
    for (i, (lsn, payload)) in records.enumerated() {
        let want = first + UInt64(i)
        if lsn != want || payload != testPayload(want) {
            Issue.record("record \(i): LSN \(lsn) (want \(want)), payload matches: \(payload == testPayload(want))",
                         sourceLocation: sourceLocation)
            return
        }
    }
}

func fileBytes(_ path: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path) ?? Data()) }
func writeFileBytes(_ path: String, _ bytes: [UInt8]) { FileManager.default.createFile(atPath: path, contents: Data(bytes)) }

/// Writes a journal of records 1...count in `dir` and closes it.
func makeJournal(_ dir: TempDir, count: UInt64, segmentBytes: Int = 64 << 20) throws {
    let journal = try Journal.open(JournalOptions(directory: dir.path, segmentBytes: segmentBytes))
    try appendTestRecords(journal, through: count)
    try journal.close()
}

/// `payload` framed as a segment holds it: length, checksum, payload.
func framedRecord(_ payload: [UInt8]) -> [UInt8] {
    var frame = [UInt8](repeating: 0, count: RecordFraming.headerBytes) + payload
    frame.withUnsafeMutableBytes { RecordFraming.seal($0.baseAddress!, length: payload.count) }
    return frame
}

/// Byte offsets of each record in a segment image.
func recordOffsets(_ image: [UInt8]) -> [Int] {
    var offsets: [Int] = []
    var at = SegmentFormat.headerBytes
    while at + RecordFraming.headerBytes <= image.count {
        offsets.append(at)
        let n = Int(image[at]) | Int(image[at + 1]) << 8 | Int(image[at + 2]) << 16 | Int(image[at + 3]) << 24
        at += RecordFraming.headerBytes + n
    }
    return offsets
}

enum FileManagerShim {
    static func permissions(_ path: String) throws -> Int {
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        return (attrs[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }
}

/// The `.damaged` error's file and offset, or nil for any other outcome.
func damage(_ body: () throws -> Void) -> (file: String, offset: Int, reason: String)? {
    do { try body() } catch let JournalError.damaged(file, offset, reason) { return (file, offset, reason) } catch { return nil }
    return nil
}

/// Upper bound on any wait in these tests: reached only when something is broken.
let journalTestPatienceSeconds = 20.0

/// A wait that ran out of time, naming what it waited for.
struct JournalTestTimeout: Error, CustomStringConvertible {
    let description: String
}

/// Waits on the committer's wake descriptor, as the daemon's loop does, until `condition`
/// holds; throws naming `what` after `seconds`.
func waitForWakes(
    _ committer: GroupCommitter, _ what: String, seconds: Double = journalTestPatienceSeconds,
    until condition: () -> Bool
) throws {
    let deadline = MonotonicClock.milliseconds() + UInt64(seconds * 1000)
    while !condition() {
        let now = MonotonicClock.milliseconds()
        guard now < deadline else { throw JournalTestTimeout(description: "no \(what) within \(seconds) s") }
        var entries = [PollEntry(committer.wakeDescriptor, read: true, write: false)]
        _ = try Poll.wait(&entries, timeoutMilliseconds: Int32(min(deadline - now, 1000)))
        committer.acknowledgeWakeup()
    }
}

/// Runs `body` (a call that blocks until another thread acts, such as `waitDurable`) on a
/// thread of its own and waits for it at most `seconds`; throws naming `what` when it is still
/// blocked then (the thread is left behind: the test fails instead of hanging the suite).
func withTimeLimit<T: Sendable>(
    _ what: String, seconds: Double = journalTestPatienceSeconds, _ body: @escaping @Sendable () throws -> T
) throws -> T {
    let box = TimeLimitBox<T>()
    let done = DispatchSemaphore(value: 0)
    Thread {
        box.result = Result { try body() }
        done.signal()
    }.start()
    guard done.wait(timeout: .now() + seconds) == .success, let result = box.result else {
        throw JournalTestTimeout(description: "\(what) did not return within \(seconds) s")
    }
    return try result.get()
}

/// What `withTimeLimit`'s thread hands back; read only after the semaphore says it is set.
final class TimeLimitBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}

