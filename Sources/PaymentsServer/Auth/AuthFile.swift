import PaymentsPlatform
import PaymentsTLS

/// `--auth-file`: one `ROLE NAME SHA256HEX` line per token (§9). Only hashes are kept, so the
/// file is useless to whoever reads it; it is still refused when others may read or anyone but
/// its owner may write it, as ssh refuses a private key with loose modes: a file that leaked is
/// a file an operator must hear about.
public struct AuthFile: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public let role: Role
        public let name: String
        /// SHA-256 of the token, 32 bytes.
        public let hash: [UInt8]
    }

    public let entries: [Entry]

    /// Permission bits a token file may have: owner read/write, group read (0640 under systemd's
    /// `LoadCredential=`, which gives 0400 or 0440).
    static let allowedModeBits: UInt32 = 0o640
    /// A token file is a short list; a bigger file is a mistake (a wrong path, a log file).
    static let maxFileBytes = 1 << 20

    public struct LoadError: Error, CustomStringConvertible, Sendable, Equatable {
        public let description: String
    }

    /// Reads and checks the file: its mode first, then every line.
    public static func load(_ path: String) throws(LoadError) -> AuthFile {
        let mode: UInt32
        do { mode = try FileSystem.permissionBits(path) } catch {
            throw LoadError(description: "auth file \(path): \(error.message)")
        }
        guard mode & ~allowedModeBits == 0 else {
            let octal = String(mode, radix: 8)
            throw LoadError(description: "auth file \(path) has mode 0\(octal): it must be 0600 or 0640 (chmod 600 \(path))")
        }
        let bytes: [UInt8]
        do { bytes = try FileSystem.readWholeFile(path, limit: maxFileBytes) } catch {
            throw LoadError(description: "auth file \(path): \(error.message)")
        }
        return try parse(bytes, file: path)
    }

    /// Blank lines and lines starting with `#` are skipped; anything else must be a token line.
    /// A token named twice, or a hash listed twice, is refused: one of the two lines is a mistake.
    public static func parse(_ bytes: [UInt8], file: String) throws(LoadError) -> AuthFile {
        var entries: [Entry] = []
        var names: Set<String> = [], hashes: Set<[UInt8]> = []
        var lineNumber = 0
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            func refuse(_ why: String) -> LoadError { LoadError(description: "auth file \(file) line \(lineNumber): \(why)") }
            var text = line
            if text.last == 0x0D { text = text.dropLast() }
            guard let first = text.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { continue }
            if text[first] == UInt8(ascii: "#") { continue }
            guard text.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 < 0x7F) }) else {
                throw refuse("only printable ASCII is allowed")
            }
            let fields = text.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 }).map { String(decoding: $0, as: UTF8.self) }
            guard fields.count == 3 else { throw refuse("expected ROLE NAME SHA256HEX, found \(fields.count) field(s)") }
            guard let role = Role(name: fields[0]) else { throw refuse("unknown role \(fields[0]) (read, write or admin)") }
            let name = fields[1]
            guard name.utf8.count <= 64 else { throw refuse("token name longer than 64 bytes") }
            guard let hash = Hex.decode(fields[2]), hash.count == 32 else {
                throw refuse("the third field must be 64 hex digits, the SHA-256 of the token (paymentsctl hash-token prints it)")
            }
            guard names.insert(name).inserted else { throw refuse("token name \(name) is listed twice") }
            guard hashes.insert(hash).inserted else { throw refuse("this hash is listed twice (two names for one token)") }
            entries.append(Entry(role: role, name: name, hash: hash))
        }
        return AuthFile(entries: entries)
    }

    /// The line `hash-token` prints for a token.
    public static func line(role: Role, name: String, token: some Collection<UInt8>) -> String {
        "\(role.name) \(name) \(Hex.encode(SHA256.hash(token)))"
    }
}
