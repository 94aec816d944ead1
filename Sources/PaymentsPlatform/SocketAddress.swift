import Glibc

/// Where a socket listens or connects: a Unix socket path, a Linux abstract Unix name, or an
/// IPv4/IPv6 address and port. Parsed from the text operators write (`./paymentsd.sock`,
/// `127.0.0.1:7300`, `[::1]:7300`, `localhost:7300`), rendered back the same way.
public enum SocketAddress: Sendable, Hashable, CustomStringConvertible {
    case unix(path: String)
    /// A Linux abstract socket (no file); written `@name`, as `$NOTIFY_SOCKET` does.
    case abstractUnix(name: String)
    /// `address` holds the four bytes in network order, as `in_addr` does.
    case ipv4(address: UInt32, port: UInt16)
    /// `address` holds the sixteen bytes of `in6_addr`.
    case ipv6(address: [UInt8], port: UInt16)

    /// `sun_path` is 108 bytes on Linux and a path needs its terminating NUL.
    public static let maxUnixPathBytes = 107

    /// A parse failure, one line for people: `invalid address "x:y": port is not a number`.
    public struct ParseError: Error, CustomStringConvertible, Equatable, Sendable {
        public let text: String
        public let reason: String
        public var description: String { "invalid address \"\(text)\": \(reason)" }
    }

    /// A Unix socket path, checked against the `sun_path` limit. A leading `@` names an
    /// abstract socket.
    public static func unixPath(_ path: String) throws(ParseError) -> SocketAddress {
        if path.isEmpty { throw ParseError(text: path, reason: "empty path") }
        if path.utf8.contains(0) { throw ParseError(text: path, reason: "NUL byte in path") }
        if path.utf8.count > maxUnixPathBytes {
            throw ParseError(
                text: path,
                reason: "Unix socket path is \(path.utf8.count) bytes, the limit is \(maxUnixPathBytes)")
        }
        if path.hasPrefix("@") { return .abstractUnix(name: String(path.dropFirst())) }
        return .unix(path: path)
    }

    /// Parses `HOST:PORT`: an IPv4 address, `[IPv6]`, `localhost`, or an empty host/`*` for all
    /// IPv4 interfaces. Host names other than `localhost` are refused (no DNS in a daemon's start).
    public static func hostPort(_ text: String) throws(ParseError) -> SocketAddress {
        guard let colon = text.lastIndex(of: ":") else {
            throw ParseError(text: text, reason: "expected HOST:PORT")
        }
        var host = String(text[..<colon])
        let port = try parsePort(String(text[text.index(after: colon)...]), in: text)
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count >= 2 else {
                throw ParseError(text: text, reason: "unclosed [ in IPv6 address")
            }
            host = String(host.dropFirst().dropLast())
            return try ipv6(host, port: port, in: text)
        }
        if host.contains(":") { throw ParseError(text: text, reason: "write an IPv6 address as [ADDRESS]:PORT") }
        if host == "localhost" { host = "127.0.0.1" }
        if host.isEmpty || host == "*" { host = "0.0.0.0" }
        var addr = in_addr()
        guard inet_pton(AF_INET, host, &addr) == 1 else {
            throw ParseError(text: text, reason: "\"\(host)\" is not an IPv4 address")
        }
        return .ipv4(address: addr.s_addr, port: port)
    }

    private static func ipv6(_ host: String, port: UInt16, in text: String) throws(ParseError) -> SocketAddress {
        var addr = in6_addr()
        guard inet_pton(AF_INET6, host, &addr) == 1 else {
            throw ParseError(text: text, reason: "\"\(host)\" is not an IPv6 address")
        }
        return .ipv6(address: withUnsafeBytes(of: addr) { Array($0) }, port: port)
    }

    private static func parsePort(_ digits: String, in text: String) throws(ParseError) -> UInt16 {
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let port = UInt16(digits) else {
            throw ParseError(text: text, reason: "port must be a number 0...65535")
        }
        return port
    }

    /// The address family for `socket(2)`.
    public var family: Int32 {
        switch self {
        case .unix, .abstractUnix: return AF_UNIX
        case .ipv4: return AF_INET
        case .ipv6: return AF_INET6
        }
    }

    public var isUnix: Bool { family == AF_UNIX }

    /// The port of an IP address; nil for Unix sockets.
    public var port: UInt16? {
        switch self {
        case .ipv4(_, let port), .ipv6(_, let port): return port
        case .unix, .abstractUnix: return nil
        }
    }

    /// True for addresses only this machine can reach: Unix sockets, 127.0.0.0/8, `::1` and
    /// IPv4-mapped loopback. The daemon refuses anything else unless told to allow remote peers.
    public var isLoopback: Bool {
        switch self {
        case .unix, .abstractUnix: return true
        case .ipv4(let address, _):
            return withUnsafeBytes(of: address) { $0[0] } == 127
        case .ipv6(let bytes, _):
            if bytes == [UInt8](repeating: 0, count: 15) + [1] { return true }
            let mapped = [UInt8](repeating: 0, count: 10) + [0xff, 0xff]
            return Array(bytes.prefix(12)) == mapped && bytes[12] == 127
        }
    }

    public var description: String {
        switch self {
        case .unix(let path): return path
        case .abstractUnix(let name): return "@" + name
        case .ipv4(let address, let port):
            var addr = in_addr(s_addr: address)
            return "\(Self.ntop(AF_INET, &addr)):\(port)"
        case .ipv6(let bytes, let port):
            var addr = in6_addr()
            withUnsafeMutableBytes(of: &addr) { $0.copyBytes(from: bytes) }
            return "[\(Self.ntop(AF_INET6, &addr))]:\(port)"
        }
    }

    private static func ntop(_ family: Int32, _ addr: UnsafeRawPointer) -> String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        guard inet_ntop(family, addr, &text, socklen_t(text.count)) != nil else { return "?" }
        return text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
