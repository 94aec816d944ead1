import PaymentsPlatform
import PaymentsTLS

/// `paymentsctl hash-token ROLE NAME < token`: the line for `--auth-file` (§9). The token comes
/// from standard input, never the command line, where `ps` and shell history would show it.
enum HashTokenCommand {
    /// A token is a secret of a few dozen bytes; more is a wrong file on standard input.
    static let maxTokenBytes = 1024

    static func run(role: String, name: String) -> Int32 {
        var input: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while input.count <= maxTokenBytes + 2 {
            let result: Result<Int, SystemError> = chunk.withUnsafeMutableBytes { raw in
                do throws(SystemError) { return .success(try FileDescriptor.standardInput.read(into: raw)) } catch { return .failure(error) }
            }
            guard case .success(let count) = result else {
                if case .failure(let error) = result { warn("hash-token: cannot read standard input: \(error.message)") }
                return ExitStatus.failure
            }
            if count == 0 { break }
            input += chunk[0..<count]
        }
        // One line end is what `echo` and an editor add; it is not part of the token.
        if input.last == 0x0A { input.removeLast() }
        if input.last == 0x0D { input.removeLast() }
        guard !input.isEmpty else {
            warn("hash-token: the token on standard input is empty")
            return ExitStatus.failure
        }
        guard input.count <= maxTokenBytes, !input.contains(0x0A) else {
            warn("hash-token: standard input must hold one token of at most \(maxTokenBytes) bytes on one line")
            return ExitStatus.failure
        }
        standardOutput.write("\(role) \(name) \(Hex.encode(SHA256.hash(input)))\n")
        standardOutput.flush()
        return ExitStatus.success
    }
}
