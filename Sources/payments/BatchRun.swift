import PaymentsCore
import PaymentsFormat
import PaymentsPlatform

/// Streams every input through one ledger: inputs are read in large chunks straight into the
/// line framer's buffer and cut into lines in place, so memory holds the ledger and one
/// chunk, whatever the size of the files.
struct BatchRun {
    static let chunkBytes = 1 << 20

    /// Transactions are applied in groups of this many (see `Ledger.apply(_:outcomes:)`).
    static let batchSize = 256

    /// The shortest line that consumes an id (`deposit,1,1,1` and a newline) is 14 bytes; a
    /// typical one is about twice that. Sizing the id table from the input avoids regrowing it.
    static let typicalLineBytes = 24

    let options: Options
    let ledger: Ledger
    var applied = 0, rejected = 0, malformed = 0
    var diagnostics = BufferedOutput(.standardError)
    var pending: [Transaction] = []
    var pendingLines: [Int] = []
    var outcomes = [Outcome](repeating: .applied, count: BatchRun.batchSize)

    init(options: Options) {
        self.options = options
        let bytes = options.inputs.reduce(0) { $0 + (FileSystem.regularFileSize($1) ?? 0) }
        ledger = Ledger(expectedTransactions: bytes / Self.typicalLineBytes)
        pending.reserveCapacity(Self.batchSize)
        pendingLines.reserveCapacity(Self.batchSize)
    }

    /// Reads one input to its end. Throws when it cannot be opened or read.
    mutating func consume(_ path: String) throws(SystemError) {
        let fd = path == "-" ? FileDescriptor.standardInput : try FileDescriptor.openForReading(path)
        defer { if path != "-" { try? fd.close() } }
        let name = path == "-" ? "<stdin>" : path
        let framer = LineFramer(bufferBytes: Self.chunkBytes)
        var lineNumber = 0
        while true {
            let n = try fd.read(into: framer.writableSpace())
            if n == 0 { break }
            framer.commit(n)
            while let event = framer.next() {
                lineNumber += 1
                handle(event, name, lineNumber)
            }
            try diagnostics.flushIfFull()
        }
        if let last = framer.finish() {
            lineNumber += 1
            handle(last, name, lineNumber)
        }
        applyPending(name)
    }

    @inline(__always)
    mutating func handle(_ event: InputEvent, _ name: String, _ lineNumber: Int) {
        let parsed: ParsedLine
        switch event {
        case .line(let bytes): parsed = TransactionLine.parse(bytes)
        case .tooLong, .bytes: parsed = .malformed(.lineTooLong)
        }
        switch parsed {
        case .skip: break
        case .transaction(let t):
            pending.append(t)
            if options.verbose { pendingLines.append(lineNumber) }
            if pending.count == Self.batchSize { applyPending(name) }
        case .malformed(let error):
            malformed += 1
            if options.verbose {
                applyPending(name)  // keeps the diagnostics in line order
                note(name, lineNumber, "malformed: \(error.message)")
            }
        }
    }

    mutating func applyPending(_ name: String) {
        if pending.isEmpty { return }
        outcomes.withUnsafeMutableBufferPointer { out in
            pending.withUnsafeBufferPointer { ledger.apply($0, outcomes: out.baseAddress!) }
        }
        for i in pending.indices {
            switch outcomes[i] {
            case .applied: applied += 1
            case .rejected(let reason):
                rejected += 1
                if options.verbose { note(name, pendingLines[i], "rejected: \(reason.reason)") }
            }
        }
        pending.removeAll(keepingCapacity: true)
        pendingLines.removeAll(keepingCapacity: true)
    }

    /// One diagnostic line, built only under `--verbose`: refused lines are frequent and cheap.
    mutating func note(_ name: String, _ lineNumber: Int, _ text: String) {
        diagnostics.bytes.append(contentsOf: "\(name):\(lineNumber): \(text)\n".utf8)
    }

    /// Writes the accounts to standard output, then the summary to standard error.
    mutating func finish() throws(SystemError) {
        var out = BufferedOutput(.standardOutput)
        AccountText.appendAll(ledger, json: options.json, to: &out.bytes)
        try out.flush()
        try diagnostics.write(
            "payments: \(applied) applied, \(rejected) rejected, \(malformed) malformed, \(ledger.accountCount) accounts\n")
        try diagnostics.flush()
    }
}
