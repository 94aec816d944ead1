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
    public func drain() throws(SystemError) -> UInt64 {
        var value: UInt64 = 0
        do throws(SystemError) {
            _ = try syscall("read", descriptor.label) { Glibc.read(descriptor.rawValue, &value, 8) }
        } catch where error.isWouldBlock {
            return 0
        }
        return value
    }

    public func close() throws(SystemError) { try descriptor.close() }
}
