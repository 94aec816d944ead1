import ChildProcessSupport
import Testing

extension ChildProcess {
    /// `wait` for call sites that cannot throw: a timeout is recorded as a test failure.
    func waitUntilExit(
        seconds: Double = defaultTimeoutSeconds, for what: String = "to exit", sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do { try wait(seconds: seconds, for: what) } catch { Issue.record("\(error)", sourceLocation: sourceLocation) }
    }
}
