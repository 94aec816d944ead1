import PaymentsFollow
import PaymentsPlatform
import PaymentsRedis

/// `paymentsctl mirror redis://HOST:PORT[/DB]` (SPEC §10): keeps one Redis hash per account,
/// `account:<client>` with the §3 fields (`client`, `available`, `held`, `total`, `locked`),
/// and `payments:lsn`, the LSN of the last change the hashes reflect.
///
/// Each batch of stream lines (what one read brought, at most `MirrorBatch.maxLines`) becomes
/// one `MULTI`/`EXEC`, pipelined, an account changed several times written once with its
/// last state: Redis never holds half a batch, and `payments:lsn` moves in the same
/// transaction as the hashes. Up to two batches are in Redis at once (`MirrorInFlight`:
/// Redis applies each `EXEC` whole and in order, so `payments:lsn` always names the last batch
/// applied), and the next is read and built meanwhile.
///
/// `payments:lsn` is only ever written with `XX` (set if it exists) or by renaming the key
/// a rebuild wrote: if Redis loses its data (a restart without persistence, a `FLUSHALL`),
/// the next `EXEC` says so (a nil, or `RENAME`'s "no such key") and the mirror rebuilds, and
/// a batch applied to an emptied Redis can never make it look complete.
///
/// Rebuild (no `payments:lsn` at start, or the daemon no longer keeps the LSN after it):
/// `FOLLOW SNAPSHOT`; the first batch deletes `payments:lsn` and sets `payments:rebuilding`
/// to the snapshot's LSN; batches of snapshot lines check that key (`SET ... XX`); the batch
/// that holds the first transaction after the snapshot sets it to that transaction's LSN and
/// renames it to `payments:lsn`. A crash in the middle leaves no `payments:lsn`, so the next
/// start rebuilds again. Until a transaction follows the snapshot, `payments:lsn` stays absent.
final class MirrorCommand {
    let targets: [SocketAddress]
    let urlText: String
    private var log = StateLog()
    private var backoff = Backoff()

    static let lsnKey = "payments:lsn"
    static let rebuildKey = "payments:rebuilding"
    /// How long a clean stop waits for the transaction in Redis to be answered.
    static let stopWaitMilliseconds = 5_000

    init(targets: [SocketAddress], url: String) {
        self.targets = targets
        urlText = url
    }

    enum Outcome {
        /// A signal: stop (the batch in Redis was answered).
        case stop
        /// Redis or the daemon went away, or Redis lost its data: start over after a pause.
        case retry(String)
        /// Start over at once (Redis lost its data: rebuild now).
        case restart(String)
    }

    func run() -> Int32 {
        let url: RedisURL
        do { url = try RedisURL(urlText) } catch { fail("\(error)", status: ExitStatus.usage) }
        let signals = stopSignals()
        Signals.ignoreBrokenPipe()
        var forceRebuild = false
        while true {
            let session = MirrorSession(targets: targets, url: url, signals: signals, forceRebuild: forceRebuild)
            let outcome = session.run(log: &log, backoff: &backoff)
            forceRebuild = false
            switch outcome {
            case .stop:
                warn("stopped; \(url) reflects LSN \(session.appliedLSN.map(String.init) ?? "(none yet)")")
                return ExitStatus.success
            case .restart(let why):
                log.change(why)
                forceRebuild = session.needsRebuild
            case .retry(let why) where session.needsRebuild:
                log.change(why)
                forceRebuild = true
            case .retry(let why):
                log.change("\(why); retrying")
                if pause(backoff.take(), signals: signals) {
                    warn("stopped")
                    return ExitStatus.success
                }
            }
        }
    }
}

/// One life of the mirror: a Redis connection, a `FOLLOW` stream, batches until one fails.
final class MirrorSession {
    let targets: [SocketAddress]
    let url: RedisURL
    let signals: SignalFD
    /// Whether to rebuild even though Redis holds `payments:lsn` (the daemon lost that LSN).
    let forceRebuild: Bool
    /// The LSN Redis reflects, as far as this session knows.
    private(set) var appliedLSN: UInt64?
    /// Set when the daemon said the LSN after `payments:lsn` is gone.
    private(set) var needsRebuild = false

    private enum Phase {
        /// Writing a snapshot: `started` once the first batch (DEL, SET rebuilding) is sent.
        case rebuilding(started: Bool)
        case live
    }
    private var phase = Phase.live
    /// Snapshot lines taken so far (the rebuild), and when the stream last brought bytes.
    private var snapshotLines = 0
    private var lastBytes: UInt64 = 0
    private var lastProbe: UInt64 = 0
    /// How long the stream must be quiet after snapshot lines before the daemon is asked
    /// whether the snapshot is complete, and how often it is asked.
    static let snapshotQuietMilliseconds: UInt64 = 200
    private var order = StreamOrder()
    private var batch = MirrorBatch()
    private var encoded: [UInt8] = []

    /// The batches Redis is working on (at most two: see `MirrorInFlight` for why that keeps
    /// `payments:lsn` exact).
    private var inFlight = MirrorInFlight()

    init(targets: [SocketAddress], url: RedisURL, signals: SignalFD, forceRebuild: Bool) {
        self.targets = targets
        self.url = url
        self.signals = signals
        self.forceRebuild = forceRebuild
    }

    func run(log: inout StateLog, backoff: inout Backoff) -> MirrorCommand.Outcome {
        let redis: RedisConnection
        do throws(RedisError) { redis = try RedisConnection(url) } catch {
            if error.kind == .authentication { fail("\(url): \(error)") }
            return .retry(error.description)
        }
        defer { redis.close() }
        let request: String
        do throws(RedisError) {
            let reply = try redis.command(["GET", MirrorCommand.lsnKey])
            if case .error(let text) = reply { throw RedisError.reply(text, to: "GET \(MirrorCommand.lsnKey)") }
            if !forceRebuild, let text = reply.text {
                guard let lsn = UInt64(text) else { fail("\(url): \(MirrorCommand.lsnKey) holds \"\(text)\", not an LSN: is this Redis another program's?") }
                appliedLSN = lsn
                phase = .live
                order.expected = lsn + 1
                request = "FOLLOW \(lsn + 1)"
            } else {
                phase = .rebuilding(started: false)
                request = "FOLLOW SNAPSHOT"
            }
        } catch {
            if error.kind == .authentication { fail("\(url): \(error)") }
            return .retry("Redis at \(url.address): \(error)")
        }
        let stream: ChangeStream
        do throws(ChangeStream.Failure) { stream = try ChangeStream(targets, request: request) } catch {
            return .retry("\(error)")
        }
        defer { stream.close() }
        if case .rebuilding = phase {
            log.change("rebuilding \(url) from a snapshot of \(stream.target)")
        } else {
            log.change("mirroring \(stream.target) into \(url) from LSN \(appliedLSN! + 1)")
        }
        return loop(stream, redis, log: &log, backoff: &backoff)
    }

    private func loop(_ stream: ChangeStream, _ redis: RedisConnection, log: inout StateLog, backoff: inout Backoff) -> MirrorCommand.Outcome {
        var entries = [
            PollEntry(stream.fd, read: true, write: false), PollEntry(redis.fd, read: false, write: false),
            PollEntry(signals.descriptor, read: true, write: false),
        ]
        var streamEnded: String?
        while true {
            entries[0].wantRead = streamEnded == nil && !batch.isFull
            // A descriptor not waited for is left out (-1): a hung-up socket would wake poll at once.
            entries[0].descriptor = entries[0].wantRead ? stream.fd : FileDescriptor(rawValue: -1)
            entries[1].wantRead = !inFlight.isEmpty
            if streamEnded != nil && inFlight.isEmpty && batch.isEmpty { return .retry(streamEnded!) }
            // Bytes TLS already decrypted are not the socket's to report: no waiting for them.
            let buffered = entries[0].wantRead && stream.hasBufferedInput
            _ = try? Poll.wait(&entries, timeoutMilliseconds: buffered ? 0 : 1_000)
            if entries[2].isReadable, !((try? signals.take()) ?? []).isEmpty { return finish(redis) }
            do throws(MirrorFailure) {
                if entries[1].isReadable || entries[1].isBroken { try receive(redis, log: &log, backoff: &backoff) }
                if entries[0].wantRead, buffered || entries[0].isReadable || entries[0].isBroken {
                    do throws(ChangeStream.Failure) { _ = try stream.read() } catch { streamEnded = error.description }
                    lastBytes = MonotonicClock.milliseconds()
                }
                try fillBatch(stream)
                if !batch.isEmpty && canSend { try send(redis) }
                if inFlight.isEmpty && batch.isEmpty, let lsn = snapshotComplete(stream) { try send(redis, completingAt: lsn) }
            } catch {
                return error.outcome
            }
        }
    }

    /// Whether another batch may go to Redis now: two in flight while live; one at a time
    /// while rebuilding, since each rebuild batch's commands depend on how the one before
    /// ended (the phase moves to live only when the completing batch is answered).
    private var canSend: Bool {
        if case .live = phase { return !inFlight.isFull }
        return inFlight.isEmpty
    }

    /// Why a session ends early.
    private struct MirrorFailure: Error {
        let outcome: MirrorCommand.Outcome
    }

    /// Parses the lines buffered into the batch, up to its size.
    private func fillBatch(_ stream: ChangeStream) throws(MirrorFailure) {
        if let refusal = stream.takeRefusal() {
            switch StreamRefusal(refusal) {
            case .gone(let oldest):
                if case .live = phase {
                    needsRebuild = true
                    throw MirrorFailure(outcome: .restart(
                        "\(stream.target) no longer keeps LSN \((appliedLSN ?? 0) + 1) (oldest \(oldest.map(String.init) ?? "?")): rebuilding \(url) from a snapshot"))
                }
                fail("\(stream.target) answered FOLLOW SNAPSHOT with \"\(refusal)\"")
            case .busy: throw MirrorFailure(outcome: .retry(ReplyFailure.refusal(stream.target, advice: "retrying")))
            case .other(let text): fail("\(stream.target) answered FOLLOW with \"\(quotedReply(text))\" (does this paymentsd stream changes?)")
            }
        }
        var broken: String?
        guard !batch.isFull else { return }
        var ended: String?
        stream.lines.takeLines { line in
            if ChangeStream.isEnd(line) { ended = String(decoding: line, as: UTF8.self); return false }
            let change: ChangeLine
            do { change = try ChangeLine.parse(line) } catch {
                broken = "not a paymentsd change stream at \(stream.target) (\(error): \"\(quotedReply(String(decoding: line, as: UTF8.self)))\")"
                return false
            }
            if let problem = order.check(change) {
                broken = "the stream from \(stream.target) broke its order (\(problem)): stopping rather than skipping"
                return false
            }
            if case .live = phase, change.isSnapshot {
                broken = "a snapshot line in a stream that was not asked for one"
                return false
            }
            if change.isSnapshot { snapshotLines += 1 }
            batch.add(change, from: line)
            return !batch.isFull
        }
        if let broken { fail(broken) }
        if let ended {
            if case .gone = StreamRefusal(ended), case .live = phase { needsRebuild = true }
            throw MirrorFailure(outcome: .retry("\(stream.target) ended the stream: \(ended)"))
        }
    }

    /// A rebuild whose snapshot lines stopped coming with no transaction after them: the
    /// snapshot is complete when the daemon's `STATS` says that nothing was journaled after
    /// its LSN and that it holds as many accounts as lines came (accounts are never removed).
    /// Returns the snapshot's LSN then.
    private func snapshotComplete(_ stream: ChangeStream) -> UInt64? {
        guard case .rebuilding(started: true) = phase, snapshotLines > 0, let lsn = order.snapshotLSN,
              stream.lines.isEmpty else { return nil }
        let now = MonotonicClock.milliseconds()
        guard now - lastBytes >= Self.snapshotQuietMilliseconds, now - lastProbe >= 1_000 else { return nil }
        lastProbe = now
        guard let stats = ChangeStream.stats(stream.target), stats.lastLSN == lsn, stats.clients == snapshotLines else { return nil }
        return lsn
    }

    /// Sends the batch as one MULTI/EXEC (or, `completingAt`, only what ends a rebuild).
    private func send(_ redis: RedisConnection, completingAt: UInt64? = nil) throws(MirrorFailure) {
        var before: [[String]] = [], after: [[String]] = []
        var checks: [(Int, String)] = []
        var completes = false
        let lastLSN = completingAt ?? batch.lastLSN
        let last = String(lastLSN)
        switch phase {
        case .live:
            after = [["SET", MirrorCommand.lsnKey, last, "XX"]]
        case .rebuilding(let started):
            if !started {
                // The snapshot's LSN, or (an empty ledger: no snapshot line) the one before the first record.
                let snapshot = batch.hasSnapshotLines ? (order.snapshotLSN ?? batch.lastLSN) : batch.lastLSN
                before = [["DEL", MirrorCommand.lsnKey], ["SET", MirrorCommand.rebuildKey, String(snapshot)]]
                phase = .rebuilding(started: true)
            }
            if batch.hasRecords || completingAt != nil {
                after = [["SET", MirrorCommand.rebuildKey, last, "XX"], ["RENAME", MirrorCommand.rebuildKey, MirrorCommand.lsnKey]]
                completes = true
            } else {
                after = [["SET", MirrorCommand.rebuildKey, last, "XX"]]
            }
        }
        encoded.removeAll(keepingCapacity: true)
        let commands = batch.encode(before: before, after: after, into: &encoded)
        let firstAfter = commands - after.count
        for index in after.indices { checks.append((firstAfter + index, after[index].prefix(2).joined(separator: " "))) }
        inFlight.sent(MirrorInFlight.Batch(commands: commands, checks: checks, lastLSN: lastLSN, completesRebuild: completes))
        batch.reset()
        do throws(RedisError) { try redis.send(encoded) } catch { throw MirrorFailure(outcome: .retry("\(error)")) }
    }

    /// Takes the replies that arrived; at each `EXEC`'s, checks it and marks its batch applied.
    private func receive(_ redis: RedisConnection, log: inout StateLog, backoff: inout Backoff) throws(MirrorFailure) {
        do throws(RedisError) { try redis.readOnce() } catch { throw failure(error) }
        while !inFlight.isEmpty {
            let reply: RESPValue
            do throws(RedisError) {
                guard let next = try redis.takeReply() else { return }
                reply = next
            } catch { throw failure(error) }
            if let (flight, verdict) = inFlight.take(reply) { try settle(flight, verdict, log: &log, backoff: &backoff) }
        }
    }

    private func failure(_ error: RedisError) -> MirrorFailure {
        if error.kind == .authentication { fail("\(url): \(error)") }
        return MirrorFailure(outcome: .retry("\(error)"))
    }

    private func settle(_ flight: MirrorInFlight.Batch, _ verdict: MirrorInFlight.Verdict, log: inout StateLog, backoff: inout Backoff) throws(MirrorFailure) {
        switch verdict {
        case .lostData(let why):
            throw MirrorFailure(outcome: .restart("Redis at \(url.address) lost its data (\(why)): rebuilding"))
        case .refused(let why):
            throw MirrorFailure(outcome: .retry("Redis at \(url.address) refused a batch: \(why)"))
        case .applied(let lsn, let completesRebuild):
            if case .rebuilding = phase, completesRebuild {
                phase = .live
                log.change("rebuilt \(url) at LSN \(lsn); mirroring")
            }
            if completesRebuild || appliedLSN != nil { appliedLSN = lsn }
            backoff.reset()
        }
    }

    /// A clean stop: waits (bounded) for the batches in Redis to be answered.
    private func finish(_ redis: RedisConnection) -> MirrorCommand.Outcome {
        var dummyLog = StateLog(), dummyBackoff = Backoff()
        let deadline = MonotonicClock.milliseconds() + UInt64(MirrorCommand.stopWaitMilliseconds)
        while !inFlight.isEmpty, MonotonicClock.milliseconds() < deadline {
            do throws(MirrorFailure) { try receive(redis, log: &dummyLog, backoff: &dummyBackoff) } catch { break }
        }
        return .stop
    }
}
