import PaymentsFormat
import PaymentsPlatform

/// How a listener's input is cut before its handler sees it.
public enum Framing: Sendable {
    /// `InputEvent.line` per line, `.tooLong` past the limit (the line protocol).
    case lines
    /// `InputEvent.bytes` as they arrive; the protocol frames them itself (HTTP bodies).
    case raw
}

/// Per-connection limits; none is unbounded.
public struct ConnectionLimits: Sendable {
    public var maxLineBytes: Int
    /// One read's worth; the framer's whole buffer.
    public var readBufferBytes: Int
    /// Pending reply bytes above which the connection is not read (backpressure).
    public var outputHighWaterBytes: Int
    /// Reading resumes when pending reply bytes fall to this.
    public var outputLowWaterBytes: Int

    public init(
        maxLineBytes: Int = LineFramer.defaultMaxLineBytes,
        readBufferBytes: Int = LineFramer.defaultBufferBytes,
        outputHighWaterBytes: Int = OutputBuffer.defaultHighWaterBytes,
        outputLowWaterBytes: Int = OutputBuffer.defaultLowWaterBytes
    ) {
        self.maxLineBytes = maxLineBytes
        self.readBufferBytes = max(readBufferBytes, 2 * (maxLineBytes + 2))
        self.outputHighWaterBytes = outputHighWaterBytes
        self.outputLowWaterBytes = min(outputLowWaterBytes, outputHighWaterBytes)
    }
}

/// What a listener serves: the protocol's name (for logs and per-protocol counts, e.g.
/// `line`, `http`), how input is framed, the limits, and the handler its connections use.
/// A future HTTP layer is a second configuration with its own handler on the same loop.
public struct ListenerConfiguration {
    public var protocolName: String
    public var framing: Framing
    public var limits: ConnectionLimits
    public var handler: any ConnectionHandler
    /// Sent, in the listener's own protocol, to a connection refused at the connection limit.
    public var rejectionReply: [UInt8]
    /// Sent in clear to a client that speaks plain text to this listener with TLS on.
    public var plainTextOnTLSReply: [UInt8] = Array("ERR this port speaks TLS: connect with TLS (paymentsctl --tls, socat OPENSSL:)\n".utf8)

    public init(
        protocolName: String = "line", framing: Framing = .lines,
        limits: ConnectionLimits = ConnectionLimits(), handler: any ConnectionHandler,
        rejectionReply: [UInt8] = EventLoop.tooManyConnectionsReply
    ) {
        self.rejectionReply = rejectionReply
        self.protocolName = protocolName
        self.framing = framing
        self.limits = limits
        self.handler = handler
    }
}

/// A listening socket on the loop: one the loop bound itself, or one systemd passed.
public final class Listener {
    public let descriptor: FileDescriptor
    /// The bound address (for TCP with the real port, useful after binding port 0).
    public let address: SocketAddress?
    public let configuration: ListenerConfiguration
    /// The socket file this process created and removes when the listener closes;
    /// nil for TCP and for sockets systemd owns.
    public let ownedSocketPath: String?
    /// A Unix socket (a path or an abstract name): it may use the loop's reserved connections.
    public let isUnix: Bool
    /// Its connections must present a token (§9): set by the daemon when it opens the listener.
    public var requiresAuth = false
    /// TLS on every connection (§9): set by the daemon for TCP and HTTP listeners.
    public var tls: ServerTLS?
    var token: UInt64 = 0
    var isClosed = false

    init(descriptor: FileDescriptor, address: SocketAddress?, configuration: ListenerConfiguration, ownedSocketPath: String?) {
        self.descriptor = descriptor
        self.address = address
        self.configuration = configuration
        self.ownedSocketPath = ownedSocketPath
        isUnix = address?.isUnix ?? (ownedSocketPath != nil)
    }

    public var protocolName: String { configuration.protocolName }

    /// For logs: `./paymentsd.sock (line)`.
    public var displayName: String { "\(address?.description ?? "fd \(descriptor.rawValue)") (\(protocolName))" }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        try? descriptor.close()
        if let ownedSocketPath { try? FileSystem.remove(ownedSocketPath) }
    }
}
