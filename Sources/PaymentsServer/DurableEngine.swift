import PaymentsCore
import PaymentsFormat
import PaymentsJournal
import PaymentsPlatform

/// The engine behind its journal: every well-formed transaction is appended to the journal
/// before it is applied, and the daemon learns which appended records are durable so that it
/// can release the replies that depend on them. Loop thread only, except the committer's thread.
public final class DurableEngine {
    /// Replaced only when a replica must rebuild its state (it lost the ledger with records that
    /// never committed, or fell behind a deleted batch).
    public private(set) var engine: Engine
    public let journal: any DurableStore
    public let committer: any Committer
    /// Set when the store is shared by several daemons (the PostgreSQL journal).
    public let replica: (any Replica)?
    public let policy: SyncPolicy
    /// Lines that were not transactions or commands: counted, never journaled.
    public var malformed = 0
    /// Records handed to the OS with `write` (what a crash of the process alone cannot lose).
    public private(set) var writtenLSN: UInt64
    public private(set) var snapshots = 0
    let log: Logger
    var explicitSyncWanted = false
    /// Readable when a snapshot written on its own thread is done (the loop watches it).
    public let snapshotDone: EventFD
    var inFlight: SnapshotJob?

    /// Rebuilds the engine from the store's newest snapshot and the records after it. The store
    /// is open (recovered); the committer runs on it.
    public init(
        store: any DurableStore, committer: any Committer, replica: (any Replica)? = nil, policy: SyncPolicy, log: Logger
    ) throws(DaemonError) {
        self.policy = policy
        self.log = log
        self.journal = store
        self.committer = committer
        self.replica = replica
        let started = MonotonicClock.milliseconds()
        engine = try Self.restore(store)
        log.info(
            "recovered \(store.lastLSN - min(store.lastLSN, store.snapshotLSN)) journal records after snapshot at "
                + "\(store.snapshotLSN) from \(store.location) in \(MonotonicClock.milliseconds() - started) ms: "
                + "\(engine.ledger.accountCount) accounts, \(engine.ledger.transactions.count) ids")
        writtenLSN = store.lastLSN
        do { snapshotDone = try EventFD.make(label: "snapshot eventfd") } catch { throw .system(error) }
    }

    /// The newest snapshot, then every record after it.
    static func restore(_ store: any DurableStore) throws(DaemonError) -> Engine {
        let engine: Engine
        if let payload = store.takeSnapshotPayload() {
            switch payload.withUnsafeBytes({ EngineSnapshot.decode($0) }) {
            case .success(let e): engine = e
            case .failure(let e):
                throw .startup("snapshot at record \(store.snapshotLSN) in \(store.location) is damaged: \(e)")
            }
        } else {
            engine = Engine(expectedTransactions: Int(store.lastLSN - min(store.lastLSN, store.snapshotLSN)))
        }
        var damaged: (UInt64, Int)?
        do {
            try store.read(from: store.snapshotLSN + 1) { lsn, payload in
                guard damaged == nil else { return }
                guard let t = TransactionRecord.decode(payload) else { damaged = (lsn, payload.count); return }
                engine.apply(t)
            }
        } catch {
            throw .journal(error)
        }
        if let (lsn, size) = damaged {
            throw .startup("journal record \(lsn) (\(size) bytes) passed its checksum but is not a transaction: refusing to start")
        }
        return engine
    }

    /// A standby's share of the committer's wake: applies what the store fetched. False when a
    /// fetched record or snapshot cannot be decoded (the replica then stops, as at start).
    public func applyReplicaUpdates() throws(JournalError) -> ReplicaDrain {
        guard let replica else { return ReplicaDrain() }
        var bad: String?
        var rebuilt = false
        let drain = try replica.drainUpdates(
            reset: { engine = Engine(); rebuilt = true },
            snapshot: { payload in
                switch payload.withUnsafeBytes({ EngineSnapshot.decode($0) }) {
                case .success(let e): engine = e; rebuilt = true; return true
                case .failure(let e): bad = "snapshot: \(e)"; return false
                }
            },
            record: { lsn, payload in
                guard let t = TransactionRecord.decode(payload) else { bad = "record \(lsn) is not a transaction"; return false }
                engine.apply(t)
                return true
            })
        if let bad { throw .invalidArgument("replica cannot apply what it fetched: \(bad)") }
        // Only what the drain applied moves this: a leader's records appended since the last
        // flush must still be flushed by `commitGathered`.
        if rebuilt || drain.records > 0 || drain.lostLeadership || drain.becameLeader { writtenLSN = journal.lastLSN }
        return drain
    }

    /// Journals `t` and applies it. Throws when the journal can no longer take writes; then
    /// nothing was applied.
    ///
    /// The record (version 2) keeps the outcome and the account after `t`, for the change
    /// stream, so the engine applies `t` while the journal's buffer holds the record: inside the
    /// encode step, once the journal made room for the record and before it seals its checksum.
    /// Nothing can fail between the two, so a transaction is applied exactly when it is
    /// journaled, and no one sees its effect before it is (replies and the stream wait for the
    /// record to be durable, as before).
    @inline(__always)
    public func submit(_ t: Transaction) throws(JournalError) -> (lsn: UInt64, outcome: Outcome) {
        var outcome = Outcome.applied
        let engine = self.engine
        let lsn = try journal.appendRecord(payloadSize: TransactionRecord.sizeWithEffect(of: t)) { out in
            let p = out.baseAddress!
            let head = TransactionRecord.encode(t, into: p)
            outcome = engine.apply(t)
            TransactionRecord.encodeEffect(outcome, engine.ledger.account(t.client), into: p + head)
        }
        return (lsn, outcome)
    }

    /// The last record appended: a reply that observed the state now must wait for it. While a
    /// write that found the disk full is not yet handled, nothing observed now may ever go out.
    public var lastLSN: UInt64 { spaceFault ? .max : journal.lastLSN }

    /// A journal write found the disk full this iteration: the batch was cut off the journal but
    /// the engine still shows it, until `rebuildAfterSpaceFault`.
    public private(set) var spaceFault = false

    public func noteSpaceFault() { spaceFault = true }

    /// The engine again from the journal as it is on disk (the newest snapshot and the records
    /// after it): what was cut off is gone from the state too. About as long as a start.
    public func rebuildAfterSpaceFault() throws(DaemonError) {
        let started = MonotonicClock.milliseconds()
        do { try journal.reloadSnapshotPayload() } catch { throw .journal(error) }
        engine = try Self.restore(journal)
        writtenLSN = journal.lastLSN
        spaceFault = false
        log.info("state rebuilt from the journal through record \(journal.lastLSN) in \(MonotonicClock.milliseconds() - started) ms")
    }

    /// How far a reply may go out: durable records under `always`, written ones otherwise
    /// (`periodic` and `never` may acknowledge before the sync, never before the write).
    public var releasableLSN: UInt64 { policy == .always ? committer.durableLSN : writtenLSN }

    /// Asks for `SYNC`: an explicit sync under any policy; its reply waits for durability.
    public func wantExplicitSync() { explicitSyncWanted = true }

    /// Writes what the loop gathered with one `write`, then asks the committer to sync it.
    /// Called once per loop iteration.
    public func commitGathered() throws(JournalError) {
        if journal.lastLSN != writtenLSN { writtenLSN = try journal.flush() }
        if explicitSyncWanted {
            explicitSyncWanted = false
            committer.requestExplicitSync()
        } else if policy == .always && committer.durableLSN < writtenLSN {
            committer.requestSync()
        }
    }

    /// Starts a snapshot when the journal has grown enough since the last one and none is being
    /// written. The state is encoded here, on the loop thread, where it cannot change meanwhile
    /// (about 0.2 s for 10 M transactions); the file is written and synced on a thread of its
    /// own (about 0.9 s more), and `finishSnapshot` completes it when `snapshotDone` fires.
    public func snapshotIfDue() throws(JournalError) {
        guard inFlight == nil, journal.shouldSnapshot else { return }
        let started = MonotonicClock.milliseconds()
        let bytes = EngineSnapshot.encode(engine)
        let pending = try journal.prepareSnapshot(throughLSN: journal.lastLSN)
        writtenLSN = journal.lastLSN
        let job = SnapshotJob(pending: pending, size: bytes.count, started: started)
        job.encodedMilliseconds = MonotonicClock.milliseconds() - started
        do {
            job.thread = try PosixThread { [journal, snapshotDone] in
                job.result = bytes.withUnsafeBytes { raw in
                    Result { () throws(JournalError) in try journal.writeSnapshot(pending, payload: raw) }
                }
                try? snapshotDone.signal()
            }
        } catch {
            throw .system(error)
        }
        inFlight = job
    }

    /// The snapshot thread is done: on success, the files it covers go.
    public func finishSnapshot() throws(JournalError) {
        _ = try? snapshotDone.drain()
        guard let job = inFlight else { return }
        job.thread?.join()
        inFlight = nil
        do {
            try job.result.get()
        } catch .snapshotFailed(let why) {
            log.warning("snapshot through record \(job.pending.lsn) not written (\(why)); serving on, trying again after more growth")
            journal.snapshotFailed()
            return
        }
        try journal.finishSnapshot(job.pending)
        snapshots += 1
        log.info(
            "snapshot through record \(job.pending.lsn): \(job.size) bytes, encoded in \(job.encodedMilliseconds) ms, "
                + "written and synced in the background, \(MonotonicClock.milliseconds() - job.started) ms in all")
    }

    /// Takes a snapshot now, on this thread (clean shutdown), after any one in flight.
    public func snapshot() throws(JournalError) {
        if let job = inFlight {
            job.thread?.join()
            try finishSnapshot()
        }
        let started = MonotonicClock.milliseconds()
        let bytes = EngineSnapshot.encode(engine)
        let encoded = MonotonicClock.milliseconds()
        let pending = try journal.prepareSnapshot(throughLSN: journal.lastLSN)
        let through = pending.lsn
        writtenLSN = journal.lastLSN
        let written: Result<Void, JournalError> = bytes.withUnsafeBytes { raw in
            do throws(JournalError) {
                try journal.writeSnapshot(pending, payload: raw)
                return .success(())
            } catch { return .failure(error) }
        }
        do {
            try written.get()
        } catch .snapshotFailed(let why) {
            log.warning("snapshot through record \(through) not written (\(why)): skipped; the journal is intact and is replayed at the next start")
            journal.snapshotFailed()
            return
        }
        try journal.finishSnapshot(pending)
        snapshots += 1
        log.info(
            "snapshot through record \(through): \(bytes.count) bytes, encoded in \(encoded - started) ms, "
                + "written and synced in \(MonotonicClock.milliseconds() - encoded) ms")
    }

    /// Stops the committer thread, syncs, snapshots and closes the journal (clean shutdown).
    /// The local journal's snapshot comes before its committer stops. A replica's committer
    /// stops first: a leader reads its commits in flight and gives the lease back, so that a
    /// standby leads while this daemon stores its final snapshot (of committed records only,
    /// through its own connection; any daemon may store a snapshot of a committed prefix).
    public func close(snapshot takeSnapshot: Bool) throws(JournalError) {
        if let job = inFlight {
            job.thread?.join()
            try finishSnapshot()
        }
        if replica != nil { committer.stop() }
        do {
            if takeSnapshot && journal.shouldSnapshotOnClose { try snapshot() }
        } catch {
            committer.stop()
            throw error
        }
        committer.stop()
        try journal.close()
    }
}

/// A snapshot whose file is being written by its own thread. The thread sets `result` before
/// it signals `snapshotDone`; the loop reads it only after joining the thread.
final class SnapshotJob: @unchecked Sendable {
    let pending: PendingSnapshot
    let size: Int
    let started: UInt64
    var encodedMilliseconds: UInt64 = 0
    var thread: PosixThread?
    var result: Result<Void, JournalError> = .success(())

    init(pending: PendingSnapshot, size: Int, started: UInt64) {
        self.pending = pending
        self.size = size
        self.started = started
    }
}

/// Why the daemon could not start or had to stop: one line for the operator.
public enum DaemonError: Error, CustomStringConvertible {
    case startup(String)
    /// A setting the operator must fix (a bad auth file, a listener refused by §9): exit 2,
    /// which the systemd unit does not restart.
    case configuration(String)
    case journal(JournalError)
    case system(SystemError)

    public var description: String {
        switch self {
        case .startup(let message), .configuration(let message): message
        case .journal(let e): "journal: \(e)"
        case .system(let e): "\(e)"
        }
    }
}
