import Glibc
import CPaymentsLinux

/// A counter the kernel can wake an epoll loop with: another thread (the journal's group
/// committer) calls `signal()`, the loop sees the descriptor readable and calls `drain()`.
/// Thread-safe: `signal` is one `write` of 8 bytes.
public struct EventFD: Sendable {
    public let descriptor: FileDescriptor

    /// A non-blocking, close-on-exec eventfd starting at 0. The corresponding C function is `eventfd`.
    public init() throws(SystemError) {
        let raw = try syscall("eventfd") { eventfd(0, cpl_efd_nonblock() | cpl_efd_cloexec()) }
        descriptor = FileDescriptor(rawValue: raw, label: "eventfd")
    }

    /// Adds `count` to the counter, waking any waiter.
    public func signal(_ count: UInt64 = 1) throws(SystemError) {
        var value = count
        _ = try syscall("write", descriptor.label) { Glibc.write(descriptor.rawValue, &value, 8) }
    }

    /// Reads and resets the counter; 0 when nothing was signalled since the last drain.
    @discardableResult
    public func drain() throws(SystemError) -> UInt64 { try descriptor.readCounter() }

    /// Wraps a descriptor made by its owner (the group committer hands out its wake descriptor).
    public init(descriptor: FileDescriptor) { self.descriptor = descriptor }

    /// A new eventfd named `label` in error messages.
    public static func make(label: String) throws(SystemError) -> EventFD {
        let made = try EventFD()
        return EventFD(descriptor: FileDescriptor(rawValue: made.descriptor.rawValue, label: label))
    }

    /// Blocks until signalled (for callers without an event loop: tests, tools, benchmarks).
    public func waitReadable() throws(SystemError) {
        var pfd = pollfd(fd: descriptor.rawValue, events: Int16(POLLIN), revents: 0)
        _ = try syscall("poll", descriptor.label) { Glibc.poll(&pfd, 1, -1) }
    }

    public func close() throws(SystemError) { try descriptor.close() }
}
