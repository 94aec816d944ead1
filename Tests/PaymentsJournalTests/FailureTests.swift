import Foundation
import Testing
@testable import PaymentsJournal

/// A failed write or sync is fatal: the journal refuses every later append, flush and sync.
/// Failures are injected by putting another file behind the journal's descriptor number with
/// `dup2` (never by closing it, which could hit a descriptor another test just opened).
@Suite struct FailureTests {
    @Test func failedWriteIsFatal() throws {
        let dir = TempDir()
        let journal = try Journal.open(JournalOptions(directory: dir.path))
        try appendTestRecords(journal, through: 10)
        let readOnly = open("/dev/null", O_RDONLY)
        #expect(dup2(readOnly, journal.currentFD.rawValue) >= 0)
        close(readOnly)
        try [1, 2, 3].withUnsafeBytes { _ = try journal.append($0) }
        #expect(throws: JournalError.self) { try journal.flush() }
        #expect(journal.failure != nil)
        #expect(throws: JournalError.self) { try [4].withUnsafeBytes { _ = try journal.append($0) } }
        #expect(throws: JournalError.self) { try journal.sync() }
        #expect(journal.durableLSN <= 10)
        try? journal.close()
    }

    @Test func failedSyncIsFatalAndReported() throws {
        let dir = TempDir()
        let journal = try Journal.open(JournalOptions(directory: dir.path))
        let committer = try GroupCommitter(journal: journal, policy: .always)
        try appendTestRecords(journal, through: 10)
        try withTimeLimit("waitDurable(10)") { try committer.waitDurable(10) }
        try appendTestRecords(journal, through: 20)
        var pipeFDs: [Int32] = [0, 0]
        #expect(pipe(&pipeFDs) == 0)
        #expect(dup2(pipeFDs[0], journal.currentFD.rawValue) >= 0)   // fdatasync on a pipe: EINVAL
        close(pipeFDs[0]); close(pipeFDs[1])
        #expect(throws: JournalError.self) { try withTimeLimit("waitDurable(20)") { try committer.waitDurable(20) } }
        #expect(committer.failure != nil)
        #expect(committer.durableLSN == 10)
        #expect(throws: JournalError.self) { try journal.flush() }
        #expect(throws: JournalError.self) { try journal.sync() }
        committer.stop()
        try? journal.close()
    }
}
