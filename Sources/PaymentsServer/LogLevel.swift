/// Severity of the loop's log lines; the raw values are syslog/journald priorities, so a
/// logger can prefix `<N>` directly.
public enum LogLevel: Int, Sendable, Comparable {
    case error = 3, warning = 4, info = 6, debug = 7

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue > b.rawValue }
}
