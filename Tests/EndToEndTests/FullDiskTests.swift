import ChildProcessSupport
import Foundation
import Glibc
import PaymentsPlatform
import PaymentsTestSupport
import Testing

// A real full filesystem (a small tmpfs mounted for the test; root only, as CI runs): the
// daemon stays up read-only, says so everywhere an operator looks, loses nothing it
// acknowledged, and takes writes again by itself once space is back.
@Suite("Full disk", .serialized, .timeLimit(.minutes(3)))
struct FullDiskTests {
    /// A tmpfs of `megabytes` under a fresh directory; nil (the test is skipped) when not root.
    final class SmallDisk: @unchecked Sendable {
        let path: String
        init?(megabytes: Int) throws {
            guard getuid() == 0 else {
                print("FullDiskTests: skipped, mounting a tmpfs needs root")
                return nil
            }
            var template = Array("/tmp/pdisk.XXXXXX".utf8CString)
            guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw DaemonTestError("mkdtemp failed")
            }
            path = String(cString: made)
            try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path])
        }
        deinit {
            try? Self.run("/bin/umount", ["-l", path])
            try? FileManager.default.removeItem(atPath: path)
        }
        static func run(_ tool: String, _ arguments: [String]) throws {
            let status = try ChildProcess(tool, arguments).wait(seconds: 30, for: "for \(tool) to finish")
            guard status == 0 else { throw DaemonTestError("\(tool) \(arguments) failed") }
        }
        /// Writes a filler file until the disk is full, then gives back `leave` bytes.
        func fill(leaving leave: Int) throws {
            let filler = path + "/filler"
            let fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            defer { close(fd) }
            let block = [UInt8](repeating: 0x55, count: 64 << 10)
            while block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
            let size = lseek(fd, 0, SEEK_END)
            _ = ftruncate(fd, max(0, size - off_t(leave)))
        }
        func free() { unlink(path + "/filler") }
    }

    static func stats(_ daemon: DaemonProcess) throws -> [String: String] {
        let client = try DaemonClient(daemon.unixAddress)
        var result: [String: String] = [:]
        for pair in try client.ask("STATS").split(separator: " ") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { result[String(kv[0])] = String(kv[1]) }
        }
        return result
    }

    static func waitFor(_ what: String, seconds: Double = 30, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? condition()) == true { return }
            usleep(50_000)
        }
        throw DaemonTestError("timed out after \(Int(seconds)) s waiting for \(what)")
    }

    /// One HTTP/1.0 request on the daemon's HTTP port: the status code.
    static func httpStatus(_ port: Int, _ method: String, _ path: String, body: String = "") throws -> Int {
        let fd = try Socket.connect(to: try SocketAddress.hostPort("127.0.0.1:\(port)"))
        defer { try? fd.close() }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd.rawValue, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = "\(method) \(path) HTTP/1.0\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        _ = Array(request.utf8).withUnsafeBytes { send(fd.rawValue, $0.baseAddress, $0.count, 0) }
        var head = [UInt8](repeating: 0, count: 64)
        let n = head.withUnsafeMutableBytes { recv(fd.rawValue, $0.baseAddress, $0.count, 0) }
        let line = String(decoding: head.prefix(max(0, n)), as: UTF8.self)
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    static func httpPort(_ daemon: DaemonProcess) -> Int {
        for line in daemon.log.split(separator: "\n") {
            if let r = line.range(of: "listening on 127.0.0.1:"), line.hasSuffix(" (http)") {
                return Int(line[r.upperBound...].prefix { $0.isNumber }) ?? 0
            }
        }
        return 0
    }

    @Test("the disk fills mid-stream: read-only, every acknowledged line kept, writes resume once space is back")
    func fillsMidStream() throws {
        guard let disk = try SmallDisk(megabytes: 16) else { return }
        let scratch = DaemonScratch()
        let daemon = try DaemonProcess(
            dataDirectory: disk.path + "/data", socketPath: scratch.file("d.sock"),
            extra: ["--http", "127.0.0.1:0", "--segment-bytes", "262144"])
        let http = Self.httpPort(daemon)
        try disk.fill(leaving: 300 << 10)

        // 40 000 deposits (about 1 MiB of journal) against 300 KiB of space.
        let lines = (1...40_000).map { "deposit,\($0 % 100 + 1),\($0),1.5" }
        // The daemon closes this connection when the disk fills (its last replies waited for
        // records cut off the journal), so the sending side may see EPIPE: it sends on a thread.
        let client = try DaemonClient(daemon.unixAddress)
        let payload = lines.map { $0 + "\n" }.joined()
        let sender = Thread {
            try? client.send(payload)
            try? client.shutdownWrite()
        }
        sender.start()
        var replies: [String] = []
        while let reply = try? client.line() { replies.append(reply) }
        let acknowledged = replies.prefix { $0 == "OK" }.count
        #expect(acknowledged < lines.count, "the disk filled before the end")
        for reply in replies.dropFirst(acknowledged) { #expect(reply.hasPrefix("ERR journal unavailable: no space left on device")) }

        // Read-only, and saying so.
        let stats = try Self.stats(daemon)
        #expect(stats["journal"] == "unavailable")
        let ask = try DaemonClient(daemon.unixAddress)
        #expect(try ask.ask("deposit,1,900001,1") == "ERR journal unavailable: no space left on device")
        #expect(try ask.ask("SYNC") == "ERR journal unavailable: no space left on device")
        #expect(try ask.ask("PING") == "PONG")
        let k = Int(stats["last_lsn"] ?? "") ?? -1
        #expect(k >= acknowledged && k < lines.count)
        #expect(try ask.ask("GET 1").hasPrefix("1,"))
        #expect(try Self.httpStatus(http, "GET", "/healthz") == 503)
        #expect(try Self.httpStatus(http, "POST", "/transactions", body: #"{"type":"deposit","client":1,"tx":900002,"amount":"1"}"#) == 503)
        #expect(daemon.log.contains("no space left on device"))

        // Space back: writes resume by themselves, without a restart.
        disk.free()
        try Self.waitFor("the journal to be available again", seconds: 10) { try Self.stats(daemon)["journal"] == "ok" }
        #expect(try Self.httpStatus(http, "GET", "/healthz") == 200)
        let rest = lines[k...].map { $0 + "\n" }.joined()
        let again = try DaemonClient(daemon.unixAddress)
        try again.send(rest)
        try again.shutdownWrite()
        var okAfter = 0
        while let reply = try again.line() { if reply == "OK" { okAfter += 1 } }
        #expect(okAfter == lines.count - k)

        // Every line is there after a crash: the state is the rules applied to all of them.
        daemon.crash()
        let restarted = try DaemonProcess(dataDirectory: disk.path + "/data", socketPath: scratch.file("r.sock"))
        #expect(try Self.stats(restarted)["last_lsn"] == String(lines.count))
        let check = try DaemonClient(restarted.unixAddress)
        #expect(try check.ask("GET 1") == "1,600.0000,0.0000,600.0000,false")
        #expect(restarted.terminate() == 0)
    }

    @Test("a restart on a full disk comes up read-only, and SIGTERM there exits 0")
    func restartOnFullDisk() throws {
        guard let disk = try SmallDisk(megabytes: 8) else { return }
        let scratch = DaemonScratch()
        let first = try DaemonProcess(dataDirectory: disk.path + "/data", socketPath: scratch.file("a.sock"))
        let client = try DaemonClient(first.unixAddress)
        #expect(try client.ask("deposit,7,1,2.5") == "OK")
        first.crash()
        try disk.fill(leaving: 0)
        let second = try DaemonProcess(dataDirectory: disk.path + "/data", socketPath: scratch.file("b.sock"))
        #expect(try Self.stats(second)["journal"] == "unavailable")
        let ask = try DaemonClient(second.unixAddress)
        #expect(try ask.ask("GET 7") == "7,2.5000,0.0000,2.5000,false")
        #expect(try ask.ask("deposit,7,2,1") == "ERR journal unavailable: no space left on device")
        #expect(second.terminate() == 0, "a requested stop on a full disk: \(second.log)")
        #expect(second.log.contains("not written"), "the final snapshot is skipped with a warning")
    }

    @Test("a snapshot that does not fit is logged and skipped: the daemon keeps serving, nothing is lost")
    func snapshotDoesNotFit() throws {
        guard let disk = try SmallDisk(megabytes: 16) else { return }
        let scratch = DaemonScratch()
        let daemon = try DaemonProcess(
            dataDirectory: disk.path + "/data", socketPath: scratch.file("d.sock"),
            extra: ["--snapshot-bytes", "700000"])
        let client = try DaemonClient(daemon.unixAddress)
        func deposits(_ range: ClosedRange<Int>) throws {
            try client.send(range.map { "deposit,\($0 % 50 + 1),\($0),1\n" }.joined())
            for _ in range { #expect(try client.expectLine() == "OK") }
        }
        try deposits(1...15_000)          // about 615 KB of journal (41-byte framed records): no snapshot due yet
        try disk.fill(leaving: 150 << 10) // room for the journal, not for a snapshot of the state
        try deposits(15_001...18_000)     // the snapshot falls due and cannot be written
        try Self.waitFor("the snapshot failure to be logged") { daemon.log.contains("not written") }
        #expect(try client.ask("PING") == "PONG")
        #expect(try client.ask("deposit,1,18001,1") == "OK")
        let names = try FileManager.default.contentsOfDirectory(atPath: disk.path + "/data")
        #expect(!names.contains { $0.hasSuffix(".tmp") }, "the temporary file is removed: \(names)")
        #expect(try Self.stats(daemon)["journal"] == "ok")
        #expect(daemon.terminate() == 0)
        let restarted = try DaemonProcess(dataDirectory: disk.path + "/data", socketPath: scratch.file("r.sock"))
        #expect(try Self.stats(restarted)["last_lsn"] == "18001")
        #expect(restarted.terminate() == 0)
    }
}
