public import Glibc

/// Conversions between `SocketAddress` and the C `sockaddr` structures the socket calls take.
extension SocketAddress {
    /// Calls `body` with this address as a `sockaddr` and its exact length.
    public func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        var storage = sockaddr_storage()
        let length = fill(&storage)
        return withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    private func fill(_ storage: inout sockaddr_storage) -> socklen_t {
        withUnsafeMutableBytes(of: &storage) { raw -> socklen_t in
            switch self {
            case .unix(let path): return Self.fillUnix(raw, Array(path.utf8), abstract: false)
            case .abstractUnix(let name): return Self.fillUnix(raw, Array(name.utf8), abstract: true)
            case .ipv4(let address, let port):
                var sin = sockaddr_in()
                sin.sin_family = sa_family_t(AF_INET)
                sin.sin_port = port.bigEndian
                sin.sin_addr = in_addr(s_addr: address)
                withUnsafeBytes(of: sin) { raw.copyMemory(from: $0) }
                return socklen_t(MemoryLayout<sockaddr_in>.size)
            case .ipv6(let bytes, let port):
                var sin6 = sockaddr_in6()
                sin6.sin6_family = sa_family_t(AF_INET6)
                sin6.sin6_port = port.bigEndian
                withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: bytes) }
                withUnsafeBytes(of: sin6) { raw.copyMemory(from: $0) }
                return socklen_t(MemoryLayout<sockaddr_in6>.size)
            }
        }
    }

    /// An abstract name starts with a NUL byte in `sun_path` and its length counts exactly its
    /// bytes (no terminator); a path is NUL-terminated.
    private static func fillUnix(_ raw: UnsafeMutableRawBufferPointer, _ bytes: [UInt8], abstract: Bool) -> socklen_t {
        var sun = sockaddr_un()
        sun.sun_family = sa_family_t(AF_UNIX)
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        let lead = abstract ? 1 : 0
        withUnsafeMutableBytes(of: &sun.sun_path) { path in
            let count = min(bytes.count, path.count - 1 - lead)
            for i in 0..<count { path[lead + i] = bytes[i] }
        }
        withUnsafeBytes(of: sun) { raw.copyMemory(from: $0) }
        let used = min(bytes.count, maxUnixPathBytes)
        return socklen_t(pathOffset + lead + used + (abstract ? 0 : 1))
    }

    /// Reads back an address filled in by `accept`, `getsockname` or `getpeername`; nil for a
    /// family this program does not speak (or an unnamed Unix peer, which has no path).
    public init?(storage: sockaddr_storage, length: socklen_t) {
        var storage = storage
        let family = Int32(storage.ss_family)
        switch family {
        case AF_INET:
            let sin = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in.self) }
            self = .ipv4(address: sin.sin_addr.s_addr, port: UInt16(bigEndian: sin.sin_port))
        case AF_INET6:
            let sin6 = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in6.self) }
            let bytes = withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }
            self = .ipv6(address: bytes, port: UInt16(bigEndian: sin6.sin6_port))
        case AF_UNIX:
            let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
            let count = Int(length) - pathOffset
            guard count > 0 else { return nil }
            let bytes = withUnsafeBytes(of: &storage) { Array($0[pathOffset..<(pathOffset + count)]) }
            if bytes[0] == 0 {
                self = .abstractUnix(name: String(decoding: bytes.dropFirst(), as: UTF8.self))
            } else {
                let end = bytes.firstIndex(of: 0) ?? bytes.count
                self = .unix(path: String(decoding: bytes[..<end], as: UTF8.self))
            }
        default:
            return nil
        }
    }
}
