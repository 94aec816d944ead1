import Glibc

/// `sd_notify` by hand: state lines (`READY=1`, `STATUS=...`, `STOPPING=1`, `WATCHDOG=1`) sent
/// as one datagram to `$NOTIFY_SOCKET`, a path or, when it starts with `@`, an abstract
/// socket. Without `$NOTIFY_SOCKET` (not under systemd) every call does nothing.
public struct SystemdNotifier: Sendable {
    /// Where to send; nil when not under systemd.
    public let address: SocketAddress?
    private let socket: FileDescriptor?

    /// Reads `$NOTIFY_SOCKET` and opens the datagram socket once. An unusable value is an
    /// error, not silence: a service systemd waits on would time out without saying why.
    public static func fromEnvironment() throws -> SystemdNotifier {
        guard let value = Environment.get("NOTIFY_SOCKET"), !value.isEmpty else {
            return SystemdNotifier(address: nil, socket: nil)
        }
        return try SystemdNotifier(socketPath: value)
    }

    /// Notifies the socket at `socketPath` (`/run/...` or `@abstract`).
    public init(socketPath: String) throws {
        let address = try SocketAddress.unixPath(socketPath)
        self.address = address
        socket = try Socket.open(AF_UNIX, Int32(SOCK_DGRAM.rawValue), nonBlocking: false, label: "notify socket \(socketPath)")
    }

    private init(address: SocketAddress?, socket: FileDescriptor?) {
        self.address = address
        self.socket = socket
    }

    /// A notifier that does nothing (not under systemd).
    public static let disabled = SystemdNotifier(address: nil, socket: nil)

    public var isEnabled: Bool { address != nil }

    /// Sends `state`, newline-separated `KEY=VALUE` assignments, as one datagram.
    /// With `waiting: false` a full receive queue fails at once (`EAGAIN`) instead of blocking:
    /// the event loop's periodic pings use it, so a busy systemd can cost a ping but never stall
    /// the loop. The corresponding C function is `sendto`.
    public func notify(_ state: String, waiting: Bool = true) throws(SystemError) {
        guard let address, let socket else { return }
        let bytes = Array(state.utf8)
        let flags = Int32(MSG_NOSIGNAL) | (waiting ? 0 : Int32(MSG_DONTWAIT))
        _ = try syscall("sendto", address.description) {
            bytes.withUnsafeBytes { raw in
                address.withSockaddr { Glibc.sendto(socket.rawValue, raw.baseAddress, raw.count, flags, $0, $1) }
            }
        }
    }

    /// Startup is finished and every listener is open.
    public func ready(status: String? = nil) throws(SystemError) {
        try notify(status.map { "READY=1\n" + Self.statusAssignment($0) } ?? "READY=1")
    }

    /// A line `systemctl status` shows.
    public func status(_ text: String) throws(SystemError) { try notify(Self.statusAssignment(text)) }

    /// `STATUS=text` on one line: a newline would end the assignment and start another.
    public static func statusAssignment(_ text: String) -> String {
        "STATUS=" + String(text.map { $0.isNewline ? " " : $0 })
    }

    /// Shutdown has begun; `status`, when given, goes in the same datagram.
    public func stopping(status: String? = nil) throws(SystemError) {
        try notify(status.map { "STOPPING=1\n" + Self.statusAssignment($0) } ?? "STOPPING=1")
    }

    /// Tells the watchdog the loop is alive.
    public func watchdog() throws(SystemError) { try notify("WATCHDOG=1") }

    public func close() { try? socket?.close() }
}

/// The service watchdog systemd asks for (`WatchdogSec=`): how often to send `WATCHDOG=1`.
public struct SystemdWatchdog: Sendable, Equatable {
    /// The timeout systemd enforces, from `$WATCHDOG_USEC`.
    public let timeoutMicroseconds: UInt64

    /// Pinging at half the timeout is what `sd_watchdog_enabled(3)` recommends.
    public var pingIntervalNanoseconds: UInt64 { timeoutMicroseconds * 1000 / 2 }

    /// The watchdog from the environment; nil when `$WATCHDOG_USEC` is unset, zero or
    /// unparsable, or when `$WATCHDOG_PID` names another process.
    public static func fromEnvironment() -> SystemdWatchdog? {
        parse(usec: Environment.get("WATCHDOG_USEC"), pid: Environment.get("WATCHDOG_PID"), ownPID: Environment.processID)
    }

    public static func parse(usec: String?, pid: String?, ownPID: Int32) -> SystemdWatchdog? {
        guard let usec, let micros = UInt64(usec), micros > 0 else { return nil }
        if let pid, Int32(pid) != ownPID { return nil }
        return SystemdWatchdog(timeoutMicroseconds: micros)
    }
}
