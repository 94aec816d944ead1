import PaymentsCore
import PaymentsJournal
import PaymentsPlatform

/// What the protocols share on the loop: the durable engine, the gate that holds replies until
/// their records are safe, the log, and what to do when the journal fails.
final class DaemonService {
    let durable: DurableEngine
    let gate = ReplyGate()
    let log: Logger
    unowned let loop: EventLoop
    let startedAtMilliseconds = MonotonicClock.milliseconds()
    /// Set once the journal cannot take writes: the daemon stops, replies that waited are never sent.
    private(set) var failure: JournalError?
    var queries: Queries { Queries(service: self) }
    /// How long the journal's syncs took, for `/metrics`.
    private(set) var syncLatency = LatencyHistogram()

    init(durable: DurableEngine, loop: EventLoop, log: Logger) {
        self.durable = durable
        self.loop = loop
        self.log = log
    }

    /// Journals and applies `t`; nil when the journal has failed (nothing was taken).
    @inline(__always)
    func submit(_ t: Transaction) -> Outcome? {
        guard failure == nil else { return nil }
        do {
            return try durable.submit(t).outcome
        } catch {
            fail(error)
            return nil
        }
    }

    /// Everything `connection` wrote so far waits for the records appended so far.
    func hold(_ connection: Connection, syncRequested: Bool) {
        gate.hold(
            connection, lsn: durable.lastLSN, needsDurable: durable.policy == .always || syncRequested,
            written: durable.writtenLSN, durable: durable.committer.durableLSN)
    }

    /// Once per loop iteration: write the gathered records, ask for their sync, release what
    /// may go, and snapshot when due.
    func beforeWait() {
        guard failure == nil else { return }
        do {
            try durable.commitGathered()
            releaseSafeReplies()
            try durable.snapshotIfDue()
        } catch {
            fail(error)
        }
    }

    /// The committer's thread finished a sync (or failed).
    func committerWoke() {
        durable.committer.acknowledgeWakeup()
        if let error = durable.committer.failure { fail(error); return }
        releaseSafeReplies()
        observeSyncDurations()
    }

    func observeSyncDurations() {
        for nanoseconds in durable.committer.takeSyncDurations() { syncLatency.observe(nanoseconds: nanoseconds) }
    }

    var uptimeSeconds: UInt64 { (MonotonicClock.milliseconds() - startedAtMilliseconds) / 1000 }

    /// The snapshot thread finished: complete the snapshot, or stop if it failed.
    func snapshotWoke() {
        guard failure == nil else { return }
        do { try durable.finishSnapshot() } catch { fail(error) }
    }

    func releaseSafeReplies() {
        gate.release(written: durable.writtenLSN, durable: durable.committer.durableLSN)
    }

    /// The journal cannot be trusted any more: acknowledging anything else would be a lie.
    /// Connections with replies waiting are dropped unanswered (their clients count them as
    /// unacknowledged), and the daemon stops with a failure status for systemd to restart it.
    func fail(_ error: JournalError) {
        guard failure == nil else { return }
        failure = error
        log.error("journal failed, stopping without acknowledging anything more: \(error)")
        for connection in gate.connections { connection.close() }
        loop.stop()
    }

    func statsLine() -> String {
        let ledger = durable.engine.ledger
        return "applied=\(durable.engine.applied) rejected=\(durable.engine.rejected) malformed=\(durable.malformed) "
            + "clients=\(ledger.accountCount) transactions=\(ledger.transactions.count) connections=\(loop.connectionCount) "
            + "journal_bytes=\(durable.journal.journalBytes) last_lsn=\(durable.lastLSN) "
            + "durable_lsn=\(durable.committer.durableLSN) snapshots=\(durable.snapshots) "
            + "uptime_s=\(uptimeSeconds)\n"
    }
}
