import Foundation
import PaymentsPlatform
import Testing
@testable import PaymentsJournal

@Suite struct SnapshotTests {
    static func options(_ dir: TempDir) -> JournalOptions { JournalOptions(directory: dir.path, segmentBytes: 4096) }
    static let payload = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }

    /// Records 1...2000, a snapshot at 1500, then records up to 2600.
    func makeSnapshotted(_ dir: TempDir) throws {
        let journal = try Journal.open(Self.options(dir))
        try appendTestRecords(journal, through: 1500)
        try Self.payload.withUnsafeBytes { try journal.writeSnapshot(throughLSN: 1500, payload: $0) }
        try appendTestRecords(journal, through: 2600)
        try journal.close()
    }

    func expectSnapshottedState(_ dir: TempDir, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let journal = try Journal.open(Self.options(dir))
        #expect(journal.recovery.snapshotLSN == 1500, sourceLocation: sourceLocation)
        #expect(journal.takeSnapshotPayload() == Self.payload, sourceLocation: sourceLocation)
        expectTestRecords(try replayAll(journal), first: 1501, last: 2600, sourceLocation: sourceLocation)
        #expect(dir.snapshotNames().last == "snapshot-00000000000005dc.snap", sourceLocation: sourceLocation)
        #expect(dir.snapshotNames().count <= 2, "the two newest are kept", sourceLocation: sourceLocation)
        try journal.close()
    }

    /// The three-step snapshot with its middle step on another thread while records keep being
    /// appended: the same state as the one-call snapshot.
    @Test func snapshotWrittenOnAnotherThreadWhileAppending() throws {
        let dir = TempDir()
        let journal = try Journal.open(Self.options(dir))
        try appendTestRecords(journal, through: 1500)
        let pending = try journal.prepareSnapshot(throughLSN: 1500)
        let payload = Self.payload
        let failure = SnapshotTestBox()
        let written = DispatchSemaphore(value: 0)
        let thread = try PosixThread { [journal] in
            do { try payload.withUnsafeBytes { try journal.writeSnapshot(pending, payload: $0) } } catch {
                failure.error = error
            }
            written.signal()
        }
        try appendTestRecords(journal, through: 2600)
        guard written.wait(timeout: .now() + journalTestPatienceSeconds) == .success else {
            throw JournalTestTimeout(description: "writeSnapshot did not return within \(journalTestPatienceSeconds) s")
        }
        thread.join()
        #expect(failure.error == nil)
        try journal.finishSnapshot(pending)
        #expect(journal.snapshotLSN == 1500)
        try journal.close()
        try expectSnapshottedState(dir)
    }

    @Test func snapshotThenLaterRecords() throws {
        let dir = TempDir()
        try makeSnapshotted(dir)
        try expectSnapshottedState(dir)
        // Segments wholly covered by the snapshot are gone: the first one left holds LSN 1501.
        let first = dir.segmentNames().first.flatMap { SegmentFormat.firstLSN(fromName: $0) }
        #expect(first != nil && first! <= 1501 && first! > 1)
    }

    /// A crash after the temporary file was written but before the rename: it is ignored and removed.
    @Test func crashBeforeRename() throws {
        let dir = TempDir()
        try makeSnapshotted(dir)
        let temp = dir.file("snapshot-0000000000000900.snap.tmp")
        writeFileBytes(temp, [1, 2, 3] + Self.payload)
        let journal = try Journal.open(Self.options(dir))
        #expect(journal.recovery.warnings.contains { $0.contains("snapshot-0000000000000900.snap.tmp") })
        try journal.close()
        #expect(!dir.names().contains("snapshot-0000000000000900.snap.tmp"))
        try expectSnapshottedState(dir)
    }

    /// A crash after the rename but before old segments and snapshots were removed: recovery
    /// reaches the same state and finishes the clean-up.
    @Test func crashAfterRenameBeforeCleanUp() throws {
        let before = TempDir()
        let journal = try Journal.open(Self.options(before))
        try appendTestRecords(journal, through: 300)
        try [UInt8]([3]).withUnsafeBytes { try journal.writeSnapshot(throughLSN: 300, payload: $0) }
        try appendTestRecords(journal, through: 600)
        try [UInt8]([9, 9, 9]).withUnsafeBytes { try journal.writeSnapshot(throughLSN: 600, payload: $0) }
        try appendTestRecords(journal, through: 1500)
        try journal.close()
        let saved = TempDir()   // the files as they were before the new snapshot
        for name in before.names() where name != "LOCK" {
            try FileManager.default.copyItem(atPath: before.file(name), toPath: saved.file(name))
        }
        let finish = try Journal.open(Self.options(before))
        try Self.payload.withUnsafeBytes { try finish.writeSnapshot(throughLSN: 1500, payload: $0) }
        try appendTestRecords(finish, through: 2600)
        try finish.close()
        // The crashed directory: today's files, plus those the snapshot's clean-up removed.
        let after = TempDir()
        for name in before.names() where name != "LOCK" {
            try FileManager.default.copyItem(atPath: before.file(name), toPath: after.file(name))
        }
        for name in saved.names() where !after.names().contains(name) {
            try FileManager.default.copyItem(atPath: saved.file(name), toPath: after.file(name))
        }
        // The newest three: the clean-up had removed 300 and the segments covered by 600.
        #expect(after.snapshotNames().count == 3)
        #expect(after.segmentNames().count > before.segmentNames().count)
        try expectSnapshottedState(after)
        #expect(after.segmentNames() == before.segmentNames())
        try expectSnapshottedState(before)
    }

    @Test func damagedSnapshotIsAnError() throws {
        let dir = TempDir()
        try makeSnapshotted(dir)
        let snap = dir.file(dir.snapshotNames()[0])
        var image = fileBytes(snap)
        image[SnapshotFormat.headerBytes + 100] ^= 1
        writeFileBytes(snap, image)
        let found = damage { _ = try Journal.open(Self.options(dir)) }
        #expect(found?.file == snap)
        #expect(found?.offset == SnapshotFormat.headerBytes)
        #expect(Journal.verify(directory: dir.path).outcome == .damaged)
    }

    @Test func snapshotOfEverythingThenReopen() throws {
        let dir = TempDir()
        let journal = try Journal.open(Self.options(dir))
        try appendTestRecords(journal, through: 3000)
        try Self.payload.withUnsafeBytes { try journal.writeSnapshot(throughLSN: 3000, payload: $0) }
        try journal.close()
        let again = try Journal.open(Self.options(dir))
        #expect(again.recovery.snapshotLSN == 3000 && again.lastLSN == 3000)
        #expect(try replayAll(again).isEmpty)
        try appendTestRecords(again, through: 3010)
        try again.close()
        let third = try Journal.open(Self.options(dir))
        expectTestRecords(try replayAll(third), first: 3001, last: 3010)
        try third.close()
    }
}

/// Where the snapshot thread leaves its error for the test to read after `join`.
final class SnapshotTestBox: @unchecked Sendable {
    var error: (any Error)?
}

extension SnapshotTests {
    /// Two snapshots (600, 1500) with the journal after the older: a damaged newest falls back to
    /// the older one and replays the journal after it; the damaged file is set aside, and
    /// verify says it would fall back (exit 2).
    @Test func damagedNewestSnapshotFallsBackToThePreviousOne() throws {
        let dir = TempDir()
        let journal = try Journal.open(Self.options(dir))
        try appendTestRecords(journal, through: 600)
        try [UInt8]([9, 9, 9]).withUnsafeBytes { try journal.writeSnapshot(throughLSN: 600, payload: $0) }
        try appendTestRecords(journal, through: 1500)
        try Self.payload.withUnsafeBytes { try journal.writeSnapshot(throughLSN: 1500, payload: $0) }
        try appendTestRecords(journal, through: 2600)
        try journal.close()
        #expect(dir.snapshotNames().count == 2)
        let newest = dir.file("snapshot-00000000000005dc.snap")
        var image = fileBytes(newest)
        image[SnapshotFormat.headerBytes + 100] ^= 1
        writeFileBytes(newest, image)

        let verified = Journal.verify(directory: dir.path)
        #expect(verified.exitStatus == 2 && verified.report.snapshotLSN == 600, "\(verified)")
        #expect(verified.report.fellBackFrom == [newest])
        let reopened = try Journal.open(Self.options(dir))
        #expect(reopened.recovery.snapshotLSN == 600)
        #expect(reopened.takeSnapshotPayload() == [9, 9, 9])
        expectTestRecords(try replayAll(reopened), first: 601, last: 2600)
        #expect(reopened.recovery.warnings.contains { $0.contains("is damaged") })
        try reopened.close()
        #expect(dir.names().contains("snapshot-00000000000005dc.snap.damaged"))
    }

    /// Both snapshots damaged and no journal from the start: refused, naming the newest file.
    @Test func bothSnapshotsDamagedIsAnError() throws {
        let dir = TempDir()
        let journal = try Journal.open(Self.options(dir))
        try appendTestRecords(journal, through: 600)
        try Self.payload.withUnsafeBytes { try journal.writeSnapshot(throughLSN: 600, payload: $0) }
        try appendTestRecords(journal, through: 1500)
        try Self.payload.withUnsafeBytes { try journal.writeSnapshot(throughLSN: 1500, payload: $0) }
        try appendTestRecords(journal, through: 2600)
        try journal.close()
        for name in dir.snapshotNames() {
            var image = fileBytes(dir.file(name))
            image[SnapshotFormat.headerBytes + 7] ^= 0x40
            writeFileBytes(dir.file(name), image)
        }
        let found = damage { _ = try Journal.open(Self.options(dir)) }
        #expect(found?.file == dir.file("snapshot-00000000000005dc.snap"))
        #expect(Journal.verify(directory: dir.path).exitStatus == 1)
        #expect(dir.snapshotNames().count == 2, "nothing set aside when the start is refused")
    }
}
