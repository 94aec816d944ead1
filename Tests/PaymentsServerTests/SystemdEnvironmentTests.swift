import Testing
import PaymentsPlatform

/// Socket activation hands the LISTEN_* variables to this process only: once taken, they are
/// gone from the environment, so a child never believes the sockets are its own.
/// One test, so nothing else here changes these variables at the same time.
@Suite struct SystemdEnvironmentTests {
    @Test func listenVariablesAreUnsetOnceTaken() throws {
        // Meant for another process: ignored, and still removed.
        Environment.set("LISTEN_PID", "1")
        Environment.set("LISTEN_FDS", "2")
        #expect(try SystemdListenFDs.take().isEmpty)
        #expect(Environment.get("LISTEN_PID") == nil)
        #expect(Environment.get("LISTEN_FDS") == nil)
        // Ours, with no descriptors.
        Environment.set("LISTEN_PID", "\(Environment.processID)")
        Environment.set("LISTEN_FDS", "0")
        Environment.set("LISTEN_FDNAMES", "")
        #expect(try SystemdListenFDs.take().isEmpty)
        #expect(Environment.get("LISTEN_PID") == nil)
        #expect(Environment.get("LISTEN_FDS") == nil)
        #expect(Environment.get("LISTEN_FDNAMES") == nil)
    }
}
