import ChildProcessSupport
import Foundation
import Glibc

/// A program run on a pseudo-terminal, as a person at a terminal runs it: what it reads from
/// the terminal is typed into the master side (the terminal echoes it, and turns Ctrl-D at
/// the start of a line into the end of input); what it writes there is read back. Every wait
/// has a deadline; the program is killed if it is still running when the value goes away, or
/// when the test process ends (`ChildProcess`).
final class PseudoTerminalProcess: @unchecked Sendable {
    /// How long any one wait may take before the test fails.
    static let timeoutSeconds = 30.0
    /// One poll of the master side.
    static let pollMilliseconds: Int32 = 50

    let process: ChildProcess
    private let master: Int32
    private var received: [UInt8] = []
    /// How much of the output earlier waits have consumed.
    private var consumed = 0
    private var masterClosed = false

    /// Starts `program` with standard input and standard error on the terminal, and standard
    /// output too unless `stdoutPath` names a file for it.
    init(_ program: URL, _ arguments: [String], stdoutPath: String? = nil) throws {
        let c = try PseudoTerminalCalls()
        master = c.posixOpenpt(O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard master >= 0 else { throw DaemonTestError("posix_openpt: \(String(cString: strerror(errno)))") }
        guard c.grantpt(master) == 0, c.unlockpt(master) == 0 else {
            close(master)
            throw DaemonTestError("grantpt/unlockpt: \(String(cString: strerror(errno)))")
        }
        var name = [CChar](repeating: 0, count: 128)
        guard c.ptsnameR(master, &name, name.count) == 0 else {
            close(master)
            throw DaemonTestError("ptsname_r failed")
        }
        let path = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC)   // dup2 in the child clears it on 0, 1, 2
        guard slave >= 0 else {
            close(master)
            throw DaemonTestError("cannot open the terminal side: \(String(cString: strerror(errno)))")
        }
        do {
            process = try ChildProcess(
                program.path, arguments, stdinDescriptor: slave, stdoutPath: stdoutPath,
                stdoutDescriptor: stdoutPath == nil ? slave : nil, stderrDescriptor: slave)
        } catch {
            close(slave)
            close(master)
            throw error
        }
        // Only the child holds the terminal side now: once it exits, reads give EIO.
        close(slave)
    }

    deinit {
        process.kill(signal: SIGKILL, andWaitSeconds: 10)
        close(master)
    }

    var pid: Int32 { process.pid }

    /// Everything the program wrote to the terminal so far (and the echo of what was typed),
    /// with the terminal's `\r\n` turned back into `\n`.
    var output: String { Self.text(received[...]) }

    private static func text(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
    }

    /// Types `text` (use `"\u{04}"` for Ctrl-D).
    func type(_ text: String) throws {
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.write(master, $0.baseAddress, $0.count) }
            guard n > 0 else { throw DaemonTestError("cannot type on the terminal: \(String(cString: strerror(errno)))") }
            done += n
        }
    }

    /// Reads until the output after the previous wait contains `marker`; returns that output
    /// up to and including the marker, and the next wait starts after it.
    @discardableResult
    func waitFor(_ marker: String) throws -> String {
        let deadline = Date().addingTimeInterval(Self.timeoutSeconds)
        while true {
            let pending = Self.text(received[consumed...])
            if let range = pending.range(of: marker) {
                let upTo = String(pending[..<range.upperBound])
                // Move past the marker in bytes: count what the text up to it was made of.
                consumed += Self.byteCount(of: upTo, in: received[consumed...])
                return upTo
            }
            guard Date() < deadline else {
                throw DaemonTestError("\"\(marker)\" did not appear within \(Self.timeoutSeconds) s; the terminal showed:\n\(output)")
            }
            guard readOnce() else {
                throw DaemonTestError("the program closed the terminal before \"\(marker)\" appeared:\n\(output)")
            }
        }
    }

    /// Waits for the program to exit, reading the terminal meanwhile; its exit status.
    func waitForExit() throws -> Int32 {
        let deadline = Date().addingTimeInterval(Self.timeoutSeconds)
        while process.isRunning {
            guard Date() < deadline else {
                throw DaemonTestError("the program did not exit within \(Self.timeoutSeconds) s:\n\(output)")
            }
            if !readOnce() { usleep(10_000) }
        }
        while readOnce() {}
        return process.terminationStatus
    }

    /// One poll of at most `pollMilliseconds` and one read; false once the terminal is closed.
    private func readOnce() -> Bool {
        if masterClosed { return false }
        var entry = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, Self.pollMilliseconds) > 0 else { return true }
        var chunk = [UInt8](repeating: 0, count: 4096)
        let n = chunk.withUnsafeMutableBytes { Glibc.read(master, $0.baseAddress, $0.count) }
        if n > 0 {
            received += chunk[..<n]
            return true
        }
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return true }
        masterClosed = true  // EIO: every holder of the terminal side has closed it
        return false
    }

    /// How many bytes of `bytes` make up `text` once `\r\n` was turned into `\n`.
    private static func byteCount(of text: String, in bytes: ArraySlice<UInt8>) -> Int {
        var want = text.utf8.count, index = bytes.startIndex
        while want > 0 && index < bytes.endIndex {
            if bytes[index] == 0x0D && index + 1 < bytes.endIndex && bytes[index + 1] == 0x0A {
                index += 2
            } else {
                index += 1
            }
            want -= 1
        }
        return index - bytes.startIndex
    }
}

/// `posix_openpt`, `grantpt`, `unlockpt` and `ptsname_r` from the C library. Swift's Glibc
/// module leaves them out (they are declared only under `_XOPEN_SOURCE`), so they are looked up
/// by name in the process, where libc already is.
private struct PseudoTerminalCalls {
    typealias OpenPT = @convention(c) (Int32) -> Int32
    typealias OnMaster = @convention(c) (Int32) -> Int32
    typealias PTSName = @convention(c) (Int32, UnsafeMutablePointer<CChar>?, Int) -> Int32
    let posixOpenpt: OpenPT
    let grantpt: OnMaster
    let unlockpt: OnMaster
    let ptsnameR: PTSName

    init() throws {
        let process = dlopen(nil, RTLD_NOW)
        func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
            guard let pointer = dlsym(process, name) else { throw DaemonTestError("\(name) not found in the C library") }
            return pointer
        }
        posixOpenpt = unsafeBitCast(try symbol("posix_openpt"), to: OpenPT.self)
        grantpt = unsafeBitCast(try symbol("grantpt"), to: OnMaster.self)
        unlockpt = unsafeBitCast(try symbol("unlockpt"), to: OnMaster.self)
        ptsnameR = unsafeBitCast(try symbol("ptsname_r"), to: PTSName.self)
    }
}
