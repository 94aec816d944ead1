import PaymentsCore
import PaymentsFormat

/// Answers the read-only requests of the line protocol from the engine's current state.
/// The caller holds the reply like any other: it may show effects not yet on stable storage.
struct Queries {
    unowned let service: DaemonService

    var engine: Engine { service.durable.engine }

    func answer(_ request: LineRequest, into out: inout [UInt8]) {
        switch request {
        case .get(let client, let json):
            guard let account = engine.ledger.account(client) else {
                out.append(contentsOf: "ERR unknown client\n".utf8)
                return
            }
            if json { AccountText.appendJSON(account, to: &out) } else { AccountText.appendCSVRow(account, to: &out) }
        case .dump(let json):
            AccountText.appendAll(engine.ledger, json: json, to: &out)
            out.append(UInt8(ascii: "\n"))
        case .tx(let id):
            guard let stored = engine.ledger.transactions.lookup(id) else {
                out.append(contentsOf: "ERR unknown tx\n".utf8)
                return
            }
            TransactionText.appendCSV(id: id, stored, to: &out)
        case .history(let client):
            for entry in engine.history.entries(of: client) { TransactionText.appendCSV(client: client, entry, to: &out) }
            out.append(UInt8(ascii: "\n"))
        case .stats:
            out.append(contentsOf: service.statsLine().utf8)
        case .ping:
            out.append(contentsOf: "PONG\n".utf8)
        case .help:
            out.append(contentsOf: LineRequest.helpText.utf8)
            out.append(UInt8(ascii: "\n"))
        default:
            preconditionFailure("not a query: \(request)")
        }
    }
}
