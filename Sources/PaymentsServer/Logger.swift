import PaymentsPlatform

/// One line per event on standard error. Under systemd (`$JOURNAL_STREAM` set) each line starts
/// with its `<N>` priority so journald files it at the right level and adds its own timestamp;
/// elsewhere lines carry a UTC timestamp and the level in words.
public final class Logger: Sendable {
    public let threshold: LogLevel
    let journald: Bool

    public init(threshold: LogLevel = .info, journald: Bool = Environment.get("JOURNAL_STREAM") != nil) {
        self.threshold = threshold
        self.journald = journald
    }

    public func log(_ level: LogLevel, _ message: String) {
        guard level.rawValue <= threshold.rawValue else { return }
        // Logging must never take the daemon down; a closed stderr loses the line only.
        try? FileDescriptor.standardError.writeAll(Array(format(level, message).utf8))
    }

    /// `message` as it is written: every line of it (a message may span several) carries the
    /// prefix, so journald files each at the right level and nothing reads as unprefixed.
    public func format(_ level: LogLevel, _ message: String) -> String {
        let prefix: String
        if journald {
            prefix = "<\(level.rawValue)>"
        } else {
            let now = WallClock.now()
            prefix = "\(WallClock.iso8601(now.seconds, microseconds: now.microseconds)) \(level.word) "
        }
        var text = ""
        for line in message.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            text += prefix + line + "\n"
        }
        return text
    }

    public func error(_ message: String) { log(.error, message) }
    public func warning(_ message: String) { log(.warning, message) }
    public func info(_ message: String) { log(.info, message) }
    public func debug(_ message: String) { log(.debug, message) }
}

extension LogLevel {
    var word: String {
        switch self {
        case .error: "error"
        case .warning: "warning"
        case .info: "info"
        case .debug: "debug"
        }
    }

    /// `error`, `warning`, `info` or `debug`, as `--log-level` takes them.
    public init?(word: String) {
        switch word.lowercased() {
        case "error": self = .error
        case "warning", "warn": self = .warning
        case "info": self = .info
        case "debug": self = .debug
        default: return nil
        }
    }
}
