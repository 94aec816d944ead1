public import PaymentsPlatform

/// Where the mirror's Redis is: `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`, as `redis-cli -u`
/// takes it. HOST is an IPv4 address, `[IPv6]` or `localhost` (no DNS); PORT defaults to 6379,
/// DB to 0. `%XX` escapes in the user and password are decoded.
public struct RedisURL: Equatable, Sendable, CustomStringConvertible {
    public var address: SocketAddress
    public var database: Int = 0
    public var user: String?
    public var password: String?

    public static let defaultPort = 6379

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws(ParseError) {
        let scheme = "redis://"
        guard text.lowercased().hasPrefix(scheme) else {
            throw ParseError(description: "\"\(text)\" is not a redis:// URL (redis://HOST:PORT[/DB])")
        }
        var rest = Substring(text.dropFirst(scheme.count))
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let name = credentials[..<colon]
                user = name.isEmpty ? nil : try Self.decode(name)
                password = try Self.decode(credentials[credentials.index(after: colon)...])
            } else {
                password = try Self.decode(credentials)
            }
        }
        var hostPort = rest
        if let slash = rest.firstIndex(of: "/") {
            hostPort = rest[..<slash]
            let db = rest[rest.index(after: slash)...]
            if !db.isEmpty {
                guard db.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), db.count <= 5, let number = Int(db) else {
                    throw ParseError(description: "database \"\(db)\" in \(Self.redacted(text)) is not a number")
                }
                database = number
            }
        }
        guard !hostPort.isEmpty else { throw ParseError(description: "no host in \(Self.redacted(text))") }
        let hasPort = hostPort.hasPrefix("[") ? hostPort.contains("]:") : hostPort.contains(":")
        let full = hasPort ? String(hostPort) : "\(hostPort):\(Self.defaultPort)"
        do {
            address = try SocketAddress.hostPort(full)
        } catch {
            throw ParseError(description: "\(error)")
        }
    }

    /// `redis://HOST:PORT/DB`, without the password.
    public var description: String {
        "redis://\(user.map { "\($0):***@" } ?? (password == nil ? "" : ":***@"))\(address)" + (database == 0 ? "" : "/\(database)")
    }

    private static func redacted(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@") else { return text }
        return "redis://***" + text[at...]
    }

    private static func decode(_ text: Substring) throws(ParseError) -> String {
        var out: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        while let byte = bytes.popFirst() {
            guard byte == UInt8(ascii: "%") else { out.append(byte); continue }
            guard bytes.count >= 2, let value = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) else {
                throw ParseError(description: "a % escape in the credentials is not %XX")
            }
            out.append(value)
            bytes = bytes.dropFirst(2)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
