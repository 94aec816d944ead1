import Glibc
import CPaymentsLinux

/// An epoll instance: descriptors registered with a 64-bit token that comes back with each
/// readiness event, and a reusable event buffer so waiting allocates nothing.
/// Level-triggered: a descriptor stays ready until its data is consumed.
public final class Epoll {
    /// Readiness kinds, the `EPOLL*` bits.
    public struct Events: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let readable = Events(rawValue: EPOLLIN.rawValue)
        public static let writable = Events(rawValue: EPOLLOUT.rawValue)
        /// The peer shut down its sending side.
        public static let readHangup = Events(rawValue: EPOLLRDHUP.rawValue)
        public static let error = Events(rawValue: EPOLLERR.rawValue)
        public static let hangup = Events(rawValue: EPOLLHUP.rawValue)
    }

    /// Events returned by one `wait`; each wait reuses this buffer.
    public static let defaultMaxEvents = 256

    public let descriptor: FileDescriptor
    private let buffer: UnsafeMutablePointer<epoll_event>
    private let capacity: Int

    public init(maxEvents: Int = defaultMaxEvents) throws(SystemError) {
        let raw = try syscall("epoll_create1") { cpl_epoll_create() }
        descriptor = FileDescriptor(rawValue: raw, label: "epoll")
        capacity = maxEvents
        buffer = .allocate(capacity: maxEvents)
    }

    deinit {
        buffer.deallocate()
        try? descriptor.close()
    }

    /// Starts watching `fd` for `events`; `token` comes back with each event.
    public func add(_ fd: FileDescriptor, _ events: Events, token: UInt64) throws(SystemError) {
        _ = try syscall("epoll_ctl ADD", fd.label) {
            cpl_epoll_ctl(descriptor.rawValue, EPOLL_CTL_ADD, fd.rawValue, events.rawValue, token)
        }
    }

    /// Changes the events watched for `fd` (and its token).
    public func modify(_ fd: FileDescriptor, _ events: Events, token: UInt64) throws(SystemError) {
        _ = try syscall("epoll_ctl MOD", fd.label) {
            cpl_epoll_ctl(descriptor.rawValue, EPOLL_CTL_MOD, fd.rawValue, events.rawValue, token)
        }
    }

    /// Stops watching `fd`. Closing a descriptor also removes it, so this is for descriptors
    /// that stay open.
    public func remove(_ fd: FileDescriptor) throws(SystemError) {
        _ = try syscall("epoll_ctl DEL", fd.label) {
            cpl_epoll_ctl(descriptor.rawValue, EPOLL_CTL_DEL, fd.rawValue, 0, 0)
        }
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever, 0: poll) and returns how many events
    /// are ready; read them with `event(at:)` before the next wait. A signal interrupting the
    /// wait returns 0 events rather than restarting with the full timeout.
    public func wait(timeoutMilliseconds: Int32) throws(SystemError) -> Int {
        let count = cpl_epoll_wait(descriptor.rawValue, buffer, Int32(capacity), timeoutMilliseconds)
        if count >= 0 { return Int(count) }
        let code = Glibc.errno
        if code == EINTR { return 0 }
        throw SystemError(call: "epoll_wait", errno: code)
    }

    /// The token and the events of the `index`th ready descriptor of the last wait.
    public func event(at index: Int) -> (token: UInt64, events: Events) {
        precondition(index >= 0 && index < capacity, "epoll event index out of range")
        let pointer = buffer + index
        return (cpl_epoll_event_data(pointer), Events(rawValue: cpl_epoll_event_events(pointer)))
    }
}
