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
    /// the highest LSN it reported durable. Every wait is bounded; the child, should this
    /// process die first, exits by itself once it sees it has a new parent.
    private func runAndKill(_ dir: TempDir, after lines: Int, sleepMicroseconds: UInt32) throws -> UInt64 {
        var ends: [Int32] = [-1, -1]
        guard closeOnExecPipe(&ends) == 0 else { throw JournalTestTimeout(description: "pipe2: errno \(errno)") }
        defer { close(ends[0]) }
        let pid: pid_t
        do {
            pid = try spawnChild([Self.childURL.path, dir.path, String(Self.segmentBytes)], stdout: ends[1])
        } catch {
            close(ends[1])
            throw error
        }
        close(ends[1])
        var status: Int32 = 0
        var reaped = false
        defer { if !reaped { kill(pid, SIGKILL); waitpid(pid, &status, 0) } }
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
        kill(pid, SIGKILL)
        let killed = Date().addingTimeInterval(Self.patienceSeconds)
        while true {
            guard let chunk = try Self.read(ends[0], until: killed) else {
                throw JournalTestTimeout(description: "the crash child's output did not end within \(Self.patienceSeconds) s of SIGKILL")
            }
            if chunk.isEmpty { break }
            output.append(chunk)
        }
        while waitpid(pid, &status, WNOHANG) != pid {
            guard Date() < killed else { throw JournalTestTimeout(description: "the crash child outlived SIGKILL") }
            usleep(1_000)
        }
        reaped = true
        #expect(status & 0x7f == SIGKILL, "the child did not die of SIGKILL: wait status \(status)")
        return lastCompleteNumber(output)
    }

    /// `posix_spawn` of the child with `stdout` as its standard output and no other descriptor.
    /// Not Foundation's `Process`: between its fork and the child's exec, the child holds a copy
    /// of every descriptor of this process, among them the `LOCK` files of journals that other
    /// tests open and close meanwhile, and an `flock` held through such a copy makes the next
    /// open of that journal fail as "in use". `posix_spawn` (vfork, then close-from-3 at once)
    /// keeps that moment to almost nothing.
    private func spawnChild(_ argv: [String], stdout: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        closeFrom(3, &actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let arguments = argv.map { strdup($0) } + [nil]
        defer { arguments.forEach { free($0) } }
        var pid: pid_t = 0
        let failed = posix_spawn(&pid, argv[0], &actions, &attributes, arguments, environ)
        guard failed == 0 else { throw JournalTestTimeout(description: "posix_spawn \(argv[0]): \(String(cString: strerror(failed)))") }
        return pid
    }

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
