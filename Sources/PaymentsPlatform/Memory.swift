import Glibc

/// Byte searches the parsers run on every input byte, done by the C library's vectorised
/// routines rather than a Swift loop.
public enum Memory {
    /// The offset of the first `byte` in `bytes`, or nil. The corresponding C function is `memchr`.
    @inline(__always)
    public static func firstIndex(of byte: UInt8, in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return nil }
        guard let found = memchr(base, Int32(byte), bytes.count) else { return nil }
        return UnsafeRawPointer(found) - base
    }

    /// The monotonic clock in milliseconds, for deadlines that must not jump with the wall clock.
    /// The corresponding C function is `clock_gettime(CLOCK_MONOTONIC)`.
    public static func monotonicMilliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
    }
}
