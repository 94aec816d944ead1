public import PaymentsPlatform

/// Where snapshots of the daemon's state go, whatever keeps them (files beside the local
/// journal, rows in PostgreSQL). Taken in three steps so that the slow middle one runs on a
/// thread of its own while the appending thread goes on.
public protocol SnapshotStore: AnyObject, Sendable {
    /// Appending thread: fixes the LSN the snapshot covers and writes out buffered records.
    func prepareSnapshot(throughLSN lsn: UInt64) throws(JournalError) -> PendingSnapshot
    /// Any thread: waits until the journal is durable through `pending.lsn`, then stores the
    /// payload durably (a snapshot never claims records the journal could still lose).
    func writeSnapshot(_ pending: PendingSnapshot, payload: UnsafeRawBufferPointer) throws(JournalError)
    /// Appending thread, after the middle step succeeded: drops what the snapshot makes unnecessary.
    func finishSnapshot(_ pending: PendingSnapshot) throws(JournalError)
    /// True once enough was appended since the newest snapshot that another is due.
    var shouldSnapshot: Bool { get }
    /// A snapshot failed (`.snapshotFailed`): the next is due after more growth.
    func snapshotFailed()
    /// True when a clean shutdown should leave a snapshot (something was appended since the
    /// newest one, and this process is the one that writes them).
    var shouldSnapshotOnClose: Bool { get }
    /// The LSN the newest snapshot covers (0 when there is none).
    var snapshotLSN: UInt64 { get }
    /// The newest snapshot's payload as opening the store read and checked it (nil if none);
    /// handed over once, so its memory goes as soon as the caller restored its state.
    func takeSnapshotPayload() -> [UInt8]?
}

/// A snapshot between its three steps.
public struct PendingSnapshot: Sendable {
    public let lsn: UInt64
    public init(lsn: UInt64) { self.lsn = lsn }
}

/// A journal with its snapshots: everything `DurableEngine` needs from storage.
public protocol DurableStore: JournalStore, SnapshotStore {
    /// Bytes of journal kept (the daemon's `journal_bytes`).
    var journalBytes: Int { get }
    /// Where the state lives, for log lines ("directory D", "ledger L on host H").
    var location: String { get }
    /// Writes out and syncs what was appended, then releases the store. Not used afterwards.
    func close() throws(JournalError)
    /// Reads the newest snapshot again, so that `takeSnapshotPayload` hands it over once more
    /// (a state rebuilt after records were cut off the journal).
    func reloadSnapshotPayload() throws(JournalError)
    /// After `.noSpace`: whether writes would succeed again (tried once a second).
    func probeSpace() throws(JournalError) -> Bool
}

/// What turns appended records into durable ones on a thread of its own and tells the event
/// loop: the local `GroupCommitter` (fdatasync), or the PostgreSQL journal's committer (COMMIT).
///
/// The loop watches `wakeDescriptor` for `EPOLLIN`, then calls `acknowledgeWakeup()`, reads
/// `durableLSN` and releases replies up to it, and checks `failure`: once set, stop.
public protocol Committer: AnyObject, Sendable {
    var wakeDescriptor: FileDescriptor { get }
    func acknowledgeWakeup()
    /// Records were appended and flushed: make them durable under the policy.
    func requestSync()
    /// Make everything flushed durable now (the `SYNC` command); the wake fires when done.
    func requestExplicitSync()
    var durableLSN: UInt64 { get }
    var failure: JournalError? { get }
    /// Syncs (or commits) done since start, and their durations in nanoseconds since the last call.
    var syncCount: UInt64 { get }
    func takeSyncDurations() -> [UInt64]
    /// Stops the thread after the work in flight (no final sync).
    func stop()
}

/// A store that several daemons share, one leading and the others following (the PostgreSQL
/// journal). The local journal has no such side: its daemon always leads.
public protocol Replica: AnyObject, Sendable {
    /// What the daemon reports (`STATS`, `/metrics`, `GET /leader`); any thread.
    var replicaStatus: ReplicaStatus { get }
    /// Loop thread, after the committer's wake: hands over what a standby fetched, in order,
    /// and completes a change of role on the appending side. `reset` means the state must be
    /// rebuilt from what follows (this daemon lost the ledger with records not committed, or
    /// fell behind a deleted batch); `snapshot` is a whole state to decode.
    func drainUpdates(
        reset: () -> Void, snapshot: ([UInt8]) -> Bool, record: (UInt64, UnsafeRawBufferPointer) -> Bool
    ) throws(JournalError) -> ReplicaDrain
}

/// What a drain did, for the loop.
public struct ReplicaDrain: Sendable {
    /// Records applied by this drain.
    public var records = 0
    /// The daemon stopped leading with records whose commit failed or is unknown: every reply
    /// that waits must be dropped unsent (the connection closed), never answered `OK` or `ERR`.
    public var lostLeadership = false
    /// The daemon became the leader: it may take writes from now on.
    public var becameLeader = false
    public init() {}
}

public struct ReplicaStatus: Sendable, Equatable {
    public enum Role: String, Sendable { case leader, standby }
    public var role: Role
    /// Writes may be taken: leading, with a lease that this daemon's own clock says is still held.
    public var writable: Bool
    /// Leading with a lease this daemon's own clock says may have run out: its state may be
    /// behind a new leader's, so it answers no query about the ledger until it renews.
    public var leaseLapsed: Bool = false
    public var epoch: UInt64
    /// The leader's node name as last seen ("" when unknown).
    public var leader: String
    /// The last LSN applied to this daemon's state, and the last one the store holds as far as
    /// this daemon saw (their difference is a standby's lag).
    public var appliedLSN: UInt64
    public var storeLSN: UInt64
    public var node: String
    public init(role: Role, writable: Bool, epoch: UInt64, leader: String, appliedLSN: UInt64, storeLSN: UInt64, node: String) {
        self.role = role
        self.writable = writable
        self.epoch = epoch
        self.leader = leader
        self.appliedLSN = appliedLSN
        self.storeLSN = storeLSN
        self.node = node
    }
}
