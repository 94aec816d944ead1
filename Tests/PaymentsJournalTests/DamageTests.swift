import Foundation
import Testing
@testable import PaymentsJournal

@Suite struct DamageTests {
    /// Cutting the file anywhere inside the last record loses exactly that record, with a warning,
    /// and the torn bytes are gone from the file: the next record, shorter and different from the
    /// one torn, lands right after record 30 with nothing after it. (Writing back the very bytes
    /// that were torn off would hide a recovery that forgot to truncate.)
    @Test func tornTailAtEveryByteOfTheLastRecord() throws {
        let dir = TempDir()
        try makeJournal(dir, count: 31)   // record 31 carries 8 + 31 % 32 = 39 payload bytes
        let seg = dir.file(dir.segmentNames()[0])
        let pristine = fileBytes(seg)
        let lastStart = recordOffsets(pristine).last!
        let replacement: [UInt8] = [0xEE, 0x31]
        let expected = Array(pristine[..<lastStart]) + framedRecord(replacement)
        for cut in lastStart..<pristine.count {
            writeFileBytes(seg, Array(pristine[..<cut]))
            let journal = try Journal.open(JournalOptions(directory: dir.path))
            #expect(journal.recovery.lastLSN == 30)
            #expect(journal.recovery.truncatedBytes == cut - lastStart)
            #expect(journal.recovery.truncatedFile == seg || cut == lastStart)
            expectTestRecords(try replayAll(journal), first: 1, last: 30)
            try replacement.withUnsafeBytes { raw in try journal.append(raw) }   // right after the cut
            try journal.close()
            let image = fileBytes(seg)
            #expect(image == expected, "cut at \(cut): \(image.count) bytes, \(expected.count) expected (torn bytes left?)")
            let again = try Journal.open(JournalOptions(directory: dir.path))
            #expect(again.recovery.truncatedBytes == 0, "cut at \(cut): \(again.recovery.warnings)")
            let records = try replayAll(again)
            #expect(records.count == 31 && records.last?.1 == replacement, "cut at \(cut)")
            try again.close()
        }
    }

    /// What a power cut can leave behind (the file grew, its data never arrived): the last
    /// records read back as zeros, followed by more zeros. Zeros never pass as records (a zero
    /// length with a zero checksum is not an empty record): the whole tail is cut, the records
    /// before it stay, and appending continues right after them.
    @Test(arguments: [(0, 7), (0, 8), (0, 4096), (1, 0), (3, 8), (5, 4000)])
    func zeroFilledTailIsCut(zeroedRecords: Int, extraZeros: Int) throws {
        let dir = TempDir()
        try makeJournal(dir, count: 40)
        let seg = dir.file(dir.segmentNames()[0])
        let pristine = fileBytes(seg)
        let keptEnd = zeroedRecords == 0 ? pristine.count : recordOffsets(pristine)[40 - zeroedRecords]
        let image = Array(pristine[..<keptEnd]) + [UInt8](repeating: 0, count: pristine.count - keptEnd + extraZeros)
        writeFileBytes(seg, image)
        let kept = UInt64(40 - zeroedRecords)
        let journal = try Journal.open(JournalOptions(directory: dir.path))
        #expect(journal.recovery.lastLSN == kept)
        #expect(journal.recovery.truncatedBytes == image.count - keptEnd)
        #expect(journal.recovery.warnings.contains { $0.contains(seg) }, "\(journal.recovery.warnings)")
        expectTestRecords(try replayAll(journal), first: 1, last: kept)
        try appendTestRecords(journal, through: kept + 2)
        try journal.close()
        let again = try Journal.open(JournalOptions(directory: dir.path))
        #expect(again.recovery.truncatedBytes == 0)
        expectTestRecords(try replayAll(again), first: 1, last: kept + 2)
        try again.close()
        #expect(fileBytes(seg).count == keptEnd + framedRecord(testPayload(kept + 1)).count
            + framedRecord(testPayload(kept + 2)).count)
    }

    /// A stored checksum of 0 is compared like any other, never taken as "not checksummed": with
    /// intact records after it, the record is damage (named by file and offset, nothing
    /// changed); as the last record, a torn tail that is cut.
    @Test func recordWithChecksumZero() throws {
        let dir = TempDir()
        try makeJournal(dir, count: 30)
        let seg = dir.file(dir.segmentNames()[0])
        let pristine = fileBytes(seg)
        let offsets = recordOffsets(pristine)
        for record in [0, 12] {
            var image = pristine
            for i in 4..<8 { image[offsets[record] + i] = 0 }
            writeFileBytes(seg, image)
            let found = damage { _ = try Journal.open(JournalOptions(directory: dir.path)) }
            #expect(found?.file == seg && found?.offset == offsets[record], "record \(record + 1): \(String(describing: found))")
            #expect(fileBytes(seg) == image)
            #expect(Journal.verify(directory: dir.path).outcome == .damaged)
        }
        var image = pristine
        for i in 4..<8 { image[offsets[29] + i] = 0 }
        writeFileBytes(seg, image)
        let journal = try Journal.open(JournalOptions(directory: dir.path))
        #expect(journal.recovery.lastLSN == 29)
        #expect(journal.recovery.truncatedBytes == pristine.count - offsets[29])
        try journal.close()
        #expect(fileBytes(seg) == Array(pristine[..<offsets[29]]))
    }

    /// A checksum-failing last record with nothing after it is a torn tail too.
    @Test func corruptLastRecordIsCut() throws {
        let dir = TempDir()
        try makeJournal(dir, count: 50)
        let seg = dir.file(dir.segmentNames()[0])
        var image = fileBytes(seg)
        let lastStart = recordOffsets(image).last!
        image[lastStart + 12] ^= 0x10
        writeFileBytes(seg, image)
        let journal = try Journal.open(JournalOptions(directory: dir.path))
        #expect(journal.recovery.lastLSN == 49)
        #expect(journal.recovery.truncatedBytes == image.count - lastStart)
        #expect(journal.recovery.warnings.contains { $0.contains(seg) && $0.contains("\(image.count - lastStart) bytes") })
        try journal.close()
    }

    /// A flipped bit in any record but the last (payload, checksum or length) is an error naming
    /// the file and the record's offset, and nothing is changed.
    @Test(arguments: [0, 1, 17, 48]) func flippedBitBeforeTheTail(record: Int) throws {
        let dir = TempDir()
        try makeJournal(dir, count: 50)
        let seg = dir.file(dir.segmentNames()[0])
        let pristine = fileBytes(seg)
        let start = recordOffsets(pristine)[record]
        for byteInRecord in [0, 2, 5, RecordFraming.headerBytes + 3] {
            var image = pristine
            image[start + byteInRecord] ^= 0x04
            writeFileBytes(seg, image)
            let found = damage { _ = try Journal.open(JournalOptions(directory: dir.path)) }
            #expect(found?.file == seg)
            #expect(found?.offset == start, "flip at \(start + byteInRecord): \(String(describing: found))")
            #expect(fileBytes(seg) == image)
            let verified = Journal.verify(directory: dir.path)
            #expect(verified.outcome == .damaged)
            #expect(verified.exitStatus != 0)
        }
    }

    @Test func damageInASegmentThatIsNotTheLast() throws {
        let dir = TempDir()
        try makeJournal(dir, count: 2000, segmentBytes: 4096)
        let seg = dir.file(dir.segmentNames()[1])
        var image = fileBytes(seg)
        image.removeLast(3)   // even a "torn" end is damage when later segments exist
        writeFileBytes(seg, image)
        let found = damage { _ = try Journal.open(JournalOptions(directory: dir.path, segmentBytes: 4096)) }
        #expect(found?.file == seg)
    }

    @Test func badMagicAndUnknownVersion() throws {
        let dir = TempDir()
        try makeJournal(dir, count: 10)
        let seg = dir.file(dir.segmentNames()[0])
        let pristine = fileBytes(seg)
        var image = pristine
        image[1] ^= 0xFF
        writeFileBytes(seg, image)
        let magic = damage { _ = try Journal.open(JournalOptions(directory: dir.path)) }
        #expect(magic?.file == seg && magic?.offset == 1)

        image = pristine
        image[8] = 3   // version 3 (this build reads 1 and 2), with a header checksum that matches it
        let crc = Array(image[0..<20]).withUnsafeBytes { CRC32C.checksum($0) }
        for i in 0..<4 { image[20 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
        writeFileBytes(seg, image)
        let version = damage { _ = try Journal.open(JournalOptions(directory: dir.path)) }
        #expect(version?.file == seg && version?.offset == 8)
        #expect(version?.reason.contains("version 3") == true)
    }

    @Test func gapBetweenSegments() throws {
        let dir = TempDir()
        try makeJournal(dir, count: 2000, segmentBytes: 4096)
        let names = dir.segmentNames()
        #expect(names.count > 3)
        try FileManagerShimRemove(dir.file(names[1]))
        do {
            _ = try Journal.open(JournalOptions(directory: dir.path, segmentBytes: 4096))
            Issue.record("opened a journal with a gap")
        } catch let JournalError.gap(file, _, _) {
            #expect(file == dir.file(names[2]))
        }
        #expect(Journal.verify(directory: dir.path).outcome == .damaged)
    }

    @Test func missingStartWithoutSnapshotIsAGap() throws {
        let dir = TempDir()
        try makeJournal(dir, count: 2000, segmentBytes: 4096)
        try FileManagerShimRemove(dir.file(dir.segmentNames()[0]))
        #expect(throws: JournalError.self) { try Journal.open(JournalOptions(directory: dir.path, segmentBytes: 4096)) }
    }

    /// Verify reports a torn tail without cutting it.
    @Test func verifyChangesNothing() throws {
        let dir = TempDir()
        try makeJournal(dir, count: 40)
        let seg = dir.file(dir.segmentNames()[0])
        var image = fileBytes(seg)
        image.removeLast(5)
        writeFileBytes(seg, image)
        let result = Journal.verify(directory: dir.path)
        #expect(result.outcome == .repairable)
        #expect(result.report.truncatedBytes > 0)
        #expect(result.report.lastLSN == 39)
        #expect(fileBytes(seg) == image)
    }
}

func FileManagerShimRemove(_ path: String) throws {
    try FileManager.default.removeItem(atPath: path)
}

@Suite struct RollOverDamageTests {
    static func options(_ dir: TempDir) -> JournalOptions { JournalOptions(directory: dir.path, segmentBytes: 4096) }

    /// A crash while rolling over can leave a last segment shorter than its header: removed.
    @Test func headerlessLastSegmentIsRemoved() throws {
        let dir = TempDir()
        try makeJournal(dir, count: 1000, segmentBytes: 4096)
        let next = SegmentFormat.fileName(firstLSN: 1001)
        writeFileBytes(dir.file(next), Array(SegmentFormat.encodeHeader(firstLSN: 1001)[..<10]))
        #expect(Journal.verify(directory: dir.path).outcome == .repairable)
        let journal = try Journal.open(Self.options(dir))
        #expect(journal.recovery.lastLSN == 1000)
        #expect(journal.recovery.truncatedBytes == 10)
        expectTestRecords(try replayAll(journal), first: 1, last: 1000)
        try appendTestRecords(journal, through: 1100)
        try journal.close()
        let again = try Journal.open(Self.options(dir))
        expectTestRecords(try replayAll(again), first: 1, last: 1100)
        try again.close()
    }

    @Test func tornTailAfterRollOver() throws {
        let dir = TempDir()
        try makeJournal(dir, count: 1000, segmentBytes: 4096)
        let last = dir.file(dir.segmentNames().last!)
        var image = fileBytes(last)
        let lastStart = recordOffsets(image).last!
        image.removeLast(image.count - lastStart - 3)
        writeFileBytes(last, image)
        let journal = try Journal.open(Self.options(dir))
        #expect(journal.recovery.lastLSN == 999)
        #expect(journal.recovery.truncatedFile == last && journal.recovery.truncatedBytes == 3)
        expectTestRecords(try replayAll(journal), first: 1, last: 999)
        try journal.close()
    }

    @Test func verifyCleanJournal() throws {
        let dir = TempDir()
        try makeJournal(dir, count: 5000, segmentBytes: 4096)
        let result = Journal.verify(directory: dir.path)
        #expect(result.outcome == .clean && result.exitStatus == 0)
        #expect(result.report.lastLSN == 5000 && result.report.recordsToReplay == 5000)
        #expect(result.report.segmentFiles == dir.segmentNames())
        let journal = try Journal.open(Self.options(dir))
        #expect(journal.journalBytes == dir.segmentNames().reduce(0) { $0 + fileBytes(dir.file($1)).count })
        try journal.close()
    }
}
