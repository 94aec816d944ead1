import PaymentsPlatform

/// `paymentsctl send`: pipelines the input lines to the daemon while reading its replies on
/// the same thread (poll on both directions), one expected reply per answered line. The
/// sending side is shut down after the last line; the daemon then answers everything and
/// closes, and that end of stream, not a count, ends the run.
final class SendCommand {
    /// One read of input, and at most this much waiting to be sent.
    static let inputChunkBytes = 64 << 10
    /// How often the progress line on a terminal is redrawn.
    static let progressIntervalMilliseconds: UInt64 = 250

    private let inputs: [String]
    private let verbose: Bool
    private var counts = ReplyCounts()
    private var expected = ExpectedReplies()
    private var reader: InputReader
    private var outgoing: [UInt8] = []
    private var outgoingHead = 0
    private var sendClosed = false
    private var linesQueued = 0
    private let progress: Progress?
    /// Standard input is one of the inputs and a terminal: someone is typing the lines.
    private let readsTerminal: Bool

    init(files: [String], verbose: Bool) {
        inputs = files.isEmpty ? ["-"] : files
        self.verbose = verbose
        reader = InputReader(names: inputs)
        readsTerminal = inputs.contains("-") && FileDescriptor.standardInput.isTerminal
        // The progress line shares the terminal with the typed input and would be drawn over
        // it: none while a terminal is read.
        progress = FileDescriptor.standardError.isTerminal && !readsTerminal ? Progress() : nil
    }

    /// Opens every input, so a missing file fails before any daemon is asked anything.
    func openInputs() { reader.openAll() }

    /// Sends everything on `connection` (inputs opened first) and reports; the exit status.
    func run(on connection: DaemonConnection) -> Int32 {
        do { try connection.fd.setNonBlocking() } catch { fail("\(error)") }
        if readsTerminal { warn("reading standard input (Ctrl-D to end)") }
        while !connection.reachedEnd {
            refillIfNeeded()
            closeSendingSideIfDone(connection)
            waitAndTransfer(connection)
            progress?.update(sent: linesQueued, answered: counts.total)
        }
        progress?.clear()
        return finish(connection.target)
    }

    private func refillIfNeeded() {
        guard outgoingHead == outgoing.count, !sendClosed, !reader.isDone, !reader.needsPoll else { return }
        outgoing.removeAll(keepingCapacity: true)
        outgoingHead = 0
        reader.read(into: &outgoing, maxBytes: Self.inputChunkBytes) { file, line in
            expected.push(file: file, line: line)
            linesQueued += 1
        }
    }

    private func closeSendingSideIfDone(_ connection: DaemonConnection) {
        guard !sendClosed, reader.isDone, outgoingHead == outgoing.count else { return }
        sendClosed = true
        try? connection.endOutput()
    }

    private func waitAndTransfer(_ connection: DaemonConnection) {
        let wantWrite = !sendClosed && outgoingHead < outgoing.count
        var entries = [PollEntry(connection.fd, read: true, write: wantWrite)]
        let pollInput = !sendClosed && outgoingHead == outgoing.count && !reader.isDone
        if pollInput, let input = reader.current { entries.append(PollEntry(input, read: true, write: false)) }
        if !connection.hasBufferedInput { do { try Poll.wait(&entries) } catch { fail("\(error)") } }
        if connection.hasBufferedInput || entries[0].isReadable || entries[0].isBroken { receive(connection) }
        if entries[0].isWritable && wantWrite { transmit(connection) }
        if pollInput && entries.count > 1 && (entries[1].isReadable || entries[1].isBroken) { reader.needsPoll = false }
    }

    private func receive(_ connection: DaemonConnection) {
        connection.fill()
        while let reply = connection.takeLine() { handle(reply, connection) }
        if connection.isOverlong() {
            progress?.clear()
            fail(ReplyFailure.notPaymentsd(connection.overlongLine ?? "").message(connection.target))
        }
    }

    /// Counts one reply. A daemon at its connection limit answers nothing but its refusal, and
    /// a reply that is not the line protocol's means the address is not paymentsd: either
    /// ends the run at once, with nothing counted as applied.
    private func handle(_ reply: ArraySlice<UInt8>, _ connection: DaemonConnection) {
        if connection.linesTaken == 1 && reply.elementsEqual(refusalLine.utf8) {
            progress?.clear()
            fail(ReplyFailure.refusal(connection.target, advice: "nothing was applied, send again later"),
                 status: ExitStatus.unacknowledged)
        }
        if ReplyCounts.kind(of: reply) == .other {
            progress?.clear()
            fail(ReplyFailure.notPaymentsd(String(decoding: reply, as: UTF8.self)).message(connection.target))
        }
        let origin = expected.pop()
        let kind = counts.count(reply)
        guard verbose, kind != .applied else { return }
        let place = origin.map { "\(inputs[$0.file]):\($0.line)" } ?? "?"
        standardOutput.write("\(place): \(String(decoding: reply, as: UTF8.self))\n")
    }

    private func transmit(_ connection: DaemonConnection) {
        let result: Result<Int?, SystemError> = outgoing.withUnsafeBytes { raw in
            do throws(SystemError) {
                return .success(try connection.sendSome(UnsafeRawBufferPointer(rebasing: raw[outgoingHead...])))
            } catch { return .failure(error) }
        }
        switch result {
        case .success(let count?): outgoingHead += count
        case .success(nil): break
        case .failure:
            // The daemon is gone: stop sending, read what it answered before it went.
            sendClosed = true
            outgoing.removeAll()
            outgoingHead = 0
        }
    }

    /// The summary on standard output; exit 0 only when every line got its final answer:
    /// status 3 when some were not acknowledged (connection lost) or not taken (a standby, a
    /// daemon that cannot write its journal: nothing of them applied, they may be sent again).
    private func finish(_ target: SocketAddress) -> Int32 {
        standardOutput.write(counts.summary + "\n")
        standardOutput.flush()
        let reason = counts.firstNotTakenReason ?? ""
        let notTaken = counts.notTaken > 0 ? "; \(counts.notTaken) line(s) were not taken (\(reason)), send them again" : ""
        if expected.count > 0 || !reader.isDone {
            let when = reader.isDone ? "" : " before all input was sent"
            fail("connection to \(target) lost\(when): \(expected.count) line(s) sent were not acknowledged\(notTaken)",
                 status: ExitStatus.unacknowledged)
        }
        if counts.notTaken > 0 {
            fail("\(target) did not take \(counts.notTaken) line(s) (\(reason)): none of them was applied, send them again",
                 status: ExitStatus.unacknowledged)
        }
        return ExitStatus.success
    }
}

/// Replies by their first word, and the `ERR`s that say the daemon could not take the line.
struct ReplyCounts {
    enum Kind { case applied, rejected, malformed, notTaken, other }
    private(set) var applied = 0, rejected = 0, malformed = 0, notTaken = 0
    /// The first not-taken reply after `ERR `, to name the reason once (`standby: leader is n1`).
    private(set) var firstNotTakenReason: String?
    var total: Int { applied + rejected + malformed + notTaken }

    /// `ERR` replies that mean "this daemon cannot take writes now", not "this line is bad"
    /// (SPEC §5 faults, §8 standbys): the line was not committed and may be sent again.
    static let notTakenPrefixes = ["ERR standby:", "ERR journal unavailable:"].map { Array($0.utf8) }

    mutating func count(_ reply: ArraySlice<UInt8>) -> Kind {
        let kind = Self.kind(of: reply)
        switch kind {
        case .applied: applied += 1
        case .rejected: rejected += 1
        case .malformed: malformed += 1
        case .notTaken:
            notTaken += 1
            if firstNotTakenReason == nil { firstNotTakenReason = String(decoding: reply.dropFirst(4), as: UTF8.self) }
        case .other: preconditionFailure("a reply that is not the line protocol's ends the run before it is counted")
        }
        return kind
    }

    static func kind(of reply: ArraySlice<UInt8>) -> Kind {
        let word = reply.prefix { $0 != 0x20 }
        if word.elementsEqual("OK".utf8) { return .applied }
        if word.elementsEqual("REJECTED".utf8) { return .rejected }
        if word.elementsEqual("ERR".utf8) {
            return notTakenPrefixes.contains { reply.starts(with: $0) } ? .notTaken : .malformed
        }
        return .other
    }

    /// `applied N, rejected N, malformed N`, then `not taken N` when there are any.
    var summary: String {
        var text = "applied \(applied), rejected \(rejected), malformed \(malformed)"
        if notTaken > 0 { text += ", not taken \(notTaken)" }
        return text
    }
}

/// Where each awaited reply's line came from, oldest first.
struct ExpectedReplies {
    private var entries: [(file: Int, line: Int)] = []
    private var head = 0
    var count: Int { entries.count - head }

    mutating func push(file: Int, line: Int) { entries.append((file, line)) }

    mutating func pop() -> (file: Int, line: Int)? {
        guard head < entries.count else { return nil }
        let entry = entries[head]
        head += 1
        if head >= 4096 && head * 2 >= entries.count {
            entries.removeFirst(head)
            head = 0
        }
        return entry
    }
}

/// A progress line on a terminal's standard error, redrawn at most every few hundred ms.
final class Progress {
    private var last: UInt64 = 0

    func update(sent: Int, answered: Int) {
        let now = MonotonicClock.milliseconds()
        guard now - last >= SendCommand.progressIntervalMilliseconds else { return }
        last = now
        try? FileDescriptor.standardError.writeAll(Array("\rsent \(sent) lines, \(answered) replies".utf8))
    }

    func clear() { try? FileDescriptor.standardError.writeAll(Array("\r\u{1B}[K".utf8)) }
}
