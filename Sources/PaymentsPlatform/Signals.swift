import Glibc
import CPaymentsLinux

/// Signals taken as events: the signals are blocked (so their default action never runs) and
/// read from a signalfd that the event loop watches. This keeps all shutdown logic on the
/// loop's thread instead of in an async-signal handler.
public struct SignalFD: Sendable {
    public let descriptor: FileDescriptor
    public let signals: [Int32]

    /// Blocks `signals` for the calling thread and every thread it starts later, and opens a
    /// signalfd for them. Call it in `main` before starting any thread, or a thread that does
    /// not block them could take the default action (terminate).
    /// The corresponding C functions are `pthread_sigmask` and `signalfd`.
    public init(signals: [Int32] = [SIGTERM, SIGINT]) throws(SystemError) {
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in signals { sigaddset(&mask, signal) }
        let status = pthread_sigmask(SIG_BLOCK, &mask, nil)
        if status != 0 { throw SystemError(call: "pthread_sigmask", errno: status) }
        let raw = try syscall("signalfd") { signalfd(-1, &mask, cpl_sfd_nonblock() | cpl_sfd_cloexec()) }
        descriptor = FileDescriptor(rawValue: raw, label: "signalfd")
        self.signals = signals
    }

    /// The signals delivered since the last read, in arrival order; empty when none is pending.
    public func take() throws(SystemError) -> [Int32] {
        var taken: [Int32] = []
        var info = signalfd_siginfo()
        let size = MemoryLayout<signalfd_siginfo>.size
        while true {
            let count: Int
            do throws(SystemError) {
                count = try syscall("read", descriptor.label) { Glibc.read(descriptor.rawValue, &info, size) }
            } catch where error.isWouldBlock {
                return taken
            }
            if count < size { return taken }
            taken.append(Int32(bitPattern: info.ssi_signo))
        }
    }

    public func close() throws(SystemError) { try descriptor.close() }
}

public enum Signals {
    /// Ignores `SIGPIPE` so a write to a closed socket fails with `EPIPE` instead of killing
    /// the process. The corresponding C function is `signal`.
    public static func ignoreBrokenPipe() {
        _ = Glibc.signal(SIGPIPE, SIG_IGN)
    }

    /// A signal's name for logs: `SIGTERM`.
    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        case SIGHUP: return "SIGHUP"
        case SIGUSR1: return "SIGUSR1"
        case SIGUSR2: return "SIGUSR2"
        case SIGQUIT: return "SIGQUIT"
        default: return "signal \(signal)"
        }
    }
}
