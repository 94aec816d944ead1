import PaymentsPlatform
import PaymentsPostgres

/// Lets a thread that stops another one break the PostgreSQL connection the other is blocked on,
/// so that a stop never waits for a query in flight: not for the statement timeout, not for a
/// network that went silent (where a `PQcancel` would wait as long, its request being held too).
///
/// `interrupt()` shuts the connection's socket down (`shutdown(2)`, both ways): the call blocked
/// on it returns at once with the connection lost, and its owner closes it as after any loss.
/// The owner registers each connection with `attach` before using it and takes it back with
/// `detach` before closing it, both under this lock, so the socket is never shut down after
/// `PQfinish` freed it (nor a descriptor number reused by someone else).
final class ConnectionInterrupt: @unchecked Sendable {
    private let lock = PthreadMutex()
    private var socket: Int32 = -1
    private var interrupted = false

    /// The owner's connection from now on. False once `interrupt()` came: close it unused.
    func attach(_ connection: PostgresConnection) -> Bool {
        lock.withLock {
            guard !interrupted else { return false }
            socket = connection.socketDescriptor
            return true
        }
    }

    /// The owner is about to close its connection.
    func detach() {
        lock.withLock { socket = -1 }
    }

    /// Breaks the attached connection, and every one attached later.
    func interrupt() {
        lock.withLock {
            interrupted = true
            if socket >= 0 { try? FileDescriptor(rawValue: socket).shutdown(.both) }
        }
    }
}
