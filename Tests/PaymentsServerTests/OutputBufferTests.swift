import Glibc
import Testing
import PaymentsPlatform
import PaymentsServer

@Suite struct OutputBufferTests {
    /// A connected pair of Unix stream sockets: what one writes, the other reads. A blocking
    /// read or write gives up after 20 s (the test fails instead of hanging).
    func socketPair() -> (FileDescriptor, FileDescriptor) {
        var fds: [Int32] = [0, 0]
        precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        for fd in fds {
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
    }

    func readAvailable(_ fd: FileDescriptor) throws -> String {
        try fd.setNonBlocking()
        var bytes = [UInt8](repeating: 0, count: 4096)
        do {
            let count = try bytes.withUnsafeMutableBytes { raw throws(SystemError) in try fd.read(into: raw) }
            return String(decoding: bytes[..<count], as: UTF8.self)
        } catch let error as SystemError where error.isWouldBlock {
            return ""
        }
    }

    /// A stream renders with whatever room is left, none included, and into a buffer whose
    /// memory a flush gave back: a daemon died of that (`append(atMost: 0)` on no storage).
    @Test func renderingWithNoRoomAndNoStorage() throws {
        let (a, b) = socketPair()
        defer { try? a.close(); try? b.close() }
        let buffer = OutputBuffer()
        buffer.retainedCapacity = 0
        var called = 0
        buffer.append(atMost: 0) { _ in called += 1; return 0 }
        #expect(called == 1 && buffer.pendingBytes == 0)
        buffer.append(atMost: 8) { p in
            for (i, c) in "line\n".utf8.enumerated() { p[i] = c }
            return 5
        }
        buffer.releaseAll()
        #expect(try buffer.flush(to: a) == .flushed)
        #expect(try readAvailable(b) == "line\n")
        // Everything written and the memory given back (retainedCapacity 0): no room again.
        buffer.append(atMost: 0) { _ in 0 }
        buffer.append(atMost: 3) { p in p[0] = 0x6F; p[1] = 0x6B; p[2] = 0x0A; return 3 }
        buffer.releaseAll()
        #expect(try buffer.flush(to: a) == .flushed)
        #expect(try readAvailable(b) == "ok\n")
    }

    @Test func onlyReleasedBytesAreWritten() throws {
        let (writer, reader) = socketPair()
        defer { try? writer.close(); try? reader.close() }
        let output = OutputBuffer(highWaterBytes: 10, lowWaterBytes: 4)
        output.append("OK\n")
        let first = output.appendedBytes
        output.append("PONG\n")
        #expect(output.pendingBytes == 8)
        #expect(try output.flush(to: writer) == .flushed)
        #expect(try readAvailable(reader) == "")
        output.release(upTo: first)
        #expect(try output.flush(to: writer) == .flushed)
        #expect(try readAvailable(reader) == "OK\n")
        output.release(upTo: 1)  // marks never move back
        output.release(upTo: 1_000)  // and stop at what was appended
        #expect(output.flushableBytes == 5)
        #expect(try output.flush(to: writer) == .flushed)
        #expect(try readAvailable(reader) == "PONG\n")
        #expect(output.pendingBytes == 0)
        #expect(output.writtenBytes == 8)
    }

    @Test func waterMarks() {
        let output = OutputBuffer(highWaterBytes: 10, lowWaterBytes: 4)
        output.append(Array(repeating: 0x41, count: 11))
        #expect(output.isAboveHighWater)
        #expect(!output.isAtOrBelowLowWater)
    }

    @Test func aFullSocketWouldBlockAndTheRestFollowsLater() throws {
        let (writer, reader) = socketPair()
        defer { try? writer.close(); try? reader.close() }
        try writer.setNonBlocking()
        let output = OutputBuffer()
        let big = [UInt8](repeating: 0x62, count: 8 << 20)
        output.append(big)
        output.releaseAll()
        #expect(try output.flush(to: writer) == .wouldBlock)
        let stuck = output.pendingBytes
        #expect(stuck > 0)
        var drained = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while drained < big.count {
            if output.pendingBytes > 0 { _ = try output.flush(to: writer) }
            drained += try chunk.withUnsafeMutableBytes { raw throws(SystemError) in try reader.read(into: raw) }
        }
        #expect(drained == big.count)
        #expect(output.pendingBytes == 0)
    }
}
