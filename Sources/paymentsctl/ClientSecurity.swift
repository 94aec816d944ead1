import PaymentsPlatform
import PaymentsTLS

/// How paymentsctl proves itself to the daemons and protects the bytes (§9): TLS on TCP
/// targets (`--tls`), and a token sent as the first line of every connection (`--token-file`,
/// `$PAYMENTSD_TOKEN`). Set once in `main`, before any connection.
struct ClientSecurity {
    /// The client side of TLS; nil without `--tls`. Unix sockets never use it.
    var tls: TLSContext?
    /// The name the daemon's certificate must carry; nil: the address's IP as given.
    var serverName: String?
    var token: [UInt8]?

    nonisolated(unsafe) static var current = ClientSecurity()

    /// What the command line asked for, before the files are read.
    struct Options: Equatable {
        var tls = false
        var caFile: String?
        var certificate: String?
        var key: String?
        var serverName: String?
        var tokenFile: String?
    }

    /// Reads the token file (or `$PAYMENTSD_TOKEN`) and the TLS files; a failure is the
    /// user's to fix, said in one line.
    static func load(_ options: Options, environmentToken: String?) -> ClientSecurity {
        var security = ClientSecurity(serverName: options.serverName)
        if let path = options.tokenFile {
            security.token = readToken(path)
        } else if let text = environmentToken, !text.isEmpty {
            security.token = Array(text.utf8)
        }
        if options.tls {
            // OpenSSL writes alerts with plain write(): a daemon gone mid-write must be an error, not a signal.
            Signals.ignoreBrokenPipe()
            let identity = options.certificate.map { TLSIdentity(certificateChain: $0, privateKey: options.key ?? $0) }
            do throws(TLSError) {
                security.tls = try TLSContext.client(caFile: options.caFile, identity: identity)
            } catch {
                fail("\(error)")
            }
        }
        return security
    }

    /// The first line of the file, without its line end: the token.
    private static func readToken(_ path: String) -> [UInt8] {
        let bytes: [UInt8]
        do { bytes = try FileSystem.readWholeFile(path, limit: 64 << 10) } catch { fail("--token-file \(path): \(error.message)") }
        var line = Array(bytes.prefix { $0 != 0x0A })
        if line.last == 0x0D { line.removeLast() }
        guard !line.isEmpty else { fail("--token-file \(path): the file is empty (the token is its first line)") }
        return line
    }

    /// The host the certificate is checked against for `target`: `--tls-server-name`, else the
    /// address without its port (`127.0.0.1`, `::1`).
    func hostName(for target: SocketAddress) -> String {
        if let serverName { return serverName }
        var text = target.description
        if let colon = text.lastIndex(of: ":") { text = String(text[..<colon]) }
        if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        return text
    }
}

/// Why a connection to a daemon could not be used: the socket, TLS, or the token.
enum ConnectError: Error {
    case system(SystemError)
    case tls(TLSError)
    /// The daemon refused the token or answered AUTH with something else: the reason in words.
    case auth(String)
}
