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
                let durable = try committer.waitDurable(journal.lastLSN)
                #expect(durable >= journal.lastLSN)
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
        let wake = EventFD(descriptor: committer.wakeDescriptor)
        for round in 1...5 {
            try appendTestRecords(journal, through: UInt64(round) * 1000)
            let target = journal.lastLSN
            committer.requestExplicitSync()
            while committer.durableLSN < target {
                try wake.waitReadable()
                committer.acknowledgeWakeup()
            }
            #expect(committer.durableLSN == target)
        }
        committer.stop()
        try journal.close()
    }

    /// Under `.periodic` the committer syncs by itself, without being asked.
    @Test func periodicSyncsWithoutRequests() throws {
        let dir = TempDir()
        let journal = try Journal.open(JournalOptions(directory: dir.path))
        let committer = try GroupCommitter(journal: journal, policy: .periodic, periodNanoseconds: 5_000_000)
        try appendTestRecords(journal, through: 100)
        let wake = EventFD(descriptor: committer.wakeDescriptor)
        while committer.durableLSN < 100 {
            try wake.waitReadable()
            committer.acknowledgeWakeup()
        }
        committer.stop()
        try journal.close()
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
        try committer.waitDurable(journal.lastLSN)
        committer.stop()
        try journal.close()
        let again = try Journal.open(JournalOptions(directory: dir.path, segmentBytes: 2048))
        expectTestRecords(try replayAll(again), first: 1, last: 300 * 37)
        try again.close()
    }
}
