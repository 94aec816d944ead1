import PaymentsPlatform

/// Buffered standard output: a `dump` of many accounts is a few large writes, not one per row.
final class BufferedOutput {
    /// Written out whenever this much is buffered.
    static let flushBytes = 64 << 10
    private let fd: FileDescriptor
    private var bytes: [UInt8] = []

    init(_ fd: FileDescriptor) {
        self.fd = fd
        bytes.reserveCapacity(Self.flushBytes)
    }

    func write(_ text: String) {
        bytes.append(contentsOf: text.utf8)
        if bytes.count >= Self.flushBytes { flush() }
    }

    func write(line: some Collection<UInt8>) {
        bytes.append(contentsOf: line)
        bytes.append(0x0A)
        if bytes.count >= Self.flushBytes { flush() }
    }

    /// A failure to write our own output (a full disk) ends the program with an error.
    func flush() {
        guard !bytes.isEmpty else { return }
        let pending = bytes
        bytes.removeAll(keepingCapacity: true)
        do throws(SystemError) { try fd.writeAll(pending) } catch {
            fail("cannot write \(fd.label ?? "output"): \(error.message)")
        }
    }
}

/// The program is single-threaded; this is its one output buffer.
nonisolated(unsafe) let standardOutput = BufferedOutput(.standardOutput)

/// One line on standard error, prefixed with the program's name.
func warn(_ message: String) {
    try? FileDescriptor.standardError.writeAll(Array("paymentsctl: \(message)\n".utf8))
}

/// Reports `message` and exits with `status` (1 unless said otherwise).
func fail(_ message: String, status: Int32 = ExitStatus.failure) -> Never {
    standardOutput.flush()
    warn(message)
    Environment.exit(status)
}
