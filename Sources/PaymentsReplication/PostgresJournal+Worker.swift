import PaymentsJournal
import PaymentsPlatform
import PaymentsPostgres

/// The worker thread: one connection, leading or following.
///
/// Leading: queued batches are merged into rows of up to `maxRowBytes` and sent pipelined, each
/// its own implicit transaction (`commitBatch` + sync), up to `maxInFlight` at once; results
/// come back in order, and each `COMMIT` publishes its last LSN as durable. When the connection
/// is lost the batches in flight have an unknown outcome: after reconnecting each is looked up,
/// committed ones are published, the others sent again (still under the epoch check).
///
/// Following: every `pollMilliseconds` the ledger row and the batches after the last fetched
/// LSN are read and queued for the loop; when the lease has run out on PostgreSQL's clock the
/// worker claims the ledger, reads to the end, and hands the loop the lead.
extension PostgresJournal {
    /// A commit or lease renewal sent and not yet answered.
    struct InFlight {
        var batch: Batch?
        var sentAt: UInt64
        /// The statement's answer: a row inserted (or updated), else the epoch is gone.
        var owned: Bool?
        var error: PostgresError?
    }

    final class WorkerState {
        var connection: PostgresConnection?
        var pipelined = false
        var inFlight: [InFlight] = []
        /// Batches to send before anything newly queued (after a lost connection).
        var resend: [Batch] = []
        var fetchedLSN: UInt64
        var lastLeaseSentAt: UInt64 = 0
        var complaint = ""
        var backoff = Backoff()
        var startedAt: [UInt64] = []
        init(fetchedLSN: UInt64) { self.fetchedLSN = fetchedLSN }
    }

    func runWorker(fetchedLSN: UInt64) {
        let w = WorkerState(fetchedLSN: fetchedLSN)
        while !lock.withLock({ shared.stopping }) {
            if w.connection == nil || w.connection!.isBroken {
                guard reconnect(w) else { continue }
            }
            do {
                if lock.withLock({ shared.role }) == .leader { try leadRound(w) } else { try followRound(w) }
            } catch let error as PostgresError {
                lostConnection(w, error.message)
            } catch let error as JournalError {
                if case .store(let why) = error { lostConnection(w, why); continue }
                fatal(error)
                return
            } catch {
                lostConnection(w, "\(error)")
            }
        }
        releaseLeaseOnStop(w)
        dropConnection(w)
        lock.withLock {
            shared.workerDone = true
            changed.broadcast()
        }
    }

    // MARK: Connections

    private func reconnect(_ w: WorkerState) -> Bool {
        dropConnection(w)
        do {
            let connection = try PostgresConnection.connect(options.conninfo)
            // Stopping, and past the grace for a clean stop: never used.
            guard workerInterrupt.attach(connection) else { connection.close(); return false }
            w.connection = connection
            try connection.executeScript(LedgerSchema.sessionSettings)
            if !w.complaint.isEmpty {
                log(.info, "PostgreSQL reachable again at \(connection.serverAddress)")
                w.complaint = ""
            }
            w.backoff.reset()
            if lock.withLock({ shared.role }) == .leader { try resolveInFlight(w) }
            return true
        } catch let error as PostgresError {
            complain(w, "PostgreSQL unreachable, retrying with backoff: \(error.message)")
        } catch let error as JournalError {
            complain(w, "PostgreSQL: \(error)")
        } catch {
            complain(w, "PostgreSQL: \(error)")
        }
        dropConnection(w)
        // The backoff, but the loop hears of the lease running out on time.
        let wait = w.backoff.take()
        let untilExpiry = lock.withLock { () -> UInt64? in
            guard shared.role == .leader, !shared.leaseExpiredNoted else { return nil }
            let now = MonotonicClock.nanoseconds()
            return shared.leaseValidUntil > now ? (shared.leaseValidUntil - now) / 1_000_000 + 1 : 0
        }
        pause(milliseconds: min(wait, untilExpiry ?? wait))
        noteLeaseState()
        return false
    }

    private func lostConnection(_ w: WorkerState, _ why: String) {
        complain(w, "PostgreSQL connection lost (\(why)); reconnecting")
        dropConnection(w)
        noteLeaseState()
    }

    /// Closes the worker's connection (taken back from `workerInterrupt` first).
    private func dropConnection(_ w: WorkerState) {
        if let connection = w.connection {
            workerInterrupt.detach()
            connection.close()
        }
        w.connection = nil
        w.pipelined = false
    }

    /// One log line per change of state, not per attempt.
    private func complain(_ w: WorkerState, _ message: String) {
        guard message != w.complaint else { return }
        w.complaint = message
        log(.warning, message)
    }

    /// The batches whose `COMMIT` was sent on a connection now lost: each is looked up. One
    /// that is there under our epoch committed; one that is missing never did and is sent
    /// again; one under another epoch means the ledger was taken.
    private func resolveInFlight(_ w: WorkerState) throws {
        let connection = w.connection!
        let epoch = lock.withLock { shared.epoch }
        var unsent: [Batch] = []
        for entry in w.inFlight {
            guard let batch = entry.batch else { continue }
            let found = try connection.execute(LedgerSchema.batchAt, [.text(options.ledger), .int64(Int64(batch.first))])
            if found.rowCount == 0 {
                unsent.append(batch)
            } else if UInt64(found.int64(0, 1) ?? 0) == epoch && UInt64(found.int64(0, 0) ?? 0) == batch.last {
                publishCommitted(batch, sentAt: 0)
            } else {
                w.inFlight = []
                return loseLeadership(w, why: "batch at record \(batch.first) was written by another leader")
            }
        }
        if !w.inFlight.isEmpty {
            log(.info, "resolved \(w.inFlight.count) commit(s) of unknown outcome: \(w.inFlight.count - unsent.count) committed, \(unsent.count) to send again")
        }
        w.inFlight = []
        w.resend = unsent + w.resend
        let sentAt = MonotonicClock.nanoseconds()
        let renewed = try connection.execute(
            LedgerSchema.renewLease, [.text(options.ledger), .int64(Int64(epoch)), .int64(Int64(options.leaseMilliseconds))])
        if renewed.affectedRows != 1 { return loseLeadership(w, why: "the ledger was taken while PostgreSQL was unreachable") }
        extendLease(sentAt: sentAt)
    }

    // MARK: Leading

    private func leadRound(_ w: WorkerState) throws {
        let connection = w.connection!
        if !w.pipelined {
            try connection.enterPipelineMode()
            w.pipelined = true
        }
        var sent = false
        let epoch = lock.withLock { shared.epoch }
        while w.inFlight.count < options.maxInFlight, let batch = takeBatch(w, epoch: epoch) {
            try connection.send(LedgerSchema.commitBatch, [
                .text(options.ledger), .int64(Int64(epoch)), .int64(Int64(batch.first)), .int64(Int64(batch.last)),
                .int64(Int64(options.leaseMilliseconds)), .bytes(batch.records),
            ])
            try connection.pipelineSync()
            w.inFlight.append(InFlight(batch: batch, sentAt: MonotonicClock.nanoseconds()))
            sent = true
        }
        let now = MonotonicClock.nanoseconds()
        let renewEvery = UInt64(options.leaseMilliseconds) * 1_000_000 / 4
        if w.inFlight.isEmpty && now - w.lastLeaseSentAt >= renewEvery {
            try connection.send(LedgerSchema.renewLease, [
                .text(options.ledger), .int64(Int64(epoch)), .int64(Int64(options.leaseMilliseconds)),
            ])
            try connection.pipelineSync()
            w.inFlight.append(InFlight(batch: nil, sentAt: now))
            sent = true
        }
        if sent {
            w.lastLeaseSentAt = w.inFlight.last!.sentAt
            try connection.flush()
        }
        noteLeaseState()
        let untilRenew = renewEvery > now - w.lastLeaseSentAt ? (renewEvery - (now - w.lastLeaseSentAt)) / 1_000_000 : 0
        let timeout = Int32(min(untilRenew + 1, 100))
        var entries = [PollEntry(workerWake.descriptor, read: true, write: false)]
        if !w.inFlight.isEmpty {
            entries.append(PollEntry(FileDescriptor(rawValue: connection.socketDescriptor), read: true, write: false))
        }
        try Poll.wait(&entries, timeoutMilliseconds: timeout)
        if entries[0].isReadable { _ = try? workerWake.drain() }
        if entries.count > 1 && (entries[1].isReadable || entries[1].isBroken) {
            try connection.consumeInput()
            while !w.inFlight.isEmpty && !connection.isBusy {
                try takeResult(w, connection)
                if lock.withLock({ shared.role }) != .leader { return }
            }
        }
    }

    /// The next row to commit: batches to send again first, then what the loop queued, merged
    /// up to `maxRowBytes`. Batches from an epoch this daemon no longer holds are dropped.
    private func takeBatch(_ w: WorkerState, epoch: UInt64) -> Batch? {
        if !w.resend.isEmpty { return w.resend.removeFirst() }
        return lock.withLock { () -> Batch? in
            let stale = shared.queued.filter { $0.epoch != epoch }
            if !stale.isEmpty {
                shared.uncommittedBytes -= stale.reduce(0) { $0 + $1.records.count }
                shared.queued.removeAll { $0.epoch != epoch }
            }
            guard !shared.queued.isEmpty else { return nil }
            var merged = shared.queued.removeFirst()
            while let next = shared.queued.first, merged.records.count + next.records.count <= options.maxRowBytes {
                merged.records.append(contentsOf: next.records)
                merged.last = next.last
                shared.queued.removeFirst()
            }
            return merged
        }
    }

    /// One pipeline item for the oldest commit in flight: its statement's answer, then its sync.
    private func takeResult(_ w: WorkerState, _ connection: PostgresConnection) throws {
        do {
            switch try connection.nextPipelineItem() {
            case .result(let result):
                w.inFlight[0].owned = result.affectedRows == 1
                return
            case .sync:
                break
            }
        } catch {
            if error.kind == .connectionLost { throw error }
            w.inFlight[0].error = error
            return
        }
        let done = w.inFlight.removeFirst()
        if let error = done.error {
            // A duplicate first LSN: another leader wrote there. Anything else (read-only after
            // a failover, a timeout): the connection is dropped and the outcome looked up.
            if error.sqlState == "23505" {
                w.inFlight = []
                return loseLeadership(w, why: "record \(done.batch?.first ?? 0) was written by another leader")
            }
            w.inFlight.insert(done, at: 0)
            throw error
        }
        guard done.owned == true else {
            w.inFlight = []
            return loseLeadership(w, why: "the epoch changed: another daemon claimed the ledger")
        }
        if let batch = done.batch { publishCommitted(batch, sentAt: done.sentAt) } else { extendLease(sentAt: done.sentAt) }
    }

    /// A batch's `COMMIT` succeeded: its records are durable, and the lease runs from when it
    /// was sent. `sentAt` 0: resolved after a reconnect (the lease is renewed separately).
    private func publishCommitted(_ batch: Batch, sentAt: UInt64) {
        let now = MonotonicClock.nanoseconds()
        // Into the followers' window before the LSN is published: a follower told it is safe finds it.
        recent.add(batch)
        lock.withLock {
            shared.durable = max(shared.durable, batch.last)
            shared.storeLSN = max(shared.storeLSN, batch.last)
            shared.uncommittedBytes -= batch.records.count
            shared.commits += 1
            if sentAt > 0 {
                if shared.commitDurations.count < 4096 { shared.commitDurations.append(now - sentAt) }
                shared.leaseValidUntil = max(shared.leaseValidUntil, sentAt + UInt64(options.leaseMilliseconds) * 1_000_000)
            }
            changed.broadcast()
        }
        try? loopWake.signal()
    }

    private func extendLease(sentAt: UInt64) {
        let wasWritable = lock.withLock { () -> Bool in
            let was = isWritable
            shared.leaseValidUntil = max(shared.leaseValidUntil, sentAt + UInt64(options.leaseMilliseconds) * 1_000_000)
            return was
        }
        if !wasWritable { try? loopWake.signal() }
    }

    /// The loop learns when the lease runs out by this daemon's clock (it stops taking writes).
    private func noteLeaseState() {
        let expired = lock.withLock { () -> Bool in
            guard shared.role == .leader, !shared.leaseExpiredNoted,
                MonotonicClock.nanoseconds() >= shared.leaseValidUntil
            else { return false }
            shared.leaseExpiredNoted = true
            return true
        }
        if expired {
            log(.warning, "the lease on ledger \(options.ledger) may have expired by this daemon's clock: taking no writes until it is renewed")
            try? loopWake.signal()
        }
        lock.withLock { if MonotonicClock.nanoseconds() < shared.leaseValidUntil { shared.leaseExpiredNoted = false } }
    }

    /// This daemon no longer owns the ledger. Nothing it has not seen committed will ever be
    /// acknowledged: the loop closes the connections still waiting and rebuilds from the store.
    private func loseLeadership(_ w: WorkerState, why: String) {
        log(.warning, "lost the lead of ledger \(options.ledger): \(why); becoming a standby")
        w.resend = []
        w.inFlight = []
        w.fetchedLSN = 0
        dropConnection(w)
        lock.withLock {
            shared.role = .standby
            shared.queued = []
            shared.uncommittedBytes = 0
            shared.lostLeadership = true
            shared.promotion = nil
            shared.updates = [.reset]
            shared.updateBytes = 0
            changed.broadcast()
        }
        try? loopWake.signal()
    }

    private func releaseLeaseOnStop(_ w: WorkerState) {
        let (role, epoch) = lock.withLock { (shared.role, shared.epoch) }
        guard role == .leader, let connection = w.connection, !connection.isBroken else { return }
        if w.pipelined {
            // Whatever is still in flight is read (and published) before the lease goes.
            while !w.inFlight.isEmpty {
                do { try takeResult(w, connection) } catch { return }
            }
            try? connection.exitPipelineMode()
        }
        _ = try? connection.execute(
            "UPDATE payments.ledgers SET lease_until = clock_timestamp() WHERE name = $1 AND epoch = $2",
            [.text(options.ledger), .int64(Int64(epoch))])
        log(.info, "gave back the lease on ledger \(options.ledger) (epoch \(epoch))")
    }

    // MARK: Following

    /// Updates a standby holds for the loop before it stops fetching (the loop applies them first).
    static let maxUpdateBytes = 64 << 20

    private func followRound(_ w: WorkerState) throws {
        let connection = w.connection!
        let reader = LedgerReader(connection: connection, ledger: options.ledger)
        let state = try connection.execute(LedgerSchema.ledgerState, [.text(options.ledger)])
        let expired: Bool
        if state.rowCount == 0 {
            expired = true
        } else {
            let epoch = UInt64(state.int64(0, 0) ?? 0), leader = state.text(0, 1) ?? ""
            expired = state.bool(0, 2) ?? false
            let storeLSN = UInt64(state.int64(0, 3) ?? 0)
            lock.withLock {
                if shared.epoch != epoch || shared.leader != leader {
                    shared.epoch = epoch
                    shared.leader = leader
                    try? loopWake.signal()
                }
                shared.storeLSN = storeLSN
                if let oldest = state.int64(0, 4) { shared.oldestLSN = UInt64(oldest) }
            }
        }
        try fetch(w, reader, bounded: true)
        if expired { try claim(w, reader) }
        pause(milliseconds: UInt64(options.pollMilliseconds))
    }

    /// Queues the batches after `fetchedLSN` for the loop. A gap (the batches were deleted after
    /// a snapshot while this standby was behind) restarts from the newest snapshot.
    private func fetch(_ w: WorkerState, _ reader: LedgerReader, bounded: Bool) throws {
        while true {
            if bounded && lock.withLock({ shared.updateBytes }) >= Self.maxUpdateBytes { return }
            let page = try reader.batches(after: w.fetchedLSN)
            if page.isEmpty { return }
            var updates: [Update] = []
            var bytes = 0
            for batch in page {
                if batch.first > w.fetchedLSN + 1 {
                    guard let head = try reader.snapshotHeads().first, head.lsn + 1 >= batch.first else {
                        throw JournalError.gap(file: "ledger \(options.ledger)", expectedLSN: w.fetchedLSN + 1, foundLSN: batch.first)
                    }
                    let payload = try reader.snapshotPayload(head)
                    log(.info, "standby behind deleted batches: restarting from the snapshot at record \(head.lsn)")
                    lock.withLock {
                        shared.updates.append(.reset)
                        shared.updates.append(.snapshot(lsn: head.lsn, payload: payload))
                        shared.updateBytes += payload.count
                    }
                    w.fetchedLSN = head.lsn
                    updates = []
                    bytes = 0
                    break
                }
                guard batch.first == w.fetchedLSN + 1 else {
                    throw JournalError.damaged(file: "ledger \(options.ledger) batch at record \(batch.first)", offset: 0,
                                               reason: "overlaps records up to \(w.fetchedLSN)")
                }
                updates.append(.batch(first: batch.first, last: batch.last, records: batch.records))
                recent.add(batch)
                bytes += batch.records.count
                w.fetchedLSN = batch.last
            }
            if !updates.isEmpty {
                lock.withLock {
                    shared.updates.append(contentsOf: updates)
                    shared.updateBytes += bytes
                    shared.storeLSN = max(shared.storeLSN, w.fetchedLSN)
                }
                try? loopWake.signal()
            }
        }
    }

    /// The lease ran out: raise the epoch (the statement checks the lease itself, so of several
    /// standbys one wins), read to the end, and only then hand the loop the lead.
    private func claim(_ w: WorkerState, _ reader: LedgerReader) throws {
        let sentAt = MonotonicClock.nanoseconds()
        let claimed = try w.connection!.execute(
            LedgerSchema.claim, [.text(options.ledger), .text(options.node), .int64(Int64(options.leaseMilliseconds))])
        guard claimed.rowCount == 1, let epoch = claimed.int64(0, 0) else { return }
        try fetch(w, reader, bounded: false)
        let end = w.fetchedLSN
        lock.withLock {
            shared.role = .leader
            shared.epoch = UInt64(epoch)
            shared.leader = options.node
            shared.promotion = (UInt64(epoch), end)
            shared.leaseValidUntil = sentAt + UInt64(options.leaseMilliseconds) * 1_000_000
            shared.leaseExpiredNoted = false
            shared.storeLSN = end
        }
        w.lastLeaseSentAt = sentAt
        log(.info, "claimed ledger \(options.ledger) at epoch \(epoch) after record \(end)")
        try? loopWake.signal()
    }

    // MARK: Helpers

    /// Waits `milliseconds`, or less when the worker is woken (a batch queued, stop).
    private func pause(milliseconds: UInt64) {
        var entries = [PollEntry(workerWake.descriptor, read: true, write: false)]
        if (try? Poll.wait(&entries, timeoutMilliseconds: Int32(milliseconds))) ?? 0 > 0 { _ = try? workerWake.drain() }
    }

    private func fatal(_ error: JournalError) {
        log(.error, "ledger \(options.ledger): \(error)")
        lock.withLock {
            if shared.failure == nil { shared.failure = error }
            changed.broadcast()
        }
        try? loopWake.signal()
    }
}
