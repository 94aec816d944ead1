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
