import Glibc

/// Socket activation: the listening sockets systemd (or `systemd-socket-activate`) opened for
/// us, passed as descriptors 3, 4, ... with `LISTEN_FDS`, `LISTEN_PID` and `LISTEN_FDNAMES`.
public enum SystemdListenFDs {
    /// systemd passes the first descriptor as 3 (`SD_LISTEN_FDS_START`).
    public static let firstDescriptor: Int32 = 3
    /// More passed sockets than this is a broken environment, not a configuration.
    public static let maxDescriptors = 1024

    /// One passed socket: its descriptor, its `FileDescriptorName=` (systemd's default name is
    /// `unknown`), and what it listens on, learnt with `getsockname`.
    public struct PassedSocket: Sendable {
        public let descriptor: FileDescriptor
        public let name: String
        /// The bound address; nil for a family we do not speak.
        public let address: SocketAddress?
        public var isUnix: Bool { address?.isUnix ?? false }
    }

    /// The environment does not describe descriptors we can use.
    public struct InvalidEnvironment: Error, CustomStringConvertible, Sendable {
        public let reason: String
        public var description: String { "socket activation: \(reason)" }
    }

    /// The passed descriptors: each made close-on-exec and classified, and the `LISTEN_*`
    /// variables removed so children do not inherit them. Empty when not socket-activated or
    /// when `LISTEN_PID` names another process.
    public static func take() throws -> [PassedSocket] {
        let pid = Environment.get("LISTEN_PID"), count = Environment.get("LISTEN_FDS")
        let names = Environment.get("LISTEN_FDNAMES")
        defer { for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] { Environment.unset(name) } }
        let entries = try parse(listenPID: pid, listenFDs: count, listenFDNames: names, ownPID: Environment.processID)
        var sockets: [PassedSocket] = []
        for (raw, name) in entries {
            let fd = FileDescriptor(rawValue: raw, label: "systemd socket \(name) (fd \(raw))")
            try fd.setCloseOnExec()
            sockets.append(try classify(fd, name: name))
        }
        return sockets
    }

    /// Checks that `fd` is a listening socket, makes it non-blocking and learns its address
    /// (Unix path or IP and port) with `getsockname`.
    public static func classify(_ fd: FileDescriptor, name: String) throws -> PassedSocket {
        guard (try? fd.option(SOL_SOCKET, SO_ACCEPTCONN)) == 1 else {
            throw InvalidEnvironment(reason: "descriptor \(fd.rawValue) (\(name)) is not a listening socket")
        }
        try fd.setNonBlocking()
        return PassedSocket(descriptor: fd, name: name, address: try fd.localAddress())
    }

    /// The pure part of `take`: which descriptors, with which names. A missing or mismatched
    /// `LISTEN_PID` means the variables were meant for another process: nothing is ours.
    /// Names missing or fewer than the descriptors are `unknown`, as systemd names them.
    public static func parse(
        listenPID: String?, listenFDs: String?, listenFDNames: String?, ownPID: Int32
    ) throws(InvalidEnvironment) -> [(descriptor: Int32, name: String)] {
        guard let listenPID, let listenFDs else { return [] }
        guard let pid = Int32(listenPID) else { throw InvalidEnvironment(reason: "LISTEN_PID=\(listenPID) is not a pid") }
        guard pid == ownPID else { return [] }
        guard let count = Int(listenFDs), count >= 0, count <= maxDescriptors else {
            throw InvalidEnvironment(reason: "LISTEN_FDS=\(listenFDs) is not a count of descriptors")
        }
        let names = listenFDNames.map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) } ?? []
        return (0..<count).map { index in
            let name = index < names.count && !names[index].isEmpty ? names[index] : "unknown"
            return (firstDescriptor + Int32(index), name)
        }
    }
}
