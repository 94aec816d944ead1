import Foundation
import Testing
@testable import PaymentsJournal
import PaymentsPlatform

@Suite struct GroupCommitTests {
    @Test func durableLSNCoversAppendedRecords() throws {
        let dir = TempDir()
        let journal = try Journal.open(JournalOptions(directory: dir.path, segmentBytes: 16384))
        let committer = try GroupCommitter(journal: journal, policy: .always)
        for round in 1...50 {
            try appendTestRecords(journal, through: UInt64(round) * 200)
            committer.requestSync()
            if round % 10 == 0 {
                let target = journal.lastLSN
                let durable = try withTimeLimit("waitDurable(\(target))") { try committer.waitDurable(target) }
                #expect(durable >= target)
            }
        }
        #expect(committer.failure == nil)
        committer.stop()
        try journal.close()
        let again = try Journal.open(JournalOptions(directory: dir.path, segmentBytes: 16384))
        expectTestRecords(try replayAll(again), first: 1, last: 10_000)
        try again.close()
    }

    /// The loop's way: request, then wait for the eventfd to become readable, then read the LSN.
    @Test(arguments: SyncPolicy.allCases) func wakeDescriptorAndExplicitSync(policy: SyncPolicy) throws {
        let dir = TempDir()
        let journal = try Journal.open(JournalOptions(directory: dir.path))
        let committer = try GroupCommitter(journal: journal, policy: policy)
        for round in 1...5 {
            try appendTestRecords(journal, through: UInt64(round) * 1000)
            let target = journal.lastLSN
            committer.requestExplicitSync()
            try waitForWakes(committer, "sync through \(target) after an explicit request") { committer.durableLSN >= target }
            #expect(committer.durableLSN == target)
        }
        committer.stop()
        try journal.close()
    }

    /// Under `.periodic` the committer syncs by itself, without being asked, again and again:
    /// records flushed and never requested become durable within a few periods, and the loop
    /// is woken for each batch. (Waits are bounded: a committer that never syncs fails here.)
    @Test func periodicSyncsWithoutRequests() throws {
        let dir = TempDir()
        let journal = try Journal.open(JournalOptions(directory: dir.path))
        let committer = try GroupCommitter(journal: journal, policy: .periodic, periodNanoseconds: 5_000_000)
        defer { committer.stop(); try? journal.close() }
        #expect(committer.durableLSN == 0)
        for round: UInt64 in 1...3 {
            try appendTestRecords(journal, through: round * 100)
            committer.requestSync()   // a no-op under `.periodic`: only the period may sync
            try waitForWakes(committer, "periodic sync through \(round * 100)") { committer.durableLSN >= round * 100 }
            #expect(committer.durableLSN == round * 100)
        }
        #expect(committer.syncCount >= 3)
        #expect(committer.failure == nil)
    }

    /// Appending while syncs are in flight, across many roll-overs, never publishes an LSN whose
    /// segment is not synced and never loses a record.
    @Test func appendingDuringSyncAcrossRollOver() throws {
        let dir = TempDir()
        let journal = try Journal.open(JournalOptions(directory: dir.path, segmentBytes: 2048))
        let committer = try GroupCommitter(journal: journal, policy: .always)
        var last: UInt64 = 0
        for round in 1...300 {
            try appendTestRecords(journal, through: UInt64(round) * 37, batch: 37)
            committer.requestSync()
            let durable = committer.durableLSN
            #expect(durable >= last && durable <= journal.lastLSN)
            last = durable
        }
        let target = journal.lastLSN
        try withTimeLimit("waitDurable(\(target))") { try committer.waitDurable(target) }
        committer.stop()
        try journal.close()
        let again = try Journal.open(JournalOptions(directory: dir.path, segmentBytes: 2048))
        expectTestRecords(try replayAll(again), first: 1, last: 300 * 37)
        try again.close()
    }
}
