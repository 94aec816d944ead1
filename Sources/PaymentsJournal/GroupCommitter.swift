public import PaymentsPlatform

/// Runs the journal's `fdatasync` on a thread of its own so the event loop never blocks on the
/// disk. One sync covers every record written before it started (group commit): while it runs,
/// the loop keeps appending, and the next sync takes all of that at once.
///
/// The loop registers `wakeDescriptor` for `EPOLLIN`; after each sync that made progress (or
/// that was explicitly requested) the committer signals it. The loop then calls
/// `acknowledgeWakeup()`, reads `durableLSN` and releases replies up to it, and checks `failure`:
/// once set, the journal is dead and the daemon must stop.
public final class GroupCommitter: Committer, @unchecked Sendable {
    /// The `.periodic` interval (about 100 ms, as the daemon documents).
    public static let defaultPeriodNanoseconds: UInt64 = 100_000_000

    public let journal: any JournalStore
    public let policy: SyncPolicy
    private let periodNanoseconds: UInt64
    private let wake: EventFD
    private let lock = PthreadMutex()
    private let changed = PthreadCondition()
    private var thread: PosixThread?

    // Under `lock`.
    private var requested = false
    private var explicitRequested = false
    private var stopping = false
    private var durable: UInt64
    private var error: JournalError?
    private var syncs: UInt64 = 0
    /// Durations of syncs not yet taken by `takeSyncDurations`, at most `maxPendingDurations`
    /// (a loop that never asks must not grow this without bound).
    private var pendingDurations: [UInt64] = []
    static let maxPendingDurations = 4096

    public init(
        journal: any JournalStore, policy: SyncPolicy, periodNanoseconds: UInt64 = defaultPeriodNanoseconds
    ) throws(JournalError) {
        self.journal = journal
        self.policy = policy
        self.periodNanoseconds = periodNanoseconds
        durable = journal.durableLSN
        wake = try io { () throws(SystemError) in try EventFD.make(label: "journal group-commit eventfd") }
        thread = try io { () throws(SystemError) in try PosixThread { [self] in run() } }
    }

    /// Readable (`EPOLLIN`) after a sync completed or the committer failed.
    public var wakeDescriptor: FileDescriptor { wake.descriptor }

    /// The loop appended and flushed records: under `.always` they are synced as soon as the
    /// sync in flight (if any) is done; under the other policies this only notes the fact.
    public func requestSync() {
        guard policy == .always else { return }
        lock.withLock { requested = true; changed.signal() }
    }

    /// Sync now, whatever the policy (the `SYNC` command, shutdown). The wake descriptor fires
    /// when done; `durableLSN` then covers everything flushed before this call.
    public func requestExplicitSync() {
        lock.withLock { explicitRequested = true; changed.signal() }
    }

    public var durableLSN: UInt64 { journal.durableLSN }
    public var failure: JournalError? { lock.withLock { error } }

    /// How many syncs ran, since start.
    public var syncCount: UInt64 { lock.withLock { syncs } }

    /// The durations, in nanoseconds, of the syncs completed since the last call (for the
    /// daemon's latency histogram; beyond `maxPendingDurations` unread ones are dropped).
    public func takeSyncDurations() -> [UInt64] {
        lock.withLock {
            let taken = pendingDurations
            pendingDurations.removeAll(keepingCapacity: true)
            return taken
        }
    }

    /// Resets the wake descriptor after it fired.
    public func acknowledgeWakeup() { _ = try? wake.drain() }

    /// Blocks until `lsn` is durable or the committer failed (for tools and tests without an
    /// event loop; the daemon waits on `wakeDescriptor` instead). Asks for a sync explicitly.
    @discardableResult
    public func waitDurable(_ lsn: UInt64) throws(JournalError) -> UInt64 {
        requestExplicitSync()
        return try lock.withLock { () throws(JournalError) -> UInt64 in
            while journal.durableLSN < lsn && error == nil && !stopping {
                if !explicitRequested { explicitRequested = true; changed.signal() }
                changed.wait(lock)
            }
            if let error { throw .failed(error) }
            return journal.durableLSN
        }
    }

    /// Stops the thread after the sync in flight (no final sync: call `journal.sync()` for that)
    /// and closes the wake descriptor.
    public func stop() {
        lock.withLock { stopping = true; changed.broadcast() }
        thread?.join()
        thread = nil
        try? wake.close()
    }

    private func run() {
        var nextPeriodic = MonotonicClock.nanoseconds() + periodNanoseconds
        lock.lock()
        while !stopping {
            let explicit = explicitRequested
            let due = policy == .periodic && MonotonicClock.nanoseconds() >= nextPeriodic
            guard requested || explicit || due else {
                if policy == .periodic { changed.wait(lock, untilMonotonicNanoseconds: nextPeriodic) }
                else { changed.wait(lock) }
                continue
            }
            requested = false
            explicitRequested = false
            lock.unlock()
            let started = MonotonicClock.nanoseconds()
            let result = Result(catching: { () throws(JournalError) in try journal.sync() })
            let finished = MonotonicClock.nanoseconds()
            if due { nextPeriodic = finished + periodNanoseconds }
            lock.lock()
            syncs += 1
            if pendingDurations.count < Self.maxPendingDurations { pendingDurations.append(finished - started) }
            if !publish(result, explicit: explicit) { break }
        }
        lock.unlock()
    }

    /// Records a sync's outcome (lock held) and wakes the loop; false once the journal failed.
    private func publish(_ result: Result<UInt64, JournalError>, explicit: Bool) -> Bool {
        switch result {
        case .success(let lsn):
            let progressed = lsn > durable
            durable = max(durable, lsn)
            changed.broadcast()
            if progressed || explicit { try? wake.signal() }
            return true
        case .failure(let e):
            error = e
            changed.broadcast()
            try? wake.signal()
            return false
        }
    }
}
