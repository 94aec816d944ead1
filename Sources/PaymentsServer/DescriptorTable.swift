import PaymentsPlatform

/// What a registered descriptor is, found from the epoll token in O(1).
enum Registration {
    case listener(Listener)
    case connection(Connection)
    case watch((Epoll.Events) -> Void)
}

/// Registrations indexed by descriptor number. A token is the descriptor number plus a
/// generation in the high 32 bits: an event still queued for a descriptor closed earlier in
/// the same batch (whose number was reused by a new connection) finds a stale generation and
/// is dropped instead of reaching the newcomer.
struct DescriptorTable {
    private var entries: [Registration?] = []
    private var generations: [UInt32] = []
    private var connectionIndex: [UInt64: Connection] = [:]

    mutating func insert(_ fd: FileDescriptor, _ registration: Registration) -> UInt64 {
        let slot = Int(fd.rawValue)
        if slot >= entries.count {
            let grow = max(slot + 1, entries.count * 2) - entries.count
            entries.append(contentsOf: repeatElement(nil, count: grow))
            generations.append(contentsOf: repeatElement(0, count: grow))
        }
        generations[slot] &+= 1
        entries[slot] = registration
        if case .connection(let connection) = registration { connectionIndex[connection.id] = connection }
        return UInt64(generations[slot]) << 32 | UInt64(slot)
    }

    mutating func remove(_ fd: FileDescriptor) {
        let slot = Int(fd.rawValue)
        guard slot < entries.count else { return }
        if case .connection(let connection)? = entries[slot] { connectionIndex[connection.id] = nil }
        entries[slot] = nil
        generations[slot] &+= 1
    }

    func contains(_ fd: FileDescriptor) -> Bool {
        let slot = Int(fd.rawValue)
        return slot < entries.count && entries[slot] != nil
    }

    func lookup(_ token: UInt64) -> Registration? {
        let slot = Int(token & 0xFFFF_FFFF)
        guard slot < entries.count, generations[slot] == UInt32(token >> 32) else { return nil }
        return entries[slot]
    }

    /// Open connections in the order they were accepted.
    var connections: [Connection] { connectionIndex.values.sorted { $0.id < $1.id } }
}
