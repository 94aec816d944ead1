import Glibc

/// The wall clock, for log timestamps and HTTP dates only (durations use the monotonic clock).
public enum WallClock {
    /// Seconds and microseconds since the Unix epoch. The C function is `clock_gettime(CLOCK_REALTIME)`.
    public static func now() -> (seconds: Int64, microseconds: Int) {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return (Int64(t.tv_sec), Int(t.tv_nsec) / 1000)
    }

    /// `2026-11-25T18:47:02.123Z`: UTC, so log lines sort and compare across machines.
    public static func iso8601(_ seconds: Int64, microseconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(microseconds / 1000), 3))Z"
    }
}
