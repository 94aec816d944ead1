import ChildProcessSupport
import Foundation
import Glibc
import Testing

// Support for SystemdTests: paymentsd started the way systemd starts it, without a running
// systemd (PLATFORM.md): `systemd-socket-activate` opens the listeners and execs the daemon on
// the first connection (same pid), and a datagram socket the test binds stands in for
// `$NOTIFY_SOCKET`. Every name here starts with `Systemd`: other files share this target.

/// The `paymentsd` binary `swift test` built.
let systemdDaemonBinary = Bundle.main.bundleURL.appendingPathComponent("paymentsd")

/// The package's `systemd/` folder, found from this file.
let systemdUnitsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("systemd")

struct SystemdTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The full path of `tool` on `$PATH`, or nil.
func systemdFindTool(_ tool: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let path = "\(dir)/\(tool)"
        if access(path, X_OK) == 0 { return path }
    }
    return nil
}

/// A short directory under /tmp (a Unix socket path holds at most 107 bytes), removed at the end.
final class SystemdScratch {
    let path: String
    init() throws {
        var template = Array("/tmp/sdt.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemdTestFailure("mkdtemp failed") }
        path = String(cString: made)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { "\(path)/\(name)" }
}

/// A loopback TCP port that was free a moment ago (bound to port 0, then released).
func systemdFreePort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard ok else { throw SystemdTestFailure("cannot find a free port: errno \(errno)") }
    return UInt16(bigEndian: addr.sin_port)
}

/// The test's stand-in for systemd's notify socket: a datagram socket bound to a path or, for a
/// name starting with `@`, an abstract address. A thread drains it all the time (the kernel's
/// queue is short, and a daemon must never be the one to wait), keeping every message.
final class SystemdNotifySocket: @unchecked Sendable {
    let name: String
    private let fd: Int32
    private let lock = NSCondition()
    private var messages: [String] = []
    private var closed = false

    init(_ name: String) throws {
        self.name = name
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(name.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw SystemdTestFailure("name too long: \(name)") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
        let status = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard status == 0 else { throw SystemdTestFailure("bind \(name): errno \(errno)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let thread = Thread { [self] in drain() }
        thread.start()
    }

    deinit { close(fd) }

    /// Stops the draining thread (call before dropping the socket).
    func stop() {
        lock.lock()
        closed = true
        lock.unlock()
        Thread.sleep(forTimeInterval: 0.15)
    }

    private func drain() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            lock.lock()
            let done = closed
            lock.unlock()
            if done { return }
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { continue }
            let message = String(decoding: buffer[..<count], as: UTF8.self)
            lock.lock()
            messages.append(message)
            lock.broadcast()
            lock.unlock()
        }
    }

    /// Every datagram received so far, in order.
    var received: [String] {
        lock.lock()
        defer { lock.unlock() }
        return messages
    }

    /// Waits until `done` holds for the messages received (true) or `seconds` pass (false).
    func wait(seconds: Double, until done: ([String]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        lock.lock()
        defer { lock.unlock() }
        while !done(messages) {
            if !lock.wait(until: deadline) { return done(messages) }
        }
        return true
    }

    /// Waits for a datagram holding the assignment `line` (for example `READY=1`).
    func wait(for line: String, seconds: Double = 10) -> Bool {
        wait(seconds: seconds) { $0.contains { SystemdNotifySocket.assignments($0).contains(line) } }
    }

    /// The `KEY=VALUE` lines of one datagram.
    static func assignments(_ message: String) -> [String] {
        message.split(separator: "\n").map(String.init)
    }
}

/// A process started by the test, its standard error in a file; it dies with the test
/// process, and every wait for it is bounded (`ChildProcess`).
final class SystemdProcess {
    let process: ChildProcess
    let stderrPath: String

    /// `extraEnvironment` is added to this process's environment for the child only.
    init(executable: String, arguments: [String], extraEnvironment: [String: String] = [:], stderrPath: String) throws {
        self.stderrPath = stderrPath
        let environment = extraEnvironment.isEmpty ? nil : ProcessInfo.processInfo.environment.merging(extraEnvironment) { $1 }
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process = try ChildProcess(executable, arguments, environment: environment, stderrPath: stderrPath)
    }

    deinit { process.kill(signal: SIGKILL, andWaitSeconds: 10) }

    var pid: Int32 { process.pid }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    func signal(_ number: Int32) { process.signal(number) }

    /// The exit status, or nil (after a SIGKILL to its group) when it did not exit within `seconds`.
    func waitForExit(seconds: Double = 15) -> Int32? {
        try? process.wait(seconds: seconds, for: "to exit")
    }
}

/// What `systemd-socket-activate` is asked to open and pass: a Unix socket and a TCP port for
/// the line protocol (`line`), a TCP port for HTTP (`http`).
struct SystemdListeners {
    let unixPath: String
    let tcpPort: UInt16
    let httpPort: UInt16

    init(in scratch: SystemdScratch) throws {
        unixPath = scratch.file("d.sock")
        tcpPort = try systemdFreePort()
        httpPort = try systemdFreePort()
    }
}

/// `paymentsd` under `systemd-socket-activate`: started (exec'd in place) on the first connection.
/// Without `dataDirectory` the daemon chooses (`$STATE_DIRECTORY` when `environment` sets it).
func systemdActivate(
    _ listeners: SystemdListeners, dataDirectory: String?, environment: [String: String],
    daemonArguments: [String] = [], stderrPath: String
) throws -> SystemdProcess {
    guard let activate = systemdFindTool("systemd-socket-activate") else {
        throw SystemdTestFailure("systemd-socket-activate is not installed (Debian package systemd)")
    }
    var arguments = [
        "-l", listeners.unixPath, "-l", "127.0.0.1:\(listeners.tcpPort)", "-l", "127.0.0.1:\(listeners.httpPort)",
        "--fdname=line:line:http",
    ]
    for (name, value) in environment.sorted(by: { $0.key < $1.key }) { arguments += ["-E", "\(name)=\(value)"] }
    arguments.append(systemdDaemonBinary.path)
    if let dataDirectory { arguments += ["--data-dir", dataDirectory] }
    arguments += daemonArguments
    return try SystemdProcess(executable: activate, arguments: arguments, stderrPath: stderrPath)
}

/// A client connection to the line protocol or HTTP, with a 10 s limit on every read.
final class SystemdClient {
    let fd: Int32

    /// Connects to a Unix socket path, retrying while it does not exist yet (up to 10 s).
    convenience init(unixPath: String) throws {
        try self.init(family: AF_UNIX, describe: unixPath) { fd in
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in unixPath.utf8.enumerated() { raw[i] = b } }
            return withUnsafePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
    }

    /// Connects to 127.0.0.1:`port`, retrying while nothing listens yet (up to 10 s).
    convenience init(port: UInt16) throws {
        try self.init(family: AF_INET, describe: "127.0.0.1:\(port)") { fd in
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            return withUnsafePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
    }

    private init(family: Int32, describe: String, connecting: (Int32) -> Int32) throws {
        let deadline = Date().addingTimeInterval(10)
        while true {
            let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            if connecting(fd) == 0 {
                var timeout = timeval(tv_sec: 10, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                self.fd = fd
                return
            }
            let code = errno
            close(fd)
            if Date() >= deadline { throw SystemdTestFailure("cannot connect to \(describe): errno \(code)") }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    deinit { close(fd) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Shuts down the sending side and reads until the daemon closes (or 10 s of silence).
    func finish() -> String {
        shutdown(fd, Int32(SHUT_WR))
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            data += buffer[..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Sends `text`, shuts down the sending side, returns every reply.
    func exchange(_ text: String) -> String {
        send(text)
        return finish()
    }
}
