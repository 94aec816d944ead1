/// Why a transaction or `SYNC` is not taken right now. It is only ever given before anything
/// was journaled: an `ERR` always means the line was not committed and may be sent again.
enum WriteRefusal: Error, Equatable {
    /// This daemon follows another (the PostgreSQL journal): writes go to the leader.
    case standby(leader: String)
    /// The journal cannot take writes (it failed, or the lease on the ledger is not held).
    case unavailable(String)

    /// The line protocol's reply, with its newline.
    var line: String {
        switch self {
        case .standby(let leader): "ERR standby: leader is \(leader.isEmpty ? "unknown" : leader)\n"
        case .unavailable(let reason): "ERR journal unavailable: \(reason)\n"
        }
    }

    /// The HTTP `503` body.
    var json: [UInt8] {
        var body: [UInt8] = []
        switch self {
        case .standby(let leader):
            body.append(contentsOf: #"{"error":"standby","leader":"#.utf8)
            HTTPJSONString.append(leader, to: &body)
        case .unavailable(let reason):
            body.append(contentsOf: #"{"error":"#.utf8)
            HTTPJSONString.append("journal unavailable: \(reason)", to: &body)
        }
        body.append(UInt8(ascii: "}"))
        return body
    }
}
