import ChildProcessSupport
import Foundation
import Glibc
import Testing
@testable import PaymentsJournal
import PaymentsPlatform

/// Real crashes: the `journal-crash-child` process appends with group commit and prints each
/// durable LSN; we SIGKILL it at random moments and check recovery keeps every record it
/// reported durable, in order, with the right content, and nothing it never wrote.
@Suite struct CrashTests {
    static let rounds = 24
    static let segmentBytes = 65536

    static var childURL: URL { Bundle.main.bundleURL.appendingPathComponent("journal-crash-child") }

    @Test func childBinaryIsThere() {
        #expect(FileManager.default.isExecutableFile(atPath: Self.childURL.path), "\(Self.childURL.path)")
    }

    @Test func sigkillAtRandomMoments() throws {
        let dir = TempDir()
        var rng = SystemRandomNumberGenerator()
        var everDurable: UInt64 = 0
        for round in 0..<Self.rounds {
            let reported = try runAndKill(dir, after: Int.random(in: 0...300, using: &rng),
                                          sleepMicroseconds: UInt32.random(in: 0...20_000, using: &rng))
            everDurable = max(everDurable, reported)
            let last = try checkRecovered(dir)
            #expect(last >= everDurable, "round \(round): recovered through \(last), child reported \(everDurable) durable")
            print("crash round \(round): reported durable \(reported), recovered through \(last), segments \(dir.segmentNames().count), snapshots \(dir.snapshotNames())")
        }
        #expect(everDurable > 0)
    }

    /// How long one round may wait for the child's reports, or for its death after SIGKILL.
    static let patienceSeconds = 30.0

    /// Starts the child, reads `lines` durable reports (or sleeps, for 0), kills it, and returns
    /// the highest LSN it reported durable. Every wait is bounded; the child is spawned through
    /// `ChildProcess` (posix_spawn: no copy of this process's journal locks lingers in it), and
    /// exits by itself, should this process die first, once it sees it has a new parent.
    private func runAndKill(_ dir: TempDir, after lines: Int, sleepMicroseconds: UInt32) throws -> UInt64 {
        var ends: [Int32] = [-1, -1]
        guard closeOnExecPipe(&ends) == 0 else { throw JournalTestTimeout(description: "pipe2: errno \(errno)") }
        defer { close(ends[0]) }
        let child: ChildProcess
        do {
            child = try ChildProcess(Self.childURL.path, [dir.path, String(Self.segmentBytes)], stdoutDescriptor: ends[1])
        } catch {
            close(ends[1])
            throw error
        }
        close(ends[1])
        var output = Data()
        if lines == 0 { usleep(sleepMicroseconds) }
        let deadline = Date().addingTimeInterval(Self.patienceSeconds)
        while lines > 0 && output.count(of: UInt8(ascii: "\n")) < lines {
            guard let chunk = try Self.read(ends[0], until: deadline) else {
                throw JournalTestTimeout(description: "the crash child reported \(output.count(of: 10)) of \(lines) syncs within \(Self.patienceSeconds) s")
            }
            if chunk.isEmpty { break }
            output.append(chunk)
        }
        child.signal(SIGKILL)
        let killed = Date().addingTimeInterval(Self.patienceSeconds)
        while true {
            guard let chunk = try Self.read(ends[0], until: killed) else {
                throw JournalTestTimeout(description: "the crash child's output did not end within \(Self.patienceSeconds) s of SIGKILL")
            }
            if chunk.isEmpty { break }
            output.append(chunk)
        }
        _ = try child.wait(seconds: Self.patienceSeconds, for: "the crash child to die of SIGKILL")
        #expect(child.exitedBySignal && child.terminationStatus == SIGKILL, "the child did not die of SIGKILL")
        return lastCompleteNumber(output)
    }

    /// `posix_spawn` of the child with `stdout` as its standard output and no other descriptor.
    /// What `fd` holds by `deadline`: bytes, empty at end of file, nil when nothing came in time.
    private static func read(_ fd: Int32, until deadline: Date) throws -> Data? {
        let left = deadline.timeIntervalSinceNow
        guard left > 0 else { return nil }
        var entries = [PollEntry(FileDescriptor(rawValue: fd, label: "crash child output"), read: true, write: false)]
        guard try Poll.wait(&entries, timeoutMilliseconds: Int32(left * 1000) + 1) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = Glibc.read(fd, &buffer, buffer.count)
        guard count >= 0 else { throw JournalTestTimeout(description: "reading the crash child's output: errno \(errno)") }
        return Data(buffer[..<count])
    }

    private func lastCompleteNumber(_ output: Data) -> UInt64 {
        let text = String(decoding: output, as: UTF8.self)
        let complete = text.hasSuffix("\n") ? text : String(text[..<(text.lastIndex(of: "\n") ?? text.startIndex)])
        return complete.split(separator: "\n").compactMap { UInt64($0) }.max() ?? 0
    }

    /// Opens the journal as the daemon would and checks the snapshot and every replayed record
    /// against what the child derives from each LSN. Returns the last LSN.
    private func checkRecovered(_ dir: TempDir) throws -> UInt64 {
        let journal = try Journal.open(JournalOptions(directory: dir.path, segmentBytes: Self.segmentBytes))
        defer { try? journal.close() }
        let snapLSN = journal.recovery.snapshotLSN
        if let snap = journal.takeSnapshotPayload() {
            let stored = snap.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            #expect(stored == snapLSN)
        }
        var expected = snapLSN + 1
        var bad = 0
        try journal.replay { lsn, payload in
            if lsn != expected || !Self.isChildPayload(lsn, payload) { bad += 1 }
            expected += 1
        }
        #expect(bad == 0)
        #expect(expected - 1 == journal.lastLSN)
        return journal.lastLSN
    }

    /// Mirrors `journal-crash-child`'s payload rule.
    static func isChildPayload(_ lsn: UInt64, _ payload: UnsafeRawBufferPointer) -> Bool {
        guard payload.count == 8 + Int(lsn % 16),
              UInt64(littleEndian: payload.loadUnaligned(as: UInt64.self)) == lsn else { return false }
        for i in 8..<payload.count where payload[i] != UInt8(truncatingIfNeeded: lsn &* 31 &+ UInt64(i)) { return false }
        return true
    }
}

private extension Data {
    func count(of byte: UInt8) -> Int { reduce(0) { $0 + ($1 == byte ? 1 : 0) } }
}
