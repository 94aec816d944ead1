import Glibc
import CPaymentsLinux

/// A monotonic timer as a descriptor, so periodic work (watchdog pings, periodic sync) is an
/// epoll event like any other and an idle daemon never wakes for nothing.
public struct TimerFD: Sendable {
    public let descriptor: FileDescriptor

    /// A non-blocking, close-on-exec `CLOCK_MONOTONIC` timer, disarmed.
    /// The corresponding C function is `timerfd_create`.
    public init() throws(SystemError) {
        let raw = try syscall("timerfd_create") {
            timerfd_create(CLOCK_MONOTONIC, cpl_tfd_nonblock() | cpl_tfd_cloexec())
        }
        descriptor = FileDescriptor(rawValue: raw, label: "timerfd")
    }

    /// Fires first after `initialNanoseconds`, then every `intervalNanoseconds` (0: once).
    /// An initial value of 0 disarms the timer. The corresponding C function is `timerfd_settime`.
    public func arm(initialNanoseconds: UInt64, intervalNanoseconds: UInt64 = 0) throws(SystemError) {
        var spec = itimerspec(it_interval: Self.timespec(intervalNanoseconds), it_value: Self.timespec(initialNanoseconds))
        _ = try syscall("timerfd_settime", descriptor.label) { timerfd_settime(descriptor.rawValue, 0, &spec, nil) }
    }

    public func disarm() throws(SystemError) { try arm(initialNanoseconds: 0) }

    /// How many times the timer fired since the last read; 0 when it has not.
    @discardableResult
    public func drain() throws(SystemError) -> UInt64 { try descriptor.readCounter() }

    public func close() throws(SystemError) { try descriptor.close() }

    private static func timespec(_ nanoseconds: UInt64) -> Glibc.timespec {
        Glibc.timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    }
}
