import Glibc
import Testing
import PaymentsPlatform

/// A datagram socket the test binds itself, standing in for systemd's notify socket.
final class NotifyReceiver {
    let fd: Int32
    init(_ address: SocketAddress) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let status = address.withSockaddr { bind(fd, $0, $1) }
        if status != 0 { throw SystemError(call: "bind", subject: address.description, errno: errno) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }
    deinit { close(fd) }

    func receive() -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count < 0 ? "<nothing>" : String(decoding: buffer[..<count], as: UTF8.self)
    }
}

@Suite struct SystemdTests {
    @Test func listenFDsParsing() throws {
        let pid: Int32 = 4242
        #expect(try SystemdListenFDs.parse(listenPID: nil, listenFDs: "2", listenFDNames: nil, ownPID: pid).isEmpty)
        #expect(try SystemdListenFDs.parse(listenPID: "1", listenFDs: "2", listenFDNames: nil, ownPID: pid).isEmpty)
        let two = try SystemdListenFDs.parse(listenPID: "4242", listenFDs: "2", listenFDNames: "line:http", ownPID: pid)
        #expect(two.map(\.descriptor) == [3, 4])
        #expect(two.map(\.name) == ["line", "http"])
        let unnamed = try SystemdListenFDs.parse(listenPID: "4242", listenFDs: "3", listenFDNames: "a", ownPID: pid)
        #expect(unnamed.map(\.name) == ["a", "unknown", "unknown"])
        #expect(throws: SystemdListenFDs.InvalidEnvironment.self) {
            try SystemdListenFDs.parse(listenPID: "4242", listenFDs: "two", listenFDNames: nil, ownPID: pid)
        }
        #expect(throws: SystemdListenFDs.InvalidEnvironment.self) {
            try SystemdListenFDs.parse(listenPID: "x", listenFDs: "1", listenFDNames: nil, ownPID: pid)
        }
    }

    /// What `take()` does to each passed descriptor: learn its kind with getsockname.
    @Test func passedSocketsAreClassifiedByFamily() throws {
        let directory = makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let unix = try Socket.listen(on: .unix(path: directory + "/a.sock"))
        let tcp = try Socket.listen(on: try SocketAddress.hostPort("127.0.0.1:0"))
        defer { try? unix.close(); try? tcp.close() }
        let passedUnix = try SystemdListenFDs.classify(unix, name: "line")
        #expect(passedUnix.address == .unix(path: directory + "/a.sock"))
        #expect(passedUnix.isUnix)
        let passedTCP = try SystemdListenFDs.classify(tcp, name: "http")
        #expect(!passedTCP.isUnix)
        #expect(passedTCP.address?.port ?? 0 > 0)
        #expect(passedTCP.name == "http")
        let connected = try Socket.connect(to: passedTCP.address!)
        defer { try? connected.close() }
        #expect(throws: SystemdListenFDs.InvalidEnvironment.self) { try SystemdListenFDs.classify(connected, name: "x") }
    }

    @Test func notifyToAPathSocket() throws {
        let directory = makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let path = directory + "/notify"
        let receiver = try NotifyReceiver(.unix(path: path))
        let notifier = try SystemdNotifier(socketPath: path)
        defer { notifier.close() }
        try notifier.ready(status: "serving")
        #expect(receiver.receive() == "READY=1\nSTATUS=serving")
        try notifier.watchdog()
        #expect(receiver.receive() == "WATCHDOG=1")
        try notifier.stopping()
        #expect(receiver.receive() == "STOPPING=1")
    }

    @Test func notifyToAnAbstractSocket() throws {
        let name = "payments-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let receiver = try NotifyReceiver(.abstractUnix(name: name))
        let notifier = try SystemdNotifier(socketPath: "@" + name)
        defer { notifier.close() }
        try notifier.status("recovering")
        #expect(receiver.receive() == "STATUS=recovering")
    }

    @Test func notifyWithoutTheVariableDoesNothing() throws {
        // The test process is not under systemd; make sure of it for this check.
        let saved = Environment.get("NOTIFY_SOCKET")
        Environment.unset("NOTIFY_SOCKET")
        defer { if let saved { Environment.set("NOTIFY_SOCKET", saved) } }
        let notifier = try SystemdNotifier.fromEnvironment()
        #expect(!notifier.isEnabled)
        try notifier.ready()
    }

    @Test func watchdogFromItsVariables() {
        #expect(SystemdWatchdog.parse(usec: nil, pid: nil, ownPID: 7) == nil)
        #expect(SystemdWatchdog.parse(usec: "0", pid: nil, ownPID: 7) == nil)
        #expect(SystemdWatchdog.parse(usec: "abc", pid: nil, ownPID: 7) == nil)
        #expect(SystemdWatchdog.parse(usec: "2000000", pid: "8", ownPID: 7) == nil)
        let watchdog = SystemdWatchdog.parse(usec: "2000000", pid: "7", ownPID: 7)
        #expect(watchdog?.pingIntervalNanoseconds == 1_000_000_000)
    }
}

@Suite struct PlatformTests {
    @Test func secondLockOnTheSameFileIsRefused() throws {
        let directory = makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let first = try FileDescriptor.open(directory + "/lock", O_RDWR | O_CREAT)
        let second = try FileDescriptor.open(directory + "/lock", O_RDWR | O_CREAT)
        #expect(try first.tryLockExclusive())
        #expect(try second.tryLockExclusive() == false)
        try first.close()
        #expect(try second.tryLockExclusive())
        try second.close()
    }

    @Test func eventFDCountsAndDrains() throws {
        let event = try EventFD()
        defer { try? event.close() }
        #expect(try event.drain() == 0)
        try event.signal()
        try event.signal(2)
        #expect(try event.drain() == 3)
        #expect(try event.drain() == 0)
    }

    @Test func timerFires() throws {
        let timer = try TimerFD()
        defer { try? timer.close() }
        try timer.arm(initialNanoseconds: 1_000_000)
        var pfd = pollfd(fd: timer.descriptor.rawValue, events: Int16(POLLIN), revents: 0)
        _ = poll(&pfd, 1, 10_000)
        #expect(try timer.drain() == 1)
    }

    @Test func signalsArriveThroughTheSignalFD() throws {
        let signals = try SignalFD(signals: [SIGUSR2])
        defer { try? signals.close() }
        #expect(try signals.take().isEmpty)
        raise(SIGUSR2)
        #expect(try signals.take() == [SIGUSR2])
    }
}
