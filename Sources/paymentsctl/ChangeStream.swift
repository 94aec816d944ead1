import PaymentsFollow
import PaymentsPlatform

/// One `FOLLOW` connection to a daemon (SPEC §10): the first of the addresses that accepts a
/// connection (a standby serves the stream as well as the leader), the request sent, then
/// non-blocking reads into a `LineBuffer` for a caller that polls.
final class ChangeStream {
    /// One read from the socket.
    static let readChunkBytes = 256 << 10

    let connection: DaemonConnection
    var target: SocketAddress { connection.target }
    var fd: FileDescriptor { connection.fd }
    var lines = LineBuffer()
    private var chunk = [UInt8](repeating: 0, count: readChunkBytes)
    /// Whether a line was taken yet: only the first may be the daemon's `ERR` answer.
    var sawFirstLine = false

    /// Why the stream could not be opened or went away, one line for people.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Connects to the first of `targets` that accepts (with TLS and the token, as for every
    /// command), sends `request`.
    init(_ targets: [SocketAddress], request: String) throws(Failure) {
        var passedOver: [String] = []
        for target in targets {
            let connection: DaemonConnection
            do throws(ConnectError) { connection = try DaemonConnection(target) } catch {
                passedOver.append("\(target): \(DaemonConnection.explain(error, target))")
                continue
            }
            do throws(SystemError) {
                try connection.send(request)
                try connection.fd.setNonBlocking()
            } catch {
                connection.close()
                passedOver.append("\(target): \(error.message)")
                continue
            }
            self.connection = connection
            return
        }
        throw Failure(description: "cannot connect to " + passedOver.joined(separator: "; "))
    }

    /// Bytes already received and decrypted (TLS), which a poll of `fd` cannot see.
    var hasBufferedInput: Bool { connection.hasBufferedInput || connection.hasUnreadBytes }

    /// Reads what arrived; false when nothing had (`EAGAIN`). The end of the stream or a
    /// broken connection is thrown.
    func read() throws(Failure) -> Bool {
        if connection.hasUnreadBytes {
            // What the connection read past the AUTH reply belongs to the stream.
            lines.append(connection.takeUnreadBytes())
            return true
        }
        let connection = self.connection
        let result: Result<Int?, SystemError> = chunk.withUnsafeMutableBytes { raw in
            do throws(SystemError) { return .success(try connection.readSome(into: raw)) } catch { return .failure(error) }
        }
        switch result {
        case .success(0): throw Failure(description: "\(target) closed the stream")
        case .success(let count?):
            lines.append(chunk[..<count])
            if lines.isOverlong { throw Failure(description: "not a paymentsd change stream at \(target) (a line over \(LineBuffer.maxLineBytes) bytes)") }
            return true
        case .success(nil): return false
        case .failure(let error): throw Failure(description: "lost the stream from \(target): \(error.message)")
        }
    }

    /// The daemon's `ERR` answer to `FOLLOW` when it is the first line buffered (taken then), else nil.
    func takeRefusal() -> String? {
        guard !sawFirstLine, let first = lines.peekLine() else { return nil }
        sawFirstLine = true
        guard isErrorLine(first) else { return nil }
        lines.dropLine()
        return first
    }

    /// `ERR ...` as a stream line: the daemon ended the stream with it (the start is gone,
    /// its journal failed, its state was rebuilt under a snapshot being sent) and closes.
    static func isEnd(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        line.count >= 3 && line[0] == UInt8(ascii: "E") && line[1] == UInt8(ascii: "R") && line[2] == UInt8(ascii: "R")
    }

    /// Asks `STATS` on a connection of its own and reads `last_lsn` and `clients` from it;
    /// nil when the daemon does not answer in time or says no such keys.
    static func stats(_ target: SocketAddress) -> (lastLSN: UInt64, clients: Int)? {
        guard let connection = try? DaemonConnection(target) else { return nil }
        defer { connection.close() }
        guard connection.request("STATS") == nil,
              case .line(let bytes) = connection.readLine(within: DaemonRouting.probeTimeoutMilliseconds, maxBytes: DaemonRouting.probeReplyMaxBytes),
              let stats = StatsReply(String(decoding: bytes, as: UTF8.self)),
              let last = stats.pairs["last_lsn"].flatMap({ UInt64($0) }), let clients = stats.pairs["clients"].flatMap({ Int($0) })
        else { return nil }
        return (last, clients)
    }

    func close() { connection.close() }
}

/// What a `FOLLOW` refusal means for the follower.
enum StreamRefusal {
    /// `ERR lsn gone: oldest is N`.
    case gone(oldest: UInt64?)
    /// `ERR too many connections`: try again later.
    case busy
    /// Anything else (an old daemon that does not know FOLLOW, a standby's refusal).
    case other(String)

    init(_ line: String) {
        if line == refusalLine { self = .busy; return }
        let gone = "ERR lsn gone"
        guard line.hasPrefix(gone) else { self = .other(line); return }
        let digits = line.reversed().prefix { $0.isNumber }.reversed()
        self = .gone(oldest: UInt64(String(digits)))
    }
}

/// The order a change stream keeps (SPEC §10): LSNs from 1 without gaps; snapshot lines all
/// at one LSN L, then the transactions from L + 1. A line out of that order is refused, so a
/// follower never passes over a change unnoticed.
struct StreamOrder {
    /// The LSN the next transaction line must have; nil until the stream told us.
    var expected: UInt64?
    /// The LSN of the snapshot lines seen, while they come.
    var snapshotLSN: UInt64?

    /// Checks `change`; a description of the break when it is out of order.
    mutating func check(_ change: ChangeLine) -> String? {
        if change.isSnapshot {
            if let snapshotLSN, snapshotLSN != change.lsn { return "snapshot lines at LSN \(snapshotLSN) and \(change.lsn)" }
            if snapshotLSN == nil, expected != nil { return "a snapshot line after transactions" }
            snapshotLSN = change.lsn
            return nil
        }
        if let snapshotLSN, expected == nil { expected = snapshotLSN + 1 }
        snapshotLSN = nil
        if let expected, change.lsn != expected {
            return "expected LSN \(expected), got \(change.lsn)"
        }
        expected = change.lsn + 1
        return nil
    }
}

/// Waits growing from 100 ms to 5 s between attempts to reconnect.
struct Backoff {
    static let firstMilliseconds: UInt64 = 100
    static let maxMilliseconds: UInt64 = 5_000
    private(set) var next = Backoff.firstMilliseconds

    mutating func take() -> UInt64 {
        defer { next = min(next * 2, Self.maxMilliseconds) }
        return next
    }

    mutating func reset() { next = Self.firstMilliseconds }
}

/// One line on standard error per change of state, not one per retry.
struct StateLog {
    private var last = ""

    mutating func change(_ message: String) {
        guard message != last else { return }
        last = message
        warn(message)
    }
}

/// SIGINT and SIGTERM as events, read from a signalfd that the command's poll watches.
func stopSignals() -> SignalFD {
    do throws(SystemError) { return try SignalFD() } catch {
        fail("cannot take signals: \(error)")
    }
}

/// Sleeps `milliseconds` unless a stop signal comes first; true when one did.
func pause(_ milliseconds: UInt64, signals: SignalFD) -> Bool {
    var entries = [PollEntry(signals.descriptor, read: true, write: false)]
    _ = try? Poll.wait(&entries, timeoutMilliseconds: Int32(milliseconds))
    return !((try? signals.take()) ?? []).isEmpty
}
