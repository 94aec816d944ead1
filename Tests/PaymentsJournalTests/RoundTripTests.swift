import Foundation
import Testing
@testable import PaymentsJournal

@Suite struct RoundTripTests {
    @Test func manyRecordsAcrossRollOver() throws {
        let dir = TempDir()
        try makeJournal(dir, count: 20_000, segmentBytes: 8192)
        #expect(dir.segmentNames().count > 20)
        let journal = try Journal.open(JournalOptions(directory: dir.path, segmentBytes: 8192))
        #expect(journal.recovery.lastLSN == 20_000)
        #expect(journal.recovery.warnings.isEmpty)
        expectTestRecords(try replayAll(journal), first: 1, last: 20_000)
        var fromMiddle: [(UInt64, [UInt8])] = []
        try journal.read(from: 12_345) { fromMiddle.append(($0, Array($1))) }
        expectTestRecords(fromMiddle, first: 12_345, last: 20_000)
        try journal.close()
    }

    @Test func reopenAndContinueAppending() throws {
        let dir = TempDir()
        for round in 1...5 {
            let journal = try Journal.open(JournalOptions(directory: dir.path, segmentBytes: 4096))
            #expect(journal.lastLSN == UInt64(round - 1) * 300)
            try appendTestRecords(journal, through: UInt64(round) * 300)
            try journal.close()
        }
        let journal = try Journal.open(JournalOptions(directory: dir.path, segmentBytes: 4096))
        expectTestRecords(try replayAll(journal), first: 1, last: 1500)
        try journal.close()
    }

    @Test func emptyAndLargeRecords() throws {
        let dir = TempDir()
        let big = [UInt8](repeating: 0x5A, count: 3 << 20)   // larger than the write buffer
        let journal = try Journal.open(JournalOptions(directory: dir.path, segmentBytes: 1 << 20))
        try [UInt8]().withUnsafeBytes { try journal.append($0) }
        try big.withUnsafeBytes { try journal.append($0) }
        try [UInt8]([1]).withUnsafeBytes { try journal.append($0) }
        try journal.close()
        let again = try Journal.open(JournalOptions(directory: dir.path, segmentBytes: 1 << 20))
        let records = try replayAll(again)
        #expect(records.map(\.0) == [1, 2, 3])
        #expect(records.map(\.1.count) == [0, big.count, 1])
        #expect(records[1].1 == big)
        try again.close()
    }

    @Test func secondOpenIsRefused() throws {
        let dir = TempDir()
        let journal = try Journal.open(JournalOptions(directory: dir.path))
        #expect(throws: JournalError.locked(directory: dir.path)) { try Journal.open(JournalOptions(directory: dir.path)) }
        try journal.close()
    }

    @Test func filesAreOwnerOnly() throws {
        let dir = TempDir()
        try makeJournal(dir, count: 10)
        for name in dir.names() {
            let attrs = try FileManagerShim.permissions(dir.file(name))
            #expect(attrs & 0o077 == 0, "\(name) is \(String(attrs, radix: 8))")
        }
    }
}

@Suite struct DirectoryTests {
    @Test func createsMissingDataDirectory() throws {
        let dir = TempDir()
        let nested = dir.file("data") + "/"
        let journal = try Journal.open(JournalOptions(directory: nested))
        try appendTestRecords(journal, through: 3)
        try journal.close()
        #expect(FileManager.default.fileExists(atPath: dir.file("data/LOCK")))
    }
}
