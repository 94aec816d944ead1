/// Holds replies until the journal records they depend on are safe, then lets them go, in
/// order, per connection. Shared by the line protocol and HTTP.
///
/// A connection writes its replies at once (so order is free) with `holdsReplies` set; at the
/// end of each batch it leaves a mark: "everything written so far waits for record `lsn`".
/// Marks are released front to back as the journal reports progress.
final class ReplyGate {
    struct Mark {
        var lsn: UInt64
        /// `SYNC` and every reply under `--fsync always` wait for stable storage; otherwise
        /// the record only has to be written to the OS.
        var needsDurable: Bool
        var outputMark: UInt64
    }

    struct Held {
        let connection: Connection
        var marks: [Mark] = []
        var head = 0
    }

    private var held: [UInt64: Held] = [:]

    var waitingConnections: Int { held.count }

    /// Marks everything `connection` has written so far as waiting for record `lsn`, and
    /// releases it at once when that record is already safe.
    func hold(_ connection: Connection, lsn: UInt64, needsDurable: Bool, written: UInt64, durable: UInt64) {
        let mark = Mark(lsn: lsn, needsDurable: needsDurable, outputMark: connection.outputMark)
        if held[connection.id] == nil && Self.isSafe(mark, written: written, durable: durable) {
            connection.release(upTo: mark.outputMark)
            return
        }
        held[connection.id, default: Held(connection: connection)].marks.append(mark)
    }

    /// Releases every mark whose record is now safe, on every waiting connection.
    func release(written: UInt64, durable: UInt64) {
        for (id, var entry) in held {
            var released: UInt64?
            while entry.head < entry.marks.count, Self.isSafe(entry.marks[entry.head], written: written, durable: durable) {
                released = entry.marks[entry.head].outputMark
                entry.head += 1
            }
            guard let released else { continue }
            entry.connection.release(upTo: released)
            if entry.head == entry.marks.count {
                held[id] = nil
            } else {
                if entry.head > 64 { entry.marks.removeFirst(entry.head); entry.head = 0 }
                held[id] = entry
            }
        }
    }

    /// Drops a closed connection's marks.
    func forget(_ connection: Connection) { held[connection.id] = nil }

    /// Every connection still waiting (to abort them when the journal fails).
    var connections: [Connection] { held.values.map(\.connection) }

    static func isSafe(_ m: Mark, written: UInt64, durable: UInt64) -> Bool {
        m.lsn <= (m.needsDurable ? durable : written)
    }
}
