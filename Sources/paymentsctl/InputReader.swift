import PaymentsPlatform

/// Reads the input files one after another (`-` is standard input), copying their bytes for
/// sending and reporting each answered line's file and number as it passes. A last line
/// without a newline gets one, so it cannot run into the next file's first line.
struct InputReader {
    let names: [String]
    private var descriptors: [FileDescriptor] = []
    private var index = 0
    private var lineNumber = 0
    private var partial = PartialLine()
    /// Set after a read: a pipe or terminal must be polled before the next read.
    var needsPoll = false

    init(names: [String]) { self.names = names }

    /// Opens every file first, so a missing one fails before anything is sent.
    mutating func openAll() {
        descriptors = names.map { name in
            if name == "-" { return .standardInput }
            do throws(SystemError) { return try FileDescriptor.openForReading(name) } catch {
                fail("cannot open \(name): \(error.message)")
            }
        }
    }

    var isDone: Bool { index >= descriptors.count }
    var current: FileDescriptor? { isDone ? nil : descriptors[index] }

    /// Reads up to `maxBytes` of the current file into `out`; `answered(file, line)` for each
    /// complete line that will get a reply.
    mutating func read(into out: inout [UInt8], maxBytes: Int, answered: (Int, Int) -> Void) {
        guard let fd = current else { return }
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: maxBytes))
        let result: Result<Int, SystemError> = out.withUnsafeMutableBytes { raw in
            do throws(SystemError) { return .success(try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[start...]))) }
            catch { return .failure(error) }
        }
        let count: Int
        switch result {
        case .success(let n): count = n
        case .failure(let error): fail("cannot read \(names[index]): \(error.message)")
        }
        out.removeLast(maxBytes - count)
        if count == 0 { return endOfFile(&out, answered) }
        scan(out[start...], answered)
        needsPoll = fd == .standardInput
    }

    private mutating func scan(_ bytes: ArraySlice<UInt8>, _ answered: (Int, Int) -> Void) {
        var lineStart = bytes.startIndex
        while let newline = bytes[lineStart...].firstIndex(of: 0x0A) {
            lineNumber += 1
            if partial.finish(with: bytes[lineStart..<newline]) { answered(index, lineNumber) }
            lineStart = newline + 1
        }
        partial.append(bytes[lineStart...])
    }

    private mutating func endOfFile(_ out: inout [UInt8], _ answered: (Int, Int) -> Void) {
        if !partial.isEmpty {
            lineNumber += 1
            if partial.finish(with: EmptyCollection<UInt8>()) { answered(index, lineNumber) }
            out.append(0x0A)
        }
        if descriptors[index] != .standardInput { try? descriptors[index].close() }
        index += 1
        lineNumber = 0
        needsPoll = false
    }
}
