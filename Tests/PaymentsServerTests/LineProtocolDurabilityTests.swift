// The line protocol's replies against the journal (SPEC §5): under `--fsync always` every
// reply, and under any policy the reply to `SYNC`, leaves only once the records it reports are
// synced. The daemon's pieces run in-process on a real journal, with a committer that syncs
// only when the test says so: "not yet" is checked while the sync is held back, not raced.

import Foundation
import Glibc
import PaymentsFormat
import PaymentsJournal
import PaymentsPlatform
@testable import PaymentsServer
import Synchronization
import Testing

@Suite struct LineProtocolDurabilityTests {
    /// Under `always`, the `OK` of a deposit waits for its sync, and so does a query on another
    /// connection that already sees the deposit; both go out when the sync completes.
    @Test func repliesWaitForTheSyncUnderAlways() throws {
        let d = try PausedCommitDaemon(policy: .always)
        defer { d.stop() }
        let writer = try TestClient(d.address), reader = try TestClient(d.address)
        try writer.send("deposit,1,1,2.5\n")
        try d.waitUntil("the deposit journaled and its sync requested") { d.committer.requests > 0 }
        try reader.send("GET 1\n")
        try d.waitUntil("the GET read") { d.lines.count.withLock { $0 } == 2 }
        try d.passLoopIteration()
        #expect(!writer.hasInput(), "OK sent before the deposit was synced")
        #expect(!reader.hasInput(), "a read showed the deposit before it was synced")
        #expect(d.committer.durableLSN == 0)

        try d.committer.syncNow()
        #expect(try writer.readLine() == "OK")
        #expect(try reader.readLine() == "1,2.5000,0.0000,2.5000,false")
        #expect(d.committer.durableLSN == 1)
    }

    /// Under `never`, a transaction's reply needs only the write; `SYNC` asks the committer for
    /// an explicit sync and its `OK` waits until that sync is done.
    @Test(arguments: [SyncPolicy.never, .periodic]) func syncWaitsForTheSync(policy: SyncPolicy) throws {
        let d = try PausedCommitDaemon(policy: policy)
        defer { d.stop() }
        let client = try TestClient(d.address)
        try client.send("deposit,1,1,2.5\n")
        #expect(try client.readLine() == "OK")   // written, not synced: enough under this policy
        #expect(d.committer.durableLSN == 0 && d.committer.explicitRequests == 0)

        try client.send("SYNC\n")
        try d.waitUntil("SYNC's explicit sync requested") { d.committer.explicitRequests == 1 }
        try d.passLoopIteration()
        #expect(!client.hasInput(), "SYNC answered before the sync")
        try d.committer.syncNow()
        #expect(try client.readLine() == "OK")
        #expect(d.committer.durableLSN == 1)
    }
}

/// A `Committer` that syncs only when the test calls `syncNow()`: requests are counted, never
/// acted on. `syncNow` does what `GroupCommitter`'s thread does after a sync: publish the
/// durable LSN and wake the loop.
final class PausedCommitter: Committer, @unchecked Sendable {
    struct State {
        var requests = 0
        var explicitRequests = 0
        var durable: UInt64 = 0
        var syncs: UInt64 = 0
    }

    let journal: Journal
    private let wake: EventFD
    private let state = Mutex(State())

    init(journal: Journal) throws {
        self.journal = journal
        wake = try EventFD()
        state.withLock { $0.durable = journal.durableLSN }
    }

    var wakeDescriptor: FileDescriptor { wake.descriptor }
    func acknowledgeWakeup() { _ = try? wake.drain() }
    func requestSync() { state.withLock { $0.requests += 1 } }
    func requestExplicitSync() { state.withLock { $0.explicitRequests += 1 } }
    var durableLSN: UInt64 { state.withLock { $0.durable } }
    var failure: JournalError? { nil }
    var syncCount: UInt64 { state.withLock { $0.syncs } }
    func takeSyncDurations() -> [UInt64] { [] }
    func stop() { try? wake.close() }

    var requests: Int { state.withLock { $0.requests } }
    var explicitRequests: Int { state.withLock { $0.explicitRequests } }

    /// Syncs the journal on the test's thread, publishes what is durable and wakes the loop.
    func syncNow() throws {
        let lsn = try journal.sync()
        state.withLock {
            $0.durable = max($0.durable, lsn)
            $0.syncs += 1
        }
        try wake.signal()
    }

    /// Wakes the loop without any progress (it then runs one more iteration).
    func nudge() throws { try wake.signal() }
}

/// The daemon's loop, service and line protocol on a real journal in a temporary directory,
/// with a `PausedCommitter`; the loop runs on a thread of its own, listening on a Unix socket.
final class PausedCommitDaemon: @unchecked Sendable {
    static let patienceSeconds = 20.0

    let directory: String
    let committer: PausedCommitter
    let durable: DurableEngine
    let loop: EventLoop
    let service: DaemonService
    let address: SocketAddress
    private let stopEvent: EventFD
    private let iterations = LoopIterations()
    /// Request lines the line protocol was handed so far.
    let lines: LoopIterations
    private let finished = DispatchSemaphore(value: 0)
    private var stopped = false

    init(policy: SyncPolicy) throws {
        Signals.ignoreBrokenPipe()
        let lines = LoopIterations()
        self.lines = lines
        directory = makeTemporaryDirectory()
        let journal = try Journal.open(JournalOptions(directory: directory + "/data"))
        committer = try PausedCommitter(journal: journal)
        let log = Logger(threshold: .error, journald: false)
        durable = try DurableEngine(store: journal, committer: committer, policy: policy, log: log)
        loop = try EventLoop(configuration: .init(maxConnections: 16, stopGraceMilliseconds: 2_000))
        loop.log = { _, _ in }
        service = DaemonService(durable: durable, loop: loop, log: log)
        address = .unix(path: directory + "/d.sock")
        let handler = CountingHandler(LineProtocol(service: service), lines: lines)
        _ = try loop.listen(on: address, ListenerConfiguration(protocolName: "line", framing: .lines, handler: handler))
        stopEvent = try EventFD()
        let loop = self.loop, service = self.service, stopEvent = self.stopEvent, iterations = self.iterations
        try loop.watch(committer.wakeDescriptor) { _ in service.committerWoke() }
        try loop.watch(stopEvent.descriptor) { _ in
            _ = try? stopEvent.drain()
            loop.stop()
        }
        loop.beforeWait = {
            service.beforeWait()
            iterations.count.withLock { $0 += 1 }
        }
        Thread { [self] in
            _ = try? self.loop.run()
            finished.signal()
        }.start()
    }

    func waitUntil(_ what: String, _ condition: () -> Bool) throws {
        try waitFor(what, seconds: Self.patienceSeconds, condition)
    }

    /// Returns once the loop has finished the iteration it is in and run a whole one more
    /// (woken twice without progress): whatever was released by the time of the call has been
    /// written to its socket by then.
    func passLoopIteration() throws {
        let before = iterations.count.withLock { $0 }
        for step in 1...2 {
            try committer.nudge()
            try waitUntil("loop iteration \(step)") { iterations.count.withLock { $0 } >= before + step }
        }
    }

    /// Syncs what is held (so the loop can finish its connections), stops the loop, waits for
    /// it (bounded) and closes the journal.
    func stop() {
        guard !stopped else { return }
        stopped = true
        try? committer.syncNow()
        try? stopEvent.signal()
        let ended = finished.wait(timeout: .now() + Self.patienceSeconds) == .success
        #expect(ended, "the loop did not stop within \(Self.patienceSeconds) s")
        guard ended else { return }   // the loop thread still uses all of it: leave it be
        try? durable.close(snapshot: false)
        try? stopEvent.close()
        removeDirectory(directory)
    }
}

/// A count kept on the loop's thread and read by the test's.
final class LoopIterations: Sendable {
    let count = Mutex(0)
}

/// The line protocol, counting the lines it is handed.
final class CountingHandler: ConnectionHandler {
    let inner: LineProtocol
    let lines: LoopIterations

    init(_ inner: LineProtocol, lines: LoopIterations) {
        self.inner = inner
        self.lines = lines
    }

    func connectionOpened(_ connection: Connection) { inner.connectionOpened(connection) }
    func connection(_ connection: Connection, received event: InputEvent) {
        lines.count.withLock { $0 += 1 }
        inner.connection(connection, received: event)
    }
    func connectionBatchEnded(_ connection: Connection) { inner.connectionBatchEnded(connection) }
    func connectionInputEnded(_ connection: Connection) { inner.connectionInputEnded(connection) }
    func connectionClosed(_ connection: Connection) { inner.connectionClosed(connection) }
    func connectionDrained(_ connection: Connection) { inner.connectionDrained(connection) }
}
