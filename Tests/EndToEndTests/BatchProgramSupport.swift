import ChildProcessSupport
import Foundation
import Glibc
import Testing
import PaymentsTestSupport

/// The package's root, found from this file: Tests/EndToEndTests/<file>.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let fixturesDirectory = packageRoot.appendingPathComponent("Fixtures")

/// The `payments` binary `swift test` built (this target depends on the executable).
let paymentsBinary = Bundle.main.bundleURL.appendingPathComponent("payments")

struct RunResult {
    var status: Int32
    var stdout: Data
    var stderr: Data
    var out: String { String(decoding: stdout, as: UTF8.self) }
    var err: String { String(decoding: stderr, as: UTF8.self) }
}

/// A fresh temporary directory for one test's files.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("payments-e2e-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs `payments` with `arguments`, standard input from `stdin` (empty when nil), and collects
/// both outputs through files, so no pipe can fill up and block the child.
/// With `feed`, standard input is a pipe written by `feed` while the program runs (short reads).
/// A run longer than `timeoutSeconds` is killed (a feed blocked on it then fails) and the test fails.
func runPayments(
    _ arguments: [String], stdin: Data? = nil, in directory: URL? = nil, feed: ((FileHandle) throws -> Void)? = nil,
    stdoutPath: String? = nil, timeoutSeconds: Double = 60
) throws -> RunResult {
    let dir = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let inURL = dir.appendingPathComponent("stdin"), outURL = dir.appendingPathComponent("stdout"),
        errURL = dir.appendingPathComponent("stderr")
    try (stdin ?? Data()).write(to: inURL)
    try Data().write(to: outURL)
    try Data().write(to: errURL)
    var program = paymentsBinary.path, programArguments = arguments
    if let directory {   // `payments` resolves relative paths from its working directory
        program = "/bin/sh"
        programArguments = ["-c", "cd \"$0\" && exec \"$@\"", directory.path, paymentsBinary.path] + arguments
    }
    var pipeEnds: [Int32] = [-1, -1]
    if feed != nil { guard closeOnExecPipe(&pipeEnds) == 0 else { throw RunFailure("pipe: errno \(errno)") } }
    let process: ChildProcess
    do {
        process = try ChildProcess(
            program, programArguments, stdinPath: feed == nil ? inURL.path : nil,
            stdinDescriptor: feed == nil ? nil : pipeEnds[0], stdoutPath: stdoutPath ?? outURL.path, stderrPath: errURL.path)
    } catch {
        if feed != nil { close(pipeEnds[0]); close(pipeEnds[1]) }
        throw error
    }
    if let feed {
        close(pipeEnds[0])
        // Should the child die early, a write to its pipe must fail, not kill the test runner.
        signal(SIGPIPE, SIG_IGN)
        process.killIfRunning(after: timeoutSeconds)
        let writer = FileHandle(fileDescriptor: pipeEnds[1], closeOnDealloc: false)
        defer { close(pipeEnds[1]) }
        try feed(writer)
    }
    try process.wait(seconds: timeoutSeconds, for: "for payments to finish")
    #expect(!process.exitedBySignal, "payments was killed by signal \(process.terminationStatus)")
    return RunResult(
        status: process.terminationStatus, stdout: try Data(contentsOf: outURL), stderr: try Data(contentsOf: errURL))
}

struct RunFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}


/// A random input file: CSV and JSON lines of every kind over a few dozen clients, duplicates,
/// references to unknown and other clients' ids, headers, blank and malformed lines.
func randomInputLines(seed: UInt64, count: Int) -> [String] {
    var rng = SplitMix64(seed: seed)
    var lines: [String] = []
    var used: [(UInt32, Int)] = []
    var nextID: UInt32 = 1
    for _ in 0..<count {
        let client = rng.below(30)
        let amount = "\(rng.below(500)).\(String(rng.below(10_000)).leftPadded(4))"
        func ref() -> (UInt32, Int) {
            if used.isEmpty || rng.below(10) == 0 { return (UInt32(1_000_000 + rng.below(100)), client) }
            let p = used[used.count - 1 - rng.below(min(used.count, 50))]
            return rng.below(10) == 0 ? (p.0, client) : p
        }
        let roll = rng.below(100)
        let json = rng.below(4) == 0
        var kind: String, c = client, id: UInt32, a: String? = nil
        switch roll {
        case 0..<45:
            kind = "deposit"; id = rng.below(20) == 0 && !used.isEmpty ? used[rng.below(used.count)].0 : nextID; a = amount
        case 45..<65:
            kind = "withdrawal"; id = nextID; a = amount
        case 65..<80: kind = "dispute"; (id, c) = ref()
        case 80..<90: kind = "resolve"; (id, c) = ref()
        case 90..<96: kind = "chargeback"; (id, c) = ref()
        case 96: lines.append(""); continue
        case 97: lines.append("type,client,tx,amount"); continue
        case 98: lines.append("deposit,\(client),\(nextID),-\(amount)"); nextID += 1; continue
        default: lines.append("{\"type\":\"deposit\",\"client\":\"\(client)\"}"); continue
        }
        if kind == "deposit" || kind == "withdrawal" {
            if id == nextID { nextID += 1 + UInt32(rng.below(2)) }
            used.append((id, c))
        }
        if json {
            let amountPart = a.map { rng.below(2) == 0 ? ",\"amount\":\"\($0)\"" : ",\"amount\":\($0)" } ?? ""
            lines.append("{\"type\":\"\(kind)\",\"client\":\(c),\"tx\":\(id)\(amountPart)}")
        } else {
            lines.append("\(kind),\(c),\(id),\(a ?? "")")
        }
    }
    return lines
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: Swift.max(0, width - count)) + self }
}
