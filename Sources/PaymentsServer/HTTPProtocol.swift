/// The HTTP API of §7 on the event loop. (Being written: until then every request gets 503.)
final class HTTPProtocol: ConnectionHandler {
    let service: DaemonService
    let configuration: DaemonConfiguration

    init(service: DaemonService, configuration: DaemonConfiguration) {
        self.service = service
        self.configuration = configuration
    }

    func connection(_ connection: Connection, received event: InputEvent) {
        var out: [UInt8] = []
        HTTPResponse.appendError(.serviceUnavailable, message: "not yet served", close: true, to: &out)
        connection.write(out)
        connection.closeAfterFlush()
    }

    func connectionClosed(_ connection: Connection) {}
}
