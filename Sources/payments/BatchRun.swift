import PaymentsCore
import PaymentsFormat
import PaymentsPlatform

/// Streams every input through one ledger: inputs are read in large chunks and cut into lines
/// in place, so memory holds the ledger and one chunk, whatever the size of the files.
struct BatchRun {
    static let chunkBytes = 1 << 20

    let options: Options
    let ledger = Ledger()
    var applied = 0, rejected = 0, malformed = 0
    var diagnostics = BufferedOutput(.standardError)

    init(options: Options) { self.options = options }

    /// Reads one input to its end. Throws when it cannot be opened or read.
    mutating func consume(_ path: String) throws(SystemError) {
        let fd = path == "-" ? FileDescriptor.standardInput : try FileDescriptor.openForReading(path)
        defer { if path != "-" { try? fd.close() } }
        let name = path == "-" ? "<stdin>" : path
        var splitter = LineSplitter()
        var lineNumber = 0
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkBytes, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let n = try fd.read(into: chunk)
            if n == 0 { break }
            splitter.feed(UnsafeRawBufferPointer(rebasing: chunk[0..<n])) { piece in
                lineNumber += 1
                handle(piece, name, lineNumber)
            }
            try diagnostics.flushIfFull()
        }
        splitter.finish { piece in
            lineNumber += 1
            handle(piece, name, lineNumber)
        }
    }

    @inline(__always)
    mutating func handle(_ piece: LineSplitter.Piece, _ name: String, _ lineNumber: Int) {
        let parsed: ParsedLine
        switch piece {
        case .line(let bytes): parsed = TransactionLine.parse(bytes)
        case .tooLong: parsed = .malformed(.lineTooLong)
        }
        switch parsed {
        case .skip: break
        case .transaction(let t):
            switch ledger.apply(t) {
            case .applied: applied += 1
            case .rejected(let reason):
                rejected += 1
                if options.verbose { note(name, lineNumber, "rejected: \(reason.reason)") }
            }
        case .malformed(let error):
            malformed += 1
            if options.verbose { note(name, lineNumber, "malformed: \(error.message)") }
        }
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
