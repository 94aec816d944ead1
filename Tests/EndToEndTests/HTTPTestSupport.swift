// Support for HTTPAPITests: the real `paymentsd` on a temporary data directory with an HTTP
// listener on a free port, `curl` run as a process, a raw-socket HTTP client, and checkers for
// responses, account listings and the Prometheus text format. Names start with `HTTPTest` so
// that other files of this target can add their own helpers freely.

import ChildProcessSupport
import Foundation
import Testing

let httpTestDaemonBinary = Bundle.main.bundleURL.appendingPathComponent("paymentsd")

/// Upper bound on any wait in these tests: reached only when something is broken.
let httpTestPatienceSeconds = 20.0

struct HTTPTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A temporary directory with a short path (`/tmp/phtXXXXXX`), for data and Unix sockets.
func httpTestTemporaryDirectory() throws -> String {
    var template = Array("/tmp/phtXXXXXX".utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw HTTPTestFailure("mkdtemp failed: errno \(errno)")
    }
    return String(cString: made)
}

/// A running `paymentsd` with a Unix line-protocol socket and an HTTP listener on
/// 127.0.0.1:<a free port>. Stopped (SIGKILL if still running) when released; every wait for
/// it is bounded and it dies with the test process (`ChildProcess`).
final class HTTPTestDaemon {
    let directory: String
    let extraArguments: [String]
    private(set) var process: ChildProcess?
    private(set) var port: UInt16 = 0
    private var ownsDirectory: Bool

    var dataDirectory: String { directory + "/data" }
    var unixSocketPath: String { directory + "/d.sock" }
    var logPath: String { directory + "/stderr.log" }
    var baseURL: String { "http://127.0.0.1:\(port)" }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Starts the daemon; `arguments` are added after the listener flags.
    init(_ arguments: [String] = [], directory: String? = nil) throws {
        self.directory = try directory ?? httpTestTemporaryDirectory()
        ownsDirectory = directory == nil
        extraArguments = arguments
        try start()
    }

    deinit {
        process?.kill(signal: SIGKILL, andWaitSeconds: 10)
        if ownsDirectory { try? FileManager.default.removeItem(atPath: directory) }
    }

    private func start() throws {
        if !FileManager.default.fileExists(atPath: logPath) { FileManager.default.createFile(atPath: logPath, contents: nil) }
        let logLengthBefore = (try? Data(contentsOf: URL(fileURLWithPath: logPath)).count) ?? 0
        process = try ChildProcess(
            httpTestDaemonBinary.path,
            ["--data-dir", dataDirectory, "--unix", unixSocketPath, "--http", "127.0.0.1:0"] + extraArguments,
            stderrPath: logPath)
        port = try waitForPort(after: logLengthBefore)
        try waitUntilConnectable()
    }

    /// Reads the port from the log line `listening on 127.0.0.1:PORT (http)`.
    private func waitForPort(after offset: Int) throws -> UInt16 {
        let deadline = Date().addingTimeInterval(httpTestPatienceSeconds)
        while Date() < deadline {
            let text = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: logPath)))?.dropFirst(offset) ?? Data(), as: UTF8.self)
            for line in text.split(separator: "\n") {
                guard let r = line.range(of: "listening on 127.0.0.1:"), line.hasSuffix(" (http)") else { continue }
                let digits = line[r.upperBound...].prefix { $0.isNumber }
                if let port = UInt16(digits) { return port }
            }
            guard isRunning else { throw HTTPTestFailure("paymentsd exited at start: \(self.log)") }
            usleep(5_000)
        }
        throw HTTPTestFailure("paymentsd did not log its HTTP port: \(self.log)")
    }

    private func waitUntilConnectable() throws {
        let deadline = Date().addingTimeInterval(httpTestPatienceSeconds)
        while Date() < deadline {
            if let socket = try? HTTPTestSocket(port: port) { socket.close(); return }
            usleep(5_000)
        }
        throw HTTPTestFailure("cannot connect to paymentsd on port \(port)")
    }

    var isRunning: Bool { process?.isRunning ?? false }
    var pid: Int32 { process?.pid ?? -1 }

    /// SIGKILL: no shutdown, no snapshot; what is acknowledged must be in the journal.
    func kill9(sourceLocation: SourceLocation = #_sourceLocation) {
        process?.signal(SIGKILL)
        process?.waitUntilExit(seconds: 10, for: "for paymentsd to die of SIGKILL", sourceLocation: sourceLocation)
    }

    /// SIGTERM and wait (at most a minute: then it is killed and the test fails); returns the
    /// exit status.
    @discardableResult
    func stop(sourceLocation: SourceLocation = #_sourceLocation) -> Int32 {
        guard let process else { return -1 }
        process.signal(SIGTERM)
        process.waitUntilExit(seconds: 60, for: "for paymentsd to stop after SIGTERM", sourceLocation: sourceLocation)
        return process.terminationStatus
    }

    /// Starts again on the same data directory (after `kill9` or `stop`); the port changes.
    func restart() throws {
        if isRunning { kill9() }
        try start()
    }

    // MARK: curl

    /// Runs curl with `arguments` (`-s` is added), standard input from `stdin`; outputs via files.
    func curl(_ arguments: [String], stdin: Data? = nil) throws -> HTTPTestCurlResult {
        try httpTestRunCurl(arguments, stdin: stdin, scratch: directory)
    }

    /// `curl -s -i` of one request: status, headers and body parsed.
    func request(_ method: String = "GET", _ path: String, headers: [String] = [], body: Data? = nil) throws -> HTTPTestResponse {
        var args = ["-i", "-X", method, baseURL + path]
        if method == "HEAD" { args = ["-I", baseURL + path] }
        for h in headers { args += ["-H", h] }
        if body != nil { args += ["--data-binary", "@-"] }
        let result = try curl(args, stdin: body)
        guard result.status == 0 else { throw HTTPTestFailure("curl \(args) failed (\(result.status)): \(result.err)") }
        var parser = HTTPTestResponseReader(headOnly: method == "HEAD")
        parser.buffer = Array(result.stdout)
        guard let response = try parser.next() else { throw HTTPTestFailure("no complete response from curl: \(result.out)") }
        return response
    }

    /// A raw connection to the HTTP listener.
    func connect() throws -> HTTPTestSocket { try HTTPTestSocket(port: port) }
}

struct HTTPTestCurlResult {
    var status: Int32
    var stdout: Data
    var stderr: Data
    var out: String { String(decoding: stdout, as: UTF8.self) }
    var err: String { String(decoding: stderr, as: UTF8.self) }
}

func httpTestRunCurl(_ arguments: [String], stdin: Data?, scratch: String) throws -> HTTPTestCurlResult {
    let id = UUID().uuidString
    let inURL = URL(fileURLWithPath: "\(scratch)/curl-\(id).in")
    let outURL = URL(fileURLWithPath: "\(scratch)/curl-\(id).out")
    let errURL = URL(fileURLWithPath: "\(scratch)/curl-\(id).err")
    defer { for u in [inURL, outURL, errURL] { try? FileManager.default.removeItem(at: u) } }
    try (stdin ?? Data()).write(to: inURL)
    try Data().write(to: outURL)
    try Data().write(to: errURL)
    let process = try ChildProcess(
        "/usr/bin/env", ["curl", "-s", "--max-time", "\(Int(httpTestPatienceSeconds))"] + arguments,
        stdinPath: inURL.path, stdoutPath: outURL.path, stderrPath: errURL.path)
    try process.wait(seconds: httpTestPatienceSeconds + 10, for: "for curl to finish")
    return HTTPTestCurlResult(
        status: process.terminationStatus, stdout: try Data(contentsOf: outURL), stderr: try Data(contentsOf: errURL))
}

// MARK: - Responses

struct HTTPTestResponse {
    var status: Int
    var reason: String
    /// Header names lowercased; values trimmed.
    var headers: [(String, String)]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? { headers.first { $0.0 == name.lowercased() }?.1 }

    /// The body as a JSON value (objects as [String: Any]).
    func json() throws -> Any {
        try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
    }

    func jsonObject() throws -> [String: Any] {
        guard let o = try json() as? [String: Any] else { throw HTTPTestFailure("not a JSON object: \(text)") }
        return o
    }

    /// A `Date` in IMF-fixdate (RFC 9110 §5.6.7) within a few minutes of the test's clock.
    var hasCurrentDate: Bool {
        guard let text = header("date") else { return false }
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "GMT")
        format.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        guard let date = format.date(from: text), format.string(from: date) == text else { return false }
        return abs(date.timeIntervalSinceNow) < 300
    }

    /// `{"error":"..."}` on one line: what every error status must carry (SPEC §7).
    var isOneLineJSONError: Bool {
        guard !body.contains(0x0A), let o = try? jsonObject(), o.count == 1, o["error"] is String else { return false }
        return header("content-type")?.hasPrefix("application/json") == true
    }
}

/// Reads responses from bytes as they arrive: status line, headers, `Content-Length` body
/// (the daemon never sends chunked responses). An interim `100 Continue` is returned like any
/// other response.
struct HTTPTestResponseReader {
    var buffer: [UInt8] = []
    var headOnly = false

    init(headOnly: Bool = false) { self.headOnly = headOnly }

    /// The next complete response, or nil if more bytes are needed.
    mutating func next() throws -> HTTPTestResponse? {
        guard let headEnd = httpTestFind([13, 10, 13, 10], in: buffer) else { return nil }
        let head = String(decoding: buffer[..<headEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw HTTPTestFailure("bad status line: \(statusLine)")
        }
        var headers: [(String, String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw HTTPTestFailure("bad header line: \(line)") }
            headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let length = status == 100 || headOnly ? 0 : Int(headers.first { $0.0 == "content-length" }?.1 ?? "") ?? -1
        guard length >= 0 else { throw HTTPTestFailure("response without Content-Length: \(head)") }
        let bodyStart = headEnd + 4
        guard buffer.count - bodyStart >= length else { return nil }
        let body = Array(buffer[bodyStart..<(bodyStart + length)])
        buffer.removeFirst(bodyStart + length)
        return HTTPTestResponse(
            status: status, reason: parts.count > 2 ? String(parts[2]) : "", headers: headers, body: body)
    }
}

func httpTestFind(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
        if Array(haystack[i..<(i + needle.count)]) == needle { return i }
    }
    return nil
}

// MARK: - Raw sockets

/// A blocking TCP client socket to 127.0.0.1 with a receive timeout, for bytes the tests
/// choose exactly (pipelining, one byte at a time, garbage).
final class HTTPTestSocket {
    let fd: Int32
    private(set) var isClosed = false
    var reader = HTTPTestResponseReader()

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPTestFailure("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { let e = errno; Glibc.close(fd); throw HTTPTestFailure("connect: errno \(e)") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        setReceiveTimeout(seconds: httpTestPatienceSeconds)
        var tv = timeval(tv_sec: Int(httpTestPatienceSeconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close() }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(fd)
    }

    func setReceiveTimeout(seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends all of `bytes`; false when the peer has gone (EPIPE, ECONNRESET).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    enum ReadResult { case bytes(Int), closed, timedOut }

    /// One `recv` into the reader's buffer.
    func readOnce() -> ReadResult {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { reader.buffer += chunk[0..<n]; return .bytes(n) }
            if n == 0 { return .closed }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return .timedOut }
            return .closed  // ECONNRESET: the daemon dropped us
        }
    }

    /// The next response; throws if the connection closes or times out first.
    func response() throws -> HTTPTestResponse {
        while true {
            if let r = try reader.next() { return r }
            switch readOnce() {
            case .bytes: continue
            case .closed: throw HTTPTestFailure("connection closed before a full response; have \(String(decoding: reader.buffer, as: UTF8.self))")
            case .timedOut: throw HTTPTestFailure("no response within \(httpTestPatienceSeconds) s; have \(String(decoding: reader.buffer, as: UTF8.self))")
            }
        }
    }

    /// `count` responses in order.
    func responses(_ count: Int) throws -> [HTTPTestResponse] { try (0..<count).map { _ in try response() } }

    /// Reads until the peer closes; true if it did (false: timed out with the connection open).
    /// Bytes that arrive meanwhile stay in `reader.buffer`.
    func waitForClose() -> Bool {
        while true {
            switch readOnce() {
            case .bytes: continue
            case .closed: return true
            case .timedOut: return false
            }
        }
    }

    /// Sends one request and reads its response (keep-alive).
    func exchange(_ request: String) throws -> HTTPTestResponse {
        guard send(request) else { throw HTTPTestFailure("send failed: errno \(errno)") }
        return try response()
    }
}

/// A request's bytes with `Host` and, if there is a body, `Content-Length`.
func httpTestRequest(_ method: String, _ target: String, headers: [String] = [], body: String? = nil, version: String = "HTTP/1.1") -> String {
    var text = "\(method) \(target) \(version)\r\nHost: 127.0.0.1\r\n"
    for h in headers { text += h + "\r\n" }
    if let body { text += "Content-Length: \(body.utf8.count)\r\n\r\n" + body } else { text += "\r\n" }
    return text
}

/// The JSON line the original service's clients send: numbers for ids and amounts.
func httpTestOriginalClientJSON(type: String, client: Int, tx: Int, amount: String) -> String {
    #"{"type":"\#(type)","client":\#(client),"tx":\#(tx),"amount":\#(amount)}"#
}

// MARK: - Accounts compared as numbers

struct HTTPTestAccount: Equatable, CustomStringConvertible {
    var client: Int
    var available: Decimal
    var held: Decimal
    var total: Decimal
    var locked: Bool
    var description: String { "\(client),\(available),\(held),\(total),\(locked)" }
}

/// The rows of an accounts CSV (header skipped), amounts as exact decimals.
func httpTestAccounts(csv: String) throws -> [HTTPTestAccount] {
    var rows: [HTTPTestAccount] = []
    for line in csv.split(whereSeparator: \.isNewline) where !line.hasPrefix("client,") {
        let f = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard f.count == 5, let c = Int(f[0]), let a = Decimal(string: f[1]), let h = Decimal(string: f[2]),
            let t = Decimal(string: f[3]), let l = Bool(f[4])
        else { throw HTTPTestFailure("bad accounts row: \(line)") }
        rows.append(HTTPTestAccount(client: c, available: a, held: h, total: t, locked: l))
    }
    return rows
}

/// The accounts of `GET /clients`: a JSON array of objects whose amounts are strings with 4 decimals.
func httpTestAccounts(json response: HTTPTestResponse) throws -> [HTTPTestAccount] {
    guard let array = try response.json() as? [[String: Any]] else { throw HTTPTestFailure("not a JSON array of objects: \(response.text)") }
    return try array.map(httpTestAccount)
}

func httpTestAccount(_ o: [String: Any]) throws -> HTTPTestAccount {
    func amount(_ key: String) throws -> Decimal {
        guard let s = o[key] as? String, s.wholeMatch(of: /-?[0-9]+\.[0-9]{4}/) != nil, let d = Decimal(string: s) else {
            throw HTTPTestFailure("\(key) is not a string amount with 4 decimals in \(o)")
        }
        return d
    }
    guard let client = o["client"] as? Int, let locked = o["locked"] as? Bool, o.count == 5 else {
        throw HTTPTestFailure("not an account object: \(o)")
    }
    return HTTPTestAccount(client: client, available: try amount("available"), held: try amount("held"), total: try amount("total"), locked: locked)
}

// MARK: - Prometheus text format

/// A page in the Prometheus text exposition format (0.0.4), checked line by line: every sample
/// is `name{labels} value` (labels optional), every sample's family has a `# TYPE` before it,
/// histograms have cumulative `_bucket{le=...}` ending in `+Inf`, `_sum` and `_count`, and
/// counters end in `_total`.
struct HTTPTestPrometheusPage {
    struct Sample { var name: String; var labels: [String: String]; var value: Double }
    var types: [String: String] = [:]
    var samples: [Sample] = []

    init(_ text: String) throws {
        guard text.hasSuffix("\n") else { throw HTTPTestFailure("the page does not end with a newline") }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("#") { try comment(String(line)); continue }
            guard !line.isEmpty else { throw HTTPTestFailure("empty line in the page") }
            let sample = try Self.parseSample(String(line))
            guard let family = family(of: sample.name) else { throw HTTPTestFailure("sample \(sample.name) has no # TYPE before it") }
            if types[family] == "counter" && !family.hasSuffix("_total") { throw HTTPTestFailure("counter \(family) does not end in _total") }
            samples.append(sample)
        }
        try checkHistograms()
    }

    private mutating func comment(_ line: String) throws {
        let parts = line.split(separator: " ", maxSplits: 3).map(String.init)
        guard parts.count >= 3, parts[0] == "#" else { return }
        guard Self.isMetricName(parts[2]) else { throw HTTPTestFailure("bad metric name in: \(line)") }
        if parts[1] == "TYPE" {
            guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                throw HTTPTestFailure("bad TYPE line: \(line)")
            }
            guard types[parts[2]] == nil else { throw HTTPTestFailure("second TYPE for \(parts[2])") }
            guard !samples.contains(where: { family(of: $0.name) == parts[2] }) else { throw HTTPTestFailure("TYPE of \(parts[2]) after its samples") }
            types[parts[2]] = parts[3]
        }
    }

    /// The declared family a sample belongs to (histogram samples carry a suffix).
    func family(of name: String) -> String? {
        if types[name] != nil { return name }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if types[base] == "histogram" || types[base] == "summary" { return base }
        }
        return nil
    }

    static func isMetricName(_ s: String) -> Bool { s.wholeMatch(of: /[a-zA-Z_:][a-zA-Z0-9_:]*/) != nil }

    static func parseSample(_ line: String) throws -> Sample {
        guard let match = line.wholeMatch(of: /([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)( -?[0-9]+)?/) else {
            throw HTTPTestFailure("not a sample line: \(line)")
        }
        var labels: [String: String] = [:]
        if let block = match.2 {
            let inner = block.dropFirst().dropLast()
            var rest = Substring(inner)
            while !rest.isEmpty {
                guard let m = rest.prefixMatch(of: /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/) else {
                    throw HTTPTestFailure("bad labels in: \(line)")
                }
                guard labels[String(m.1)] == nil else { throw HTTPTestFailure("repeated label in: \(line)") }
                labels[String(m.1)] = String(m.2)
                rest = rest[m.range.upperBound...]
            }
        }
        let text = String(match.3)
        let value: Double? = switch text {
        case "+Inf": .infinity
        case "-Inf": -.infinity
        case "NaN": .nan
        default: text.wholeMatch(of: /-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?/) != nil ? Double(text) : nil
        }
        guard let value else { throw HTTPTestFailure("bad value in: \(line)") }
        return Sample(name: String(match.1), labels: labels, value: value)
    }

    private func checkHistograms() throws {
        for (name, type) in types where type == "histogram" {
            let buckets = samples.filter { $0.name == name + "_bucket" }
            guard !buckets.isEmpty, buckets.allSatisfy({ $0.labels["le"] != nil }) else { throw HTTPTestFailure("\(name): no _bucket{le=...}") }
            guard buckets.last?.labels["le"] == "+Inf" else { throw HTTPTestFailure("\(name): last bucket is not +Inf") }
            let bounds = buckets.map { Double($0.labels["le"]!.replacingOccurrences(of: "+Inf", with: "inf")) ?? .nan }
            guard zip(bounds, bounds.dropFirst()).allSatisfy({ $0 < $1 }) else { throw HTTPTestFailure("\(name): bucket bounds not increasing") }
            guard zip(buckets, buckets.dropFirst()).allSatisfy({ $0.value <= $1.value }) else { throw HTTPTestFailure("\(name): buckets not cumulative") }
            guard let count = value(name + "_count"), value(name + "_sum") != nil else { throw HTTPTestFailure("\(name): no _sum or _count") }
            guard count == buckets.last!.value else { throw HTTPTestFailure("\(name): _count \(count) != +Inf bucket \(buckets.last!.value)") }
        }
    }

    /// The value of the one sample with this name and these labels.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }
}
