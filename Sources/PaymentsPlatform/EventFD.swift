import Glibc
import CPaymentsLinux

/// A Linux eventfd: a counter another thread bumps to wake a thread blocked in `epoll_wait`
/// (register `descriptor` for `EPOLLIN`). Non-blocking and close-on-exec.
public struct EventFD: Sendable {
    public let descriptor: FileDescriptor

    /// Wraps a descriptor made by `make` (for example one handed out by its owner to wait on).
    public init(descriptor: FileDescriptor) { self.descriptor = descriptor }

    /// The corresponding C function is `eventfd`.
    public static func make(label: String = "eventfd") throws(SystemError) -> EventFD {
        let fd = try syscall("eventfd") { CPaymentsLinux.eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC)) }
        return EventFD(descriptor: FileDescriptor(rawValue: fd, label: label))
    }

    /// Adds one to the counter, waking a waiter. Never blocks (the counter cannot reach its limit
    /// with one signal per sync).
    public func signal() throws(SystemError) {
        var one: UInt64 = 1
        _ = try syscall("write", descriptor.label) { Glibc.write(descriptor.rawValue, &one, 8) }
    }

    /// Resets the counter; returns how many signals were pending (0 if none).
    @discardableResult
    public func drain() throws(SystemError) -> UInt64 {
        var value: UInt64 = 0
        let n = Glibc.read(descriptor.rawValue, &value, 8)
        if n == 8 { return value }
        let code = errno
        if code == EAGAIN || code == EINTR { return 0 }
        throw SystemError(call: "read", subject: descriptor.label, errno: code)
    }

    /// Blocks until signalled (for callers without an event loop: tests, tools, benchmarks).
    public func waitReadable() throws(SystemError) {
        var pfd = pollfd(fd: descriptor.rawValue, events: Int16(POLLIN), revents: 0)
        _ = try syscall("poll", descriptor.label) { Glibc.poll(&pfd, 1, -1) }
    }

    public func close() throws(SystemError) { try descriptor.close() }
}
