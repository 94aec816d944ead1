import Foundation
import Glibc
import Synchronization

// The programs the tests start (paymentsd, paymentsctl, payments, curl, sh,
// systemd-socket-activate), with two promises no test can break:
//
// - Every wait for one has a time limit: past it the child's process group is killed and the
//   test fails naming what it waited for (a daemon that should have refused to start and did
//   not is a failing test with a name, not a suite that hangs until CI gives up).
// - No child outlives the test process, however that ends. Each child leads a process group
//   of its own (so whatever it starts goes with it); the groups alive are listed in a
//   directory that a watchdog shell, in a session of its own, reads once the test process is
//   gone: it blocks on a pipe whose only writer is the test process, sees end-of-file when
//   that process exits or is killed (even by SIGKILL), and kills every group listed. A normal
//   exit also kills them at once (`atexit`).
//
// Foundation's `Process` offers neither: its `waitUntilExit()` has no limit, and its children
// stay in our process group, orphaned when we die.

/// A child process in a process group of its own. Standard input, output and error come from
/// files (or /dev/null, or a descriptor for a pipe); no other descriptor is inherited.
public final class ChildProcess: @unchecked Sendable {
    /// How long a wait may last when the caller names no limit: reached only when something is broken.
    public static let defaultTimeoutSeconds = 60.0

    public let pid: pid_t
    /// `pid`, under the name Foundation's `Process` gives it.
    public var processIdentifier: pid_t { pid }
    /// The program and its arguments, for messages.
    public let command: String
    private let lock = NSLock()
    private var waitStatus: Int32?

    /// Starts `executable` with `arguments`. `environment` replaces this process's environment
    /// (nil: inherit it). Standard input is `stdinDescriptor` (a pipe's or a terminal's end),
    /// else the file `stdinPath`, else /dev/null; standard output and error likewise, their files
    /// appended to (created if missing).
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        stdinPath: String? = nil, stdinDescriptor: Int32? = nil, stdoutPath: String? = nil,
        stdoutDescriptor: Int32? = nil, stderrPath: String? = nil, stderrDescriptor: Int32? = nil
    ) throws {
        command = ([executable] + arguments).joined(separator: " ")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdinDescriptor {
            posix_spawn_file_actions_adddup2(&actions, stdinDescriptor, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, stdinPath ?? "/dev/null", O_RDONLY, 0)
        }
        let output = O_WRONLY | O_CREAT | O_APPEND
        for (target, descriptor, path) in [(Int32(1), stdoutDescriptor, stdoutPath), (2, stderrDescriptor, stderrPath)] {
            if let descriptor {
                posix_spawn_file_actions_adddup2(&actions, descriptor, target)
            } else {
                posix_spawn_file_actions_addopen(&actions, target, path ?? "/dev/null", output, 0o600)
            }
        }
        closeFrom(3, &actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Default signal handling and an empty mask (the test process may ignore SIGPIPE, and
        // ignored signals are inherited), and a new process group led by the child.
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { envp?.forEach { free($0) } }
        var child: pid_t = 0
        let failed = ChildRegistry.spawning {
            envp == nil
                ? posix_spawn(&child, executable, &actions, &attributes, argv, environ)
                : posix_spawn(&child, executable, &actions, &attributes, argv, envp!)
        }
        guard failed == 0 else { throw ChildProcessError("cannot start \(executable): \(String(cString: strerror(failed)))") }
        pid = child
        ChildRegistry.add(child)
    }

    deinit { _ = kill(signal: SIGKILL, andWaitSeconds: 10) }

    // MARK: State

    /// Whether the child has not exited yet (reaps it when it has).
    public var isRunning: Bool { reap(blocking: false) == nil }

    /// The exit code, or the number of the signal that ended it (as Foundation's `Process`
    /// reports it); -1 while it runs.
    public var terminationStatus: Int32 {
        guard let status = reap(blocking: false) else { return -1 }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
    }

    /// Whether a signal ended it (false while it runs).
    public var exitedBySignal: Bool {
        guard let status = reap(blocking: false) else { return false }
        return status & 0x7f != 0
    }

    // MARK: Signals and waits

    /// Sends `number` to the child alone (not its group), unless it has exited.
    public func signal(_ number: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if waitStatus == nil { Glibc.kill(pid, number) }
    }

    /// Waits until the child exits; after `seconds` kills its group and throws naming `what`
    /// (what the test was waiting for). Returns `terminationStatus`.
    @discardableResult
    public func wait(seconds: Double = defaultTimeoutSeconds, for what: String = "to exit") throws -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while reap(blocking: false) == nil {
            guard Date() < deadline else {
                _ = kill(signal: SIGKILL, andWaitSeconds: 10)
                throw ChildProcessError("\(command): waited \(Int(seconds)) s \(what), in vain; killed it")
            }
            usleep(2_000)
        }
        return terminationStatus
    }

    /// Sends `number` to the child's whole group, then waits for the child at most `seconds`.
    /// Returns false when it is still there (stuck in the kernel: nothing more can be done).
    @discardableResult
    public func kill(signal number: Int32, andWaitSeconds seconds: Double) -> Bool {
        lock.lock()
        if waitStatus == nil { Glibc.kill(-pid, number) }
        lock.unlock()
        let deadline = Date().addingTimeInterval(seconds)
        while reap(blocking: false) == nil {
            if Date() >= deadline { return false }
            usleep(1_000)
        }
        return true
    }

    /// Kills the child's group (SIGKILL) once `seconds` have passed, if it is still running:
    /// for a test that feeds the child through a pipe, whose writes would block on a child that
    /// stopped reading. The test's own wait then returns.
    public func killIfRunning(after seconds: Double) {
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [weak self] in
            guard let self, self.isRunning else { return }
            self.kill(signal: SIGKILL, andWaitSeconds: 0)
        }
    }

    /// The raw wait status once the child exited (reaping it the first time), nil while it runs.
    /// Once reaped, whatever is left in its group is killed and the group is forgotten.
    private func reap(blocking: Bool) -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let waitStatus { return waitStatus }
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, blocking ? 0 : WNOHANG)
        guard reaped == pid else { return nil }
        waitStatus = status
        Glibc.kill(-pid, SIGKILL)   // anything it started and left behind
        ChildRegistry.remove(pid)
        return status
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The process groups of the children alive, and the watchdog that kills them once this
/// process is gone (see the top of this file).
enum ChildRegistry {
    private struct State {
        var directory: String?
        var watchdogPipe: Int32 = -1
    }
    private static let state = Mutex(State())
    private static let exitHook: Void = { atexit { ChildRegistry.killAll() } }()

    /// Runs the `posix_spawn` call with the watchdog started first.
    static func spawning(_ body: () -> Int32) -> Int32 {
        _ = exitHook
        state.withLock { s in
            if s.directory == nil { startWatchdog(&s) }
        }
        return body()
    }

    static func add(_ pgid: pid_t) {
        guard let directory = state.withLock({ $0.directory }) else { return }
        close(open("\(directory)/\(pgid)", O_WRONLY | O_CREAT | O_CLOEXEC, 0o600))
    }

    static func remove(_ pgid: pid_t) {
        guard let directory = state.withLock({ $0.directory }) else { return }
        unlink("\(directory)/\(pgid)")
    }

    /// The groups still listed: SIGKILL to each.
    private static func killAll() {
        guard let directory = state.withLock({ $0.directory }) else { return }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names { if let pgid = pid_t(name), pgid > 1 { Glibc.kill(-pgid, SIGKILL) } }
    }

    /// `sh` in a session of its own, its standard input the read end of a pipe whose write end
    /// only this process holds (close-on-exec, so no child inherits it). `read` returns at
    /// end-of-file, that is once this process is gone; then every listed group is killed.
    private static func startWatchdog(_ s: inout State) {
        var template = Array("/tmp/pchild.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { return }
        let directory = String(cString: made)
        var fds: [Int32] = [-1, -1]
        guard closeOnExecPipe(&fds) == 0 else { return }
        let script = """
            read unused
            for f in '\(directory)'/*; do
              [ -e "$f" ] && kill -9 "-${f##*/}" 2>/dev/null   # dash: no "--"
            done
            rm -rf '\(directory)'
            """
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        closeFrom(3, &actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        let newSession: Int32 = 0x80   // glibc's POSIX_SPAWN_SETSID, not imported
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | newSession))
        let words: [String] = ["/bin/sh", "-c", script]
        let argv = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let failed = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ)
        close(fds[0])
        guard failed == 0 else { close(fds[1]); return }
        s.directory = directory
        s.watchdogPipe = fds[1]   // never closed: its closing at our exit is the signal
    }
}

/// Closes every descriptor from `lowest` up in the child: `posix_spawn_file_actions_addclosefrom_np`
/// (glibc 2.34+, looked up at run time), else one close action per descriptor open now.
public func closeFrom(_ lowest: Int32, _ actions: inout posix_spawn_file_actions_t) {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    if let symbol = dlsym(dlopen(nil, RTLD_NOW), "posix_spawn_file_actions_addclosefrom_np") {
        _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, lowest)
        return
    }
    let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    for fd in open.compactMap(Int32.init) where fd >= lowest { posix_spawn_file_actions_addclose(&actions, fd) }
}

/// `pipe2(fds, O_CLOEXEC)`: both ends close-on-exec from the start, so a child spawned by
/// another thread meanwhile cannot inherit them. (Swift's Glibc module leaves `pipe2` out, as
/// a GNU extension: it is looked up at run time.)
public func closeOnExecPipe(_ fds: inout [Int32]) -> Int32 {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "pipe2") else { return -1 }
    return fds.withUnsafeMutableBufferPointer { unsafeBitCast(symbol, to: Pipe2.self)($0.baseAddress!, O_CLOEXEC) }
}
