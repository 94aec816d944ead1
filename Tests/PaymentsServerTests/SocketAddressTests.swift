import Testing
import PaymentsPlatform

@Suite struct SocketAddressTests {
    @Test func ipv4() throws {
        let address = try SocketAddress.hostPort("127.0.0.1:7300")
        #expect(address.description == "127.0.0.1:7300")
        #expect(address.port == 7300)
        #expect(address.isLoopback)
        #expect(try SocketAddress.hostPort("10.1.2.3:80").isLoopback == false)
        #expect(try SocketAddress.hostPort("0.0.0.0:1").isLoopback == false)
        #expect(try SocketAddress.hostPort("localhost:9").description == "127.0.0.1:9")
        #expect(try SocketAddress.hostPort(":9").description == "0.0.0.0:9")
    }

    @Test func ipv6() throws {
        let loop = try SocketAddress.hostPort("[::1]:7300")
        #expect(loop.description == "[::1]:7300")
        #expect(loop.isLoopback)
        #expect(loop.family != (try SocketAddress.hostPort("127.0.0.1:1")).family)
        #expect(try SocketAddress.hostPort("[::]:80").isLoopback == false)
        #expect(try SocketAddress.hostPort("[::ffff:127.0.0.1]:80").isLoopback)
        #expect(try SocketAddress.hostPort("[2001:db8::1]:443").description == "[2001:db8::1]:443")
    }

    @Test func refusals() {
        for text in ["127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:-1", "1.2.3:80", "::1:80",
                     "[::1:80", "example.com:80", "[::1]:x", "127.0.0.1:+80"] {
            #expect(throws: SocketAddress.ParseError.self, "\(text)") { try SocketAddress.hostPort(text) }
        }
    }

    @Test func unixPathLimit() throws {
        let ok = "/" + String(repeating: "p", count: 106)
        #expect(try SocketAddress.unixPath(ok) == .unix(path: ok))
        #expect(throws: SocketAddress.ParseError.self) { try SocketAddress.unixPath(ok + "p") }
        #expect(throws: SocketAddress.ParseError.self) { try SocketAddress.unixPath("") }
        #expect(try SocketAddress.unixPath("@notify") == .abstractUnix(name: "notify"))
        #expect(try SocketAddress.unixPath("./paymentsd.sock").isLoopback)
    }
}
