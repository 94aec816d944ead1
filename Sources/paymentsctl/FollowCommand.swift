import PaymentsFollow
import PaymentsPlatform

/// `paymentsctl follow [--from LSN|snapshot] [--lsn-file FILE]` (SPEC §10): prints the change
/// stream, one JSON line per journaled transaction, and survives its own restarts and the
/// daemon's without a gap:
/// - a line is recorded in `--lsn-file` only after it was written to standard output, so a
///   restart resumes at the LSN after the last line printed: exactly after a clean stop
///   (SIGINT, SIGTERM, the output closed), which syncs the file; after a SIGKILL the record
///   may lag by up to `recordIntervalMilliseconds` and those lines are printed again;
/// - snapshot lines are never recorded (which one was last is unknown until a transaction
///   follows them): a restart in the middle of a snapshot prints it again;
/// - when the daemon goes away it reconnects with backoff (to the first of the addresses that
///   answers) and resumes after the last line printed, one stderr line per change of state;
/// - a start that the daemon no longer keeps (`ERR lsn gone`) is an error, never a silent skip.
final class FollowCommand {
    /// How often the LSN of the last printed line is written to `--lsn-file` while lines flow.
    static let recordIntervalMilliseconds: UInt64 = 100

    let targets: [SocketAddress]
    let from: FollowStart?
    let lsnFile: String?
    private var log = StateLog()
    private var backoff = Backoff()
    /// The LSN of the last transaction line written to standard output.
    private var printed: UInt64?
    /// The LSN in `--lsn-file` now.
    private var recorded: UInt64?
    private var lastRecordTime: UInt64 = 0
    private var order = StreamOrder()
    private var output: [UInt8] = []

    init(targets: [SocketAddress], from: FollowStart?, lsnFile: String?) {
        self.targets = targets
        self.from = from
        self.lsnFile = lsnFile
    }

    /// The exit status: 0 after a clean stop.
    func run() -> Int32 {
        let signals = stopSignals()
        Signals.ignoreBrokenPipe()
        if let lsnFile {
            do { recorded = try LSNFile.read(lsnFile) } catch { fail("--lsn-file: \(error)") }
            printed = recorded
        }
        while true {
            if printed == nil, from == nil, !resolveNext() {
                log.change("cannot ask \(targets.map(\.description).joined(separator: ", ")) for STATS; retrying")
                if pause(backoff.take(), signals: signals) { stop(.success) }
                continue
            }
            let request = self.request()
            let stream: ChangeStream
            do throws(ChangeStream.Failure) { stream = try ChangeStream(targets, request: request) } catch {
                log.change("\(error); retrying")
                if pause(backoff.take(), signals: signals) { stop(.success) }
                continue
            }
            log.change("following \(stream.target) (\(request))")
            let reason = follow(stream, signals: signals)
            stream.close()
            log.change("\(reason); reconnecting")
            if pause(backoff.take(), signals: signals) { stop(.success) }
        }
    }

    /// "From the next transaction" made exact: `STATS` says the last LSN journaled, N, and the
    /// stream starts at N + 1 as if N had been printed, so that a reconnect (or a restart with
    /// `--lsn-file`) before the first line misses nothing journaled since.
    private func resolveNext() -> Bool {
        for target in targets {
            if let stats = ChangeStream.stats(target) {
                printed = stats.lastLSN
                return true
            }
        }
        return false
    }

    /// `FOLLOW` from the line after the last printed, else as `--from` says, else from the next.
    private func request() -> String {
        if let printed { return "FOLLOW \(printed + 1)" }
        switch from {
        case .lsn(let lsn): return "FOLLOW \(lsn)"
        case .snapshot: return "FOLLOW SNAPSHOT"
        case nil: return "FOLLOW"
        }
    }

    /// Prints the stream until it ends; returns why it ended (a clean stop exits from here).
    private func follow(_ stream: ChangeStream, signals: SignalFD) -> String {
        order = StreamOrder()
        if let printed { order.expected = printed + 1 } else if case .lsn(let lsn) = from { order.expected = max(lsn, 1) }
        var entries = [PollEntry(stream.fd, read: true, write: false), PollEntry(signals.descriptor, read: true, write: false)]
        while true {
            // Bytes TLS already decrypted are not the socket's to report: no waiting for them.
            let buffered = stream.hasBufferedInput
            _ = try? Poll.wait(&entries, timeoutMilliseconds: buffered ? 0 : Int32(Self.recordIntervalMilliseconds))
            if entries[1].isReadable, !((try? signals.take()) ?? []).isEmpty { stop(.success) }
            if buffered || entries[0].isReadable || entries[0].isBroken {
                do throws(ChangeStream.Failure) {
                    while try stream.read() {
                        try printLines(stream)
                        if stream.lines.pendingBytes < ChangeStream.readChunkBytes { break }
                    }
                } catch { return error.description }
            }
            recordIfDue(durable: false)
        }
    }

    /// Writes every whole line buffered to standard output, then notes the last LSN printed.
    private func printLines(_ stream: ChangeStream) throws(ChangeStream.Failure) {
        if let refusal = stream.takeRefusal() { refused(refusal, stream) }
        var lastLSN: UInt64?
        var broken: String?
        output.removeAll(keepingCapacity: true)
        var ended: String?
        stream.lines.takeLines { line in
            if ChangeStream.isEnd(line) { ended = String(decoding: line, as: UTF8.self); return false }
            let change: ChangeLine
            do { change = try ChangeLine.parse(line) } catch {
                broken = "not a paymentsd change stream at \(stream.target) (\(error): \"\(quotedReply(String(decoding: line, as: UTF8.self)))\")"
                return false
            }
            if let expected = order.expected, !change.isSnapshot, change.lsn < expected {
                return true  // already printed (cannot happen with a daemon that keeps §10)
            }
            if let problem = order.check(change) {
                broken = "the stream from \(stream.target) broke its order (\(problem)): stopping rather than skipping"
                return false
            }
            output.append(contentsOf: line)
            output.append(0x0A)
            if !change.isSnapshot { lastLSN = change.lsn }
            return true
        }
        if !output.isEmpty {
            do throws(SystemError) { try FileDescriptor.standardOutput.writeAll(output) } catch {
                if error.isPeerGone { stop(.outputClosed) }
                fail("cannot write standard output: \(error.message)")
            }
            if let lastLSN { printed = lastLSN }
            backoff.reset()
        }
        if let broken { stop(.failure, broken) }
        if let ended {
            if case .gone = StreamRefusal(ended) { refused(ended, stream) }
            throw ChangeStream.Failure(description: "\(stream.target) ended the stream: \(ended)")
        }
    }

    private func refused(_ line: String, _ stream: ChangeStream) -> Never {
        let start = request()
        switch StreamRefusal(line) {
        case .gone(let oldest):
            let oldestText = oldest.map { "the oldest it keeps is \($0)" } ?? "it no longer keeps it"
            let fix = lsnFile.map { "remove \($0) and " } ?? ""
            stop(.failure, "\(stream.target) answered \(start) with \"\(line)\": \(oldestText). The changes in between "
                + "cannot be streamed any more; \(fix)start again with --from \(oldest.map(String.init) ?? "N") "
                + "(accepting the gap) or --from snapshot (every account as it stands, then the changes after)")
        case .busy:
            stop(.failure, ReplyFailure.refusal(stream.target, advice: "try again later"))
        case .other(let text):
            stop(.failure, "\(stream.target) answered \(start) with \"\(quotedReply(text))\" (does this paymentsd stream changes?)")
        }
    }

    /// Writes the LSN file when the last printed line is newer than the record and the last
    /// write is `recordIntervalMilliseconds` old (or at once when `durable`: a clean stop).
    private func recordIfDue(durable: Bool) {
        guard let lsnFile, let printed, printed != recorded || durable else { return }
        let now = MonotonicClock.milliseconds()
        guard durable || now - lastRecordTime >= Self.recordIntervalMilliseconds else { return }
        do throws(SystemError) { try LSNFile.write(lsnFile, printed, durable: durable) } catch {
            fail("cannot record the LSN in \(lsnFile): \(error)")
        }
        recorded = printed
        lastRecordTime = now
    }

    enum Stop { case success, failure, outputClosed }

    /// Records the last LSN printed durably, says why it stops, and exits.
    private func stop(_ how: Stop, _ message: String? = nil) -> Never {
        recordIfDue(durable: true)
        let at = printed.map { "after LSN \($0)" } ?? "before any transaction"
        switch how {
        case .success:
            warn("stopped \(at)")
            Environment.exit(ExitStatus.success)
        case .outputClosed:
            warn("standard output was closed; stopped \(at)")
            Environment.exit(ExitStatus.outputClosed)
        case .failure:
            fail(message ?? "stopped \(at)")
        }
    }
}
