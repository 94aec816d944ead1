public import PaymentsJournal
public import PaymentsPlatform
import PaymentsPostgres

/// The journal in PostgreSQL (§8): the same framed records as the local journal, one row per
/// group-commit batch, committed only while this daemon's epoch owns the ledger. It is the
/// daemon's store, its committer and its replica at once:
///
/// - the event loop appends records into a buffer and `flush` hands each gathered batch to the
///   worker thread (no copy);
/// - the worker (`PostgresJournal+Worker`) leads or follows. Leading, it pipelines commits on one
///   connection (several in flight), publishes the durable LSN after each `COMMIT`, renews the
///   lease and resolves commits whose outcome a lost connection hid. Following, it polls for
///   new batches and claims the ledger when the lease runs out;
/// - the loop takes what a standby fetched through `drainUpdates`, on the committer's wake.
///
/// Loop-thread state is unlocked; what the worker shares sits in `shared` under `lock`.
public final class PostgresJournal: DurableStore, Committer, Replica, @unchecked Sendable {
    let options: PostgresJournalOptions
    let log: ReplicationLog

    // MARK: Loop thread only
    private var buffer: [UInt8] = []
    public private(set) var lastLSN: UInt64
    /// The epoch the loop appends under (0 while not leading): batches from an epoch the
    /// worker no longer holds are dropped, never committed.
    private var appendEpoch: UInt64 = 0
    private var snapshotPayloadTaken: [UInt8]?
    public private(set) var snapshotLSN: UInt64
    private var bytesSinceSnapshot: Int
    /// `bytesSinceSnapshot` when the snapshot being stored was prepared.
    private var bytesCoveredByPending = 0
    private var retrySnapshotAtBytes = 0
    private let lockFile: FileDescriptor
    /// The start-up connection: `read(from:)` replays through it, then the worker takes over.
    var setupConnection: PostgresConnection?

    // MARK: Shared with the worker
    let lock = PthreadMutex()
    let changed = PthreadCondition()
    var shared: SharedState
    /// Tells the event loop: commits done, updates fetched, role changed, failure.
    let loopWake: EventFD
    /// Tells the worker: batches queued, stop.
    let workerWake: EventFD
    private var thread: PosixThread?
    /// Breaks the worker's connection when a stop cannot wait for it.
    let workerInterrupt = ConnectionInterrupt()

    // MARK: The change stream (PostgresCursor)
    /// The newest committed rows, for followers near the end (any thread).
    let recent: RecentBatches
    /// Reads older rows for followers off the loop; wakes the loop when a page came.
    let fetcher: BatchFetcher

    init(
        options: PostgresJournalOptions, log: @escaping ReplicationLog, connection: PostgresConnection, lockFile: FileDescriptor,
        snapshot: (lsn: UInt64, payload: [UInt8])?, lastLSN: UInt64, oldestLSN: UInt64, bytesAfterSnapshot: Int
    ) throws(JournalError) {
        self.options = options
        self.log = log
        self.lockFile = lockFile
        setupConnection = connection
        snapshotPayloadTaken = snapshot?.payload
        snapshotLSN = snapshot?.lsn ?? 0
        self.lastLSN = lastLSN
        bytesSinceSnapshot = bytesAfterSnapshot
        shared = SharedState(durable: lastLSN, storeLSN: lastLSN)
        shared.oldestLSN = oldestLSN
        queuedThrough = lastLSN
        let wake: EventFD
        do {
            wake = try EventFD.make(label: "postgres journal loop eventfd")
            workerWake = try EventFD.make(label: "postgres journal worker eventfd")
        } catch {
            throw .system(error)
        }
        loopWake = wake
        recent = RecentBatches(limitBytes: options.followCacheBytes)
        fetcher = BatchFetcher(
            ledger: options.ledger, log: log, connect: { [options] () throws(JournalError) in try Self.connect(options) },
            done: { try? wake.signal() })
    }

    /// Starts the worker once the caller has replayed the ledger through `read(from:)`: it
    /// follows from `lastLSN` and claims the ledger if nobody holds it.
    public func start() throws(JournalError) {
        setupConnection?.close()
        setupConnection = nil
        let from = lastLSN
        shared.appliedLSN = from
        do {
            thread = try PosixThread { [self] in runWorker(fetchedLSN: from) }
        } catch {
            throw .system(error)
        }
    }

    // MARK: Appending (loop thread)

    public func appendRecord(
        payloadSize: Int, _ encode: (UnsafeMutableRawBufferPointer) -> Void
    ) throws(JournalError) -> UInt64 {
        guard appendEpoch != 0 else { throw .store("not the leader of ledger \(options.ledger): writes go to the leader") }
        guard payloadSize >= 0 && payloadSize <= RecordFraming.maxRecordBytes else {
            throw .invalidArgument("record of \(payloadSize) bytes (limit \(RecordFraming.maxRecordBytes))")
        }
        let start = buffer.count
        let frame = RecordFraming.headerBytes + payloadSize
        buffer.append(contentsOf: repeatElement(0, count: frame))
        buffer.withUnsafeMutableBytes { raw in
            let p = raw.baseAddress! + start
            encode(UnsafeMutableRawBufferPointer(start: p + RecordFraming.headerBytes, count: payloadSize))
            RecordFraming.seal(p, length: payloadSize)
        }
        lastLSN += 1
        bytesSinceSnapshot += frame
        return lastLSN
    }

    /// Hands the gathered records to the worker as one batch; it commits them in order.
    @discardableResult
    public func flush() throws(JournalError) -> UInt64 {
        if let failure = lock.withLock({ shared.failure }) { throw .failed(failure) }
        guard !buffer.isEmpty else { return lastLSN }
        var records: [UInt8] = []
        swap(&records, &buffer)
        buffer.reserveCapacity(records.count)
        let batch = Batch(first: queuedThrough + 1, last: lastLSN, epoch: appendEpoch, records: records)
        queuedThrough = lastLSN
        let full = lock.withLock { () -> Bool in
            shared.queued.append(batch)
            shared.uncommittedBytes += records.count
            shared.queuedThrough = batch.last
            return shared.uncommittedBytes >= options.maxPendingBytes
        }
        try? workerWake.signal()
        // Past the bound the loop must refuse writes now, not at the next commit.
        if full { try? loopWake.signal() }
        return lastLSN
    }

    /// The last LSN handed to the worker (loop thread).
    private var queuedThrough: UInt64 = 0

    /// Waits until everything handed to the worker is committed (any thread).
    @discardableResult
    public func sync() throws(JournalError) -> UInt64 {
        try lock.withLock { () throws(JournalError) -> UInt64 in
            let target = shared.queuedThrough
            while shared.durable < target && shared.failure == nil && !shared.stopping && shared.role == .leader {
                changed.wait(lock)
            }
            if let failure = shared.failure { throw .failed(failure) }
            guard shared.durable >= target else { throw .store("not committed: this daemon no longer leads ledger \(options.ledger)") }
            return shared.durable
        }
    }

    public var durableLSN: UInt64 { lock.withLock { shared.durable } }

    public func read(from lsn: UInt64, _ body: (UInt64, UnsafeRawBufferPointer) -> Void) throws(JournalError) {
        let connection: PostgresConnection
        if let setupConnection { connection = setupConnection } else { connection = try connect() }
        defer { if setupConnection == nil { connection.close() } }
        try LedgerReader(connection: connection, ledger: options.ledger).forEachRecord(from: lsn, body)
    }

    // MARK: Committer

    public var wakeDescriptor: FileDescriptor { loopWake.descriptor }
    public func acknowledgeWakeup() { _ = try? loopWake.drain() }
    public func requestSync() {}
    /// Everything flushed is already on its way; the wake tells when it is committed. With
    /// nothing pending the answer is immediate.
    public func requestExplicitSync() {
        let idle = lock.withLock { shared.durable >= shared.queuedThrough }
        if idle { try? loopWake.signal() }
    }
    public var failure: JournalError? { lock.withLock { shared.failure } }
    public var syncCount: UInt64 { lock.withLock { shared.commits } }
    public func takeSyncDurations() -> [UInt64] {
        lock.withLock {
            let taken = shared.commitDurations
            shared.commitDurations.removeAll(keepingCapacity: true)
            return taken
        }
    }

    /// How long a stop lets the worker finish on its own (a leader gives its lease back: one
    /// round trip) before breaking its connection, and then waits for it again at most.
    static let stopGraceNanoseconds: UInt64 = 1_000_000_000

    /// Stops the worker and the change stream's fetcher without waiting on PostgreSQL: a leader
    /// first gives its lease back, so that a standby takes over at once instead of after the
    /// lease; a query that does not come back within `stopGraceNanoseconds` (a server or a
    /// network gone silent) is broken off, and the fetcher's at once.
    public func stop() {
        let running = lock.withLock { () -> Bool in
            if shared.stopping { return false }
            shared.stopping = true
            changed.broadcast()
            return true
        }
        guard running else { return }
        try? workerWake.signal()
        fetcher.stop()
        guard let worker = thread else { return }
        thread = nil
        if !waitForWorker(Self.stopGraceNanoseconds) {
            workerInterrupt.interrupt()
            guard waitForWorker(Self.stopGraceNanoseconds) else {
                return log(.warning, "ledger \(options.ledger): the PostgreSQL worker did not stop; not waiting for it")
            }
        }
        worker.join()
    }

    /// True once the worker's loop ended, waiting at most `nanoseconds`.
    private func waitForWorker(_ nanoseconds: UInt64) -> Bool {
        let deadline = MonotonicClock.nanoseconds() + nanoseconds
        return lock.withLock { () -> Bool in
            while !shared.workerDone && MonotonicClock.nanoseconds() < deadline {
                changed.wait(lock, untilMonotonicNanoseconds: deadline)
            }
            return shared.workerDone
        }
    }

    // MARK: Replica

    public var replicaStatus: ReplicaStatus {
        lock.withLock {
            var status = ReplicaStatus(
                role: shared.role, writable: isWritable, epoch: shared.epoch, leader: shared.leader,
                appliedLSN: shared.role == .leader ? shared.durable : shared.appliedLSN,
                storeLSN: max(shared.storeLSN, shared.durable), node: options.node)
            status.leaseLapsed = shared.role == .leader && shared.promotion == nil
                && MonotonicClock.nanoseconds() >= shared.leaseValidUntil
            return status
        }
    }

    /// Leading, the loop has taken over, the lease is held by this daemon's own clock, and
    /// PostgreSQL keeps up. Under `lock`.
    var isWritable: Bool {
        shared.role == .leader && shared.promotion == nil && !shared.lostLeadership
            && MonotonicClock.nanoseconds() < shared.leaseValidUntil && shared.uncommittedBytes < options.maxPendingBytes
    }

    public func drainUpdates(
        reset: () -> Void, snapshot: ([UInt8]) -> Bool, record: (UInt64, UnsafeRawBufferPointer) -> Bool
    ) throws(JournalError) -> ReplicaDrain {
        let (updates, lost, promotion) = lock.withLock { () -> ([Update], Bool, (epoch: UInt64, lsn: UInt64)?) in
            let taken = (shared.updates, shared.lostLeadership, shared.promotion)
            shared.updates = []
            shared.updateBytes = 0
            shared.lostLeadership = false
            shared.promotion = nil
            return taken
        }
        var drain = ReplicaDrain()
        if lost {
            drain.lostLeadership = true
            appendEpoch = 0
            buffer.removeAll()
        }
        for update in updates {
            switch update {
            case .reset:
                reset()
                lastLSN = 0
                snapshotLSN = 0
            case .snapshot(let lsn, let payload):
                guard snapshot(payload) else { throw .store("snapshot at record \(lsn) of ledger \(options.ledger) cannot be decoded") }
                lastLSN = lsn
                snapshotLSN = lsn
            case .batch(let first, let last, let records):
                guard first == lastLSN + 1 else {
                    throw .gap(file: "ledger \(options.ledger)", expectedLSN: lastLSN + 1, foundLSN: first)
                }
                var lsn = first
                var applied = true
                let walked = records.withUnsafeBytes { raw in
                    RecordFraming.forEach(in: raw) { payload in
                        applied = record(lsn, payload)
                        lsn += 1
                        return applied
                    }
                }
                if let damage = walked.damage {
                    throw .damaged(file: "ledger \(options.ledger) batch at record \(first)", offset: damage.offset, reason: damage.reason)
                }
                guard applied else { throw .store("record \(lsn - 1) of ledger \(options.ledger) is not a transaction") }
                guard lsn == last + 1 else {
                    throw .damaged(file: "ledger \(options.ledger) batch at record \(first)", offset: 0,
                                   reason: "holds \(lsn - first) records, its LSNs say \(last - first + 1)")
                }
                lastLSN = last
                drain.records += walked.records
            }
        }
        if let promotion {
            guard promotion.lsn == lastLSN else {
                throw .store("took the lead of ledger \(options.ledger) at record \(promotion.lsn) but applied \(lastLSN)")
            }
            appendEpoch = promotion.epoch
            queuedThrough = lastLSN
            drain.becameLeader = true
        }
        let applied = lastLSN
        lock.withLock {
            shared.appliedLSN = applied
            if shared.role == .standby || drain.becameLeader {
                shared.durable = applied
                shared.queuedThrough = applied
            }
        }
        return drain
    }

    // MARK: Snapshots (see PostgresJournal+Snapshots)

    public var shouldSnapshot: Bool {
        appendEpoch != 0 && bytesSinceSnapshot >= max(options.snapshotAfterBytes, retrySnapshotAtBytes)
    }

    public func snapshotFailed() {
        retrySnapshotAtBytes = bytesSinceSnapshot + max(options.snapshotAfterBytes / 4, 1)
        bytesCoveredByPending = 0
    }
    public var shouldSnapshotOnClose: Bool { appendEpoch != 0 && lastLSN > snapshotLSN }

    public func takeSnapshotPayload() -> [UInt8]? {
        defer { snapshotPayloadTaken = nil }
        return snapshotPayloadTaken
    }

    public func prepareSnapshot(throughLSN lsn: UInt64) throws(JournalError) -> PendingSnapshot {
        try flush()
        bytesCoveredByPending = bytesSinceSnapshot
        return PendingSnapshot(lsn: lsn)
    }

    /// Records appended while the snapshot was being stored are not in it: they still count.
    public func finishSnapshot(_ pending: PendingSnapshot) throws(JournalError) {
        snapshotLSN = pending.lsn
        bytesSinceSnapshot -= min(bytesSinceSnapshot, bytesCoveredByPending)
        bytesCoveredByPending = 0
        retrySnapshotAtBytes = 0
    }

    public var journalBytes: Int { bytesSinceSnapshot }
    /// Never needed: a commit PostgreSQL refuses is never applied twice (the state is rebuilt
    /// from PostgreSQL itself when this daemon loses the lead).
    public func reloadSnapshotPayload() throws(JournalError) {}
    /// PostgreSQL's disk is PostgreSQL's: a full one shows as failing commits, retried.
    public func probeSpace() throws(JournalError) -> Bool { true }
    public var location: String { "ledger \(options.ledger) in PostgreSQL" }

    public func close() throws(JournalError) {
        stop()
        setupConnection?.close()
        try? lockFile.close()
    }

    deinit {
        try? loopWake.close()
        try? workerWake.close()
    }
}

/// A group-commit batch: the framed records of LSNs `first...last`, appended under `epoch`.
struct Batch: Sendable {
    var first: UInt64
    var last: UInt64
    var epoch: UInt64
    var records: [UInt8]
}

/// What a standby fetched, for the loop to apply in order.
enum Update: Sendable {
    /// Start from nothing: what follows rebuilds the state.
    case reset
    case snapshot(lsn: UInt64, payload: [UInt8])
    case batch(first: UInt64, last: UInt64, records: [UInt8])
}

/// Everything the loop and the worker share, under `PostgresJournal.lock`.
struct SharedState {
    /// Batches flushed by the loop, not yet sent.
    var queued: [Batch] = []
    /// Record bytes queued or in flight: bounded by `maxPendingBytes`.
    var uncommittedBytes = 0
    /// The last LSN handed to the worker.
    var queuedThrough: UInt64 = 0
    /// Committed (leader) or applied (standby): replies wait for this.
    var durable: UInt64
    var role: ReplicaStatus.Role = .standby
    var epoch: UInt64 = 0
    var leader = ""
    /// Monotonic deadline of the lease by this daemon's own clock: the commit or renewal that
    /// last succeeded was sent at `t`, so PostgreSQL's lease runs at least until `t + lease`.
    var leaseValidUntil: UInt64 = 0
    var storeLSN: UInt64
    var appliedLSN: UInt64 = 0
    var updates: [Update] = []
    var updateBytes = 0
    var lostLeadership = false
    /// Claimed: the loop leads once it applied everything up to `lsn`.
    var promotion: (epoch: UInt64, lsn: UInt64)?
    var failure: JournalError?
    var stopping = false
    /// The worker's loop ended (its connection closed).
    var workerDone = false
    /// The first record of the oldest batch row kept (`oldestReadableLSN`).
    var oldestLSN: UInt64 = 1
    var commits: UInt64 = 0
    var commitDurations: [UInt64] = []
    /// The loop was told the lease may have run out (told once per expiry).
    var leaseExpiredNoted = false

    init(durable: UInt64, storeLSN: UInt64) {
        self.durable = durable
        self.storeLSN = storeLSN
        queuedThrough = durable
    }
}
