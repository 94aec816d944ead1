import PaymentsPlatform

/// Lines from standard input, read with `read` directly and no line editor: on a terminal the
/// kernel's line discipline does the editing (Backspace, Ctrl-U, Ctrl-W) and Ctrl-D at the
/// start of a line ends the input.
struct LineInput {
    /// One read.
    static let readBytes = 4096
    /// A request line longer than this is not a request (the daemon's own limit is 4096 by
    /// default); it ends the program instead of growing the buffer.
    static let maxLineBytes = 1 << 20

    private let fd: FileDescriptor
    private var buffer: [UInt8] = []
    private var head = 0
    private var ended = false

    init(_ fd: FileDescriptor = .standardInput) { self.fd = fd }

    /// The next line without its `\n` (or `\r\n`); nil at the end of the input. A last line
    /// without a newline is a line.
    mutating func next() -> String? {
        while true {
            if let newline = buffer[head...].firstIndex(of: 0x0A) {
                var end = newline
                if end > head && buffer[end - 1] == 0x0D { end -= 1 }
                defer { head = newline + 1 }
                return String(decoding: buffer[head..<end], as: UTF8.self)
            }
            if ended {
                guard head < buffer.count else { return nil }
                defer { head = buffer.count }
                return String(decoding: buffer[head...], as: UTF8.self)
            }
            if buffer.count - head > Self.maxLineBytes {
                fail("a line of \(fd.label ?? "input") is over \(Self.maxLineBytes) bytes")
            }
            fill()
        }
    }

    private mutating func fill() {
        if head > 0 {
            buffer.removeFirst(head)
            head = 0
        }
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: Self.readBytes))
        let fd = self.fd
        let result: Result<Int, SystemError> = buffer.withUnsafeMutableBytes { raw in
            do throws(SystemError) { return .success(try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[start...]))) }
            catch { return .failure(error) }
        }
        switch result {
        case .success(let count):
            buffer.removeLast(Self.readBytes - count)
            if count == 0 { ended = true }
        case .failure(let error):
            fail("cannot read \(fd.label ?? "input"): \(error.message)")
        }
    }
}
