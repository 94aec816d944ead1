import Foundation
import Testing
@testable import PaymentsJournal
import PaymentsPlatform

/// Segment format 2 beside format 1 (the change stream, SPEC §10): a format 1 segment written
/// by hand is still replayed, never appended to, and not offered to cursors; cursors read
/// format 2 segments in bounded steps across roll-overs.
@Suite struct FormatVersionTests {
    /// A format 1 segment image, byte by byte: the header of the time, then `records` framed.
    static func version1Segment(firstLSN: UInt64, records: [[UInt8]]) -> [UInt8] {
        var image = Array("PAYJRNL\0".utf8)
        image += [1, 0, 0, 0]  // format version 1, little-endian
        image += withUnsafeBytes(of: firstLSN.littleEndian) { Array($0) }
        let crc = image.withUnsafeBytes { CRC32C.checksum($0) }
        image += withUnsafeBytes(of: crc.littleEndian) { Array($0) }
        #expect(image.count == 24)
        for payload in records { image += framedRecord(payload) }
        return image
    }

    @Test func aVersion1JournalIsReplayedAndTheNextRecordsGoToAVersion2Segment() throws {
        let dir = TempDir()
        let old = (1...50 as ClosedRange<UInt64>).map(testPayload)
        writeFileBytes(dir.file("journal-0000000000000001.seg"), Self.version1Segment(firstLSN: 1, records: old))
        let journal = try Journal.open(JournalOptions(directory: dir.path))
        expectTestRecords(try replayAll(journal), first: 1, last: 50)
        #expect(journal.oldestReadableLSN == 51, "format 1 records are not streamed")
        #expect(journal.makeCursor(from: 1).readAll(through: 50) == .gone(oldest: 51))
        try appendTestRecords(journal, through: 80)
        try journal.sync()
        #expect(dir.segmentNames() == ["journal-0000000000000001.seg", "journal-0000000000000033.seg"])
        let header = Array(fileBytes(dir.file("journal-0000000000000033.seg")).prefix(24))
        #expect(Array(header.dropFirst(8).prefix(4)) == [2, 0, 0, 0], "new segments are format 2")
        #expect(fileBytes(dir.file("journal-0000000000000001.seg")) == Self.version1Segment(firstLSN: 1, records: old),
                "the format 1 segment is left as it was")
        var read: [(UInt64, [UInt8])] = []
        let cursor = journal.makeCursor(from: 51)
        #expect(cursor.readAll(through: 80) { read.append(($0, Array($1))) } == .records(30))
        expectTestRecords(read, first: 51, last: 80)
        try journal.close()
        // Opened again: both segments replay, the journal goes on in the format 2 one.
        let again = try Journal.open(JournalOptions(directory: dir.path))
        expectTestRecords(try replayAll(again), first: 1, last: 80)
        #expect(again.oldestReadableLSN == 51)
        try again.close()
    }

    @Test func anEmptyVersion1SegmentIsReplacedByAVersion2One() throws {
        let dir = TempDir()
        writeFileBytes(dir.file("journal-0000000000000001.seg"), Self.version1Segment(firstLSN: 1, records: []))
        let journal = try Journal.open(JournalOptions(directory: dir.path))
        try appendTestRecords(journal, through: 3)
        #expect(Array(fileBytes(dir.file("journal-0000000000000001.seg")).dropFirst(8).prefix(4)) == [2, 0, 0, 0])
        try journal.close()
    }

    @Test func aFormat3SegmentIsRefusedByName() throws {
        let dir = TempDir()
        var image = Self.version1Segment(firstLSN: 1, records: [])
        image[8] = 3
        let crc = image[0..<20].withUnsafeBytes { CRC32C.checksum($0) }
        image.replaceSubrange(20..<24, with: withUnsafeBytes(of: crc.littleEndian) { Array($0) })
        writeFileBytes(dir.file("journal-0000000000000001.seg"), image)
        let found = damage { _ = try Journal.open(JournalOptions(directory: dir.path)) }
        #expect(found?.offset == 8)
        #expect(found?.reason.contains("unknown journal segment format version 3 (this build reads 1 to 2)") == true, "\(String(describing: found))")
    }

    @Test func aCursorReadsInBoundedStepsAcrossRollOvers() throws {
        let dir = TempDir()
        let journal = try Journal.open(JournalOptions(directory: dir.path, segmentBytes: 1024))
        try appendTestRecords(journal, through: 500, batch: 37)
        #expect(dir.segmentNames().count > 10)
        let cursor = journal.makeCursor(from: 123)
        var read: [(UInt64, [UInt8])] = []
        var steps = 0
        while cursor.nextLSN <= 500 {
            let progress = try cursor.read(through: 500, maxRecords: 7) { read.append(($0, Array($1))) }
            guard case .records(let n) = progress, n > 0, n <= 7 else { Issue.record("step \(steps): \(progress)"); break }
            steps += 1
        }
        expectTestRecords(read, first: 123, last: 500)
        // Nothing past the limit it is given, and more once more is written.
        #expect(try cursor.read(through: 500, maxRecords: 100) { _, _ in } == .records(0))
        try appendTestRecords(journal, through: 510)
        read = []
        #expect(try cursor.read(through: 510, maxRecords: 100) { read.append(($0, Array($1))) } == .records(10))
        expectTestRecords(read, first: 501, last: 510)
        try journal.close()
    }
}

extension JournalCursor {
    /// Everything through `lsn` in one go (test helper); the progress, or `.records(-1)` on a throw.
    func readAll(through lsn: UInt64, _ body: (UInt64, UnsafeRawBufferPointer) -> Void = { _, _ in }) -> CursorProgress {
        var total = 0
        while true {
            guard let progress = try? read(through: lsn, maxRecords: 1000, body) else { return .records(-1) }
            guard case .records(let n) = progress else { return progress }
            if n == 0 { return .records(total) }
            total += n
        }
    }
}
