import PaymentsCore
import PaymentsJournal
import PaymentsPlatform
import PaymentsTLS

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
    /// The followers of the change stream (§10).
    private(set) lazy var stream = ChangeStream(service: self)
    /// How long the journal's syncs took, for `/metrics`.
    private(set) var syncLatency = LatencyHistogram()
    /// `--auth-file`'s tokens (§9); nil when the daemon runs without tokens.
    var tokens: Tokens?
    /// `--tls-cert`/`--tls-key`: TLS on TCP and HTTP listeners (§9); nil without.
    var tls: ServerTLS?
    /// Requests turned away for want of a token or a role, by listener and reason (`/metrics`).
    private(set) var authFailures: [String: [AuthFailure: UInt64]] = [:]

    /// SIGHUP (§9): the token list and the certificate and key are read again. A file that no
    /// longer passes the checks leaves what was loaded before in force, and says why.
    func reload(_ configuration: DaemonConfiguration) {
        if let tls {
            do throws(TLSError) {
                try tls.reload()
                log.info("SIGHUP: TLS certificate \(tls.certificate) and key reloaded: new connections use them")
            } catch {
                log.error("SIGHUP: \(error); the certificate loaded before stays in force")
            }
        }
        if let path = configuration.authFile {
            do throws(AuthFile.LoadError) {
                let file = try AuthFile.load(path)
                if let tokens { tokens.replace(with: file) } else { tokens = Tokens(file) }
                stream.revokeFollowers(tokens!)
                log.info("SIGHUP: auth file \(path) reloaded: \(file.entries.count) token(s)")
            } catch {
                log.error("SIGHUP: \(error); the tokens loaded before stay in force")
            }
        }
    }

    func countAuthFailure(_ failure: AuthFailure, on listener: Listener) {
        authFailures[listener.displayName, default: [:]][failure, default: 0] += 1
    }

    init(durable: DurableEngine, loop: EventLoop, log: Logger) {
        self.durable = durable
        self.loop = loop
        self.log = log
    }

    /// Set while writes are refused (a standby, a leader without its lease, a failed journal):
    /// kept here, updated on the committer's wake, so the hot path reads one field.
    private(set) var writeRefusal: WriteRefusal?

    /// Journals and applies `t`; the refusal when writes are not taken (nothing was journaled).
    @inline(__always)
    func submit(_ t: Transaction) -> Result<Outcome, WriteRefusal> {
        if let writeRefusal { return .failure(writeRefusal) }
        do {
            return .success(try durable.submit(t).outcome)
        } catch .noSpace {
            spaceRanOut()
            return .failure(writeRefusal ?? .unavailable(Self.noSpaceReason))
        } catch {
            fail(error)
            return .failure(.unavailable("transaction not taken"))
        }
    }

    static let noSpaceReason = "no space left on device"
    /// False while the journal cannot be written for lack of space (read-only, §5 "Faults").
    private(set) var journalAvailable = true
    private var spaceProbe: TimerFD?

    /// A journal write found the disk full. From now on nothing observed in this iteration may
    /// go out (`DurableEngine.lastLSN`), writes are refused; `beforeWait` settles the rest.
    func spaceRanOut() {
        durable.noteSpaceFault()
        guard journalAvailable else { return }
        journalAvailable = false
        writeRefusal = .unavailable(Self.noSpaceReason)
        log.error("journal write failed: no space left on device; the batch was cut off the journal and not acknowledged. "
            + "Taking no writes, answering queries, trying again every second")
    }

    /// End of the iteration that hit the full disk: replies that depended on the cut batch are
    /// never sent (their connections close, their clients count those lines unacknowledged),
    /// the state is rebuilt from the journal on disk, and a probe runs every second.
    func settleSpaceFault() {
        gate.release(written: durable.writtenLSN, durable: durable.committer.durableLSN)
        let stranded = gate.connections
        for connection in stranded { connection.close() }
        if !stranded.isEmpty { log.warning("closed \(stranded.count) connection(s) waiting for records cut off the journal") }
        do { try durable.rebuildAfterSpaceFault() } catch {
            return fail(.store("cannot rebuild the state after the disk filled: \(error)"))
        }
        stream.stateRebuilt()
        armSpaceProbe()
    }

    private func armSpaceProbe() {
        do {
            if spaceProbe == nil {
                let timer = try TimerFD()
                try loop.watch(timer.descriptor) { [unowned self] _ in
                    _ = try? spaceProbe?.drain()
                    probeSpace()
                }
                spaceProbe = timer
            }
            try spaceProbe?.arm(initialNanoseconds: 1_000_000_000, intervalNanoseconds: 1_000_000_000)
        } catch {
            log.error("cannot arm the space probe: \(error)")
        }
    }

    /// Once a second while read-only: writes resume as soon as the disk takes them again.
    func probeSpace() {
        guard !journalAvailable else { return }
        do {
            guard try durable.journal.probeSpace() else { return }
        } catch {
            log.warning("space probe: \(error)")
            return
        }
        try? spaceProbe?.disarm()
        journalAvailable = true
        writeRefusal = nil
        refreshRole()
        log.info("the disk takes writes again: journal available, taking writes")
    }

    /// At start: a disk already full comes up read-only instead of failing on the first write.
    func checkSpaceAtStart() {
        guard durable.replica == nil, (try? durable.journal.probeSpace()) == false else { return }
        journalAvailable = false
        writeRefusal = .unavailable(Self.noSpaceReason)
        log.error("the disk is full: starting read-only (queries answered, writes refused), trying every second")
        armSpaceProbe()
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
        defer { stream.pumpAll() }
        guard failure == nil else { return }
        do {
            try durable.commitGathered()
        } catch .noSpace {
            spaceRanOut()
        } catch {
            return fail(error)
        }
        if durable.spaceFault { settleSpaceFault() }
        releaseSafeReplies()
        do {
            if journalAvailable { try durable.snapshotIfDue() }
        } catch {
            fail(error)
        }
    }

    /// The committer's thread finished a sync (or failed).
    func committerWoke() {
        durable.committer.acknowledgeWakeup()
        if let error = durable.committer.failure { fail(error); return }
        if durable.replica != nil { pumpReplica() }
        releaseSafeReplies()
        stream.pumpAll()
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
        if case .noSpace = error { return spaceRanOut() }
        guard failure == nil else { return }
        failure = error
        writeRefusal = .unavailable("transaction not taken")
        log.error("journal failed, stopping without acknowledging anything more: \(error)")
        for connection in gate.connections { connection.close() }
        loop.stop()
    }

    /// A standby applies what the store fetched; a role change shows in the refusal and the log.
    func pumpReplica() {
        do {
            let drain = try durable.applyReplicaUpdates()
            if drain.lostLeadership {
                let dropped = gate.connections
                log.warning(
                    "no longer the leader: \(dropped.count) connection(s) with replies waiting for records never "
                        + "committed are closed unanswered; state rebuilt from the store")
                for connection in dropped { connection.close() }
                stream.stateRebuilt()
            }
            refreshRole()
        } catch {
            fail(error)
        }
    }

    /// Set while this daemon leads with a lease its own clock says may have run out (§8: it
    /// stops answering): queries about the ledger get `queryRefusal`, never possibly stale data.
    private(set) var leaseLapsed = false
    static let leaseLapsedReason = "the lease on the ledger is not held (PostgreSQL unreachable?)"

    /// Reads the replica's status after a wake and logs each change of role once.
    func refreshRole() {
        guard failure == nil, journalAvailable, let status = durable.replica?.replicaStatus else { return }
        leaseLapsed = status.leaseLapsed
        let refusal: WriteRefusal? =
            switch (status.role, status.writable) {
            case (.standby, _): .standby(leader: status.leader)
            case (.leader, false): .unavailable(Self.leaseLapsedReason)
            case (.leader, true): nil
            }
        guard refusal != writeRefusal else { return }
        writeRefusal = refusal
        switch refusal {
        case nil: log.info("leading ledger at epoch \(status.epoch) from record \(durable.lastLSN): taking writes")
        case .standby(let leader)?:
            log.info("standby at record \(status.appliedLSN), epoch \(status.epoch), leader \(leader.isEmpty ? "unknown" : leader)")
        case .unavailable(let why)?: log.warning("not taking writes: \(why)")
        }
    }

    /// The keys a replicated daemon adds to `STATS` (none for the local journal).
    func replicaStats() -> String {
        guard let status = durable.replica?.replicaStatus else { return "" }
        return "role=\(status.role.rawValue) epoch=\(status.epoch) lsn=\(status.appliedLSN) "
            + "leader=\(status.leader.isEmpty ? "unknown" : status.leader) node=\(status.node) "
    }

    func statsLine() -> String {
        let ledger = durable.engine.ledger
        return "applied=\(durable.engine.applied) rejected=\(durable.engine.rejected) malformed=\(durable.malformed) "
            + "clients=\(ledger.accountCount) transactions=\(ledger.transactions.count) connections=\(loop.connectionCount) "
            + "journal_bytes=\(durable.journal.journalBytes) last_lsn=\(durable.lastLSN) "
            + "durable_lsn=\(durable.committer.durableLSN) snapshots=\(durable.snapshots) "
            + "journal=\(journalAvailable ? "ok" : "unavailable") followers=\(stream.followerCount) "
            + "streamed=\(stream.linesStreamed) " + replicaStats() + "uptime_s=\(uptimeSeconds)\n"
    }
}
