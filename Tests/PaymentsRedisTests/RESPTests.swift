import PaymentsPlatform
import PaymentsRedis
import Testing

@Suite struct RESPReaderTests {
    static let replies = Array(
        "+OK\r\n-ERR wrong number of arguments\r\n:-42\r\n$5\r\nhe\r\nl\r\n$-1\r\n*-1\r\n*3\r\n+QUEUED\r\n*2\r\n:1\r\n$0\r\n\r\n$-1\r\n*0\r\n".utf8)
    static let expected: [RESPValue] = [
        .simple("OK"), .error("ERR wrong number of arguments"), .integer(-42), .bulk(Array("he\r\nl".utf8)),
        .bulk(nil), .array(nil), .array([.simple("QUEUED"), .array([.integer(1), .bulk([])]), .bulk(nil)]), .array([]),
    ]

    /// The same replies whatever the chunking: one byte at a time, in pieces, whole.
    @Test func parsesInAnyChunking() throws {
        for size in [1, 2, 3, 5, 11, Self.replies.count] {
            var reader = RESPReader()
            var values: [RESPValue] = []
            var index = 0
            while index < Self.replies.count {
                reader.append(Self.replies[index..<min(index + size, Self.replies.count)])
                index += size
                while let value = try reader.next() { values.append(value) }
            }
            #expect(values == Self.expected, "chunks of \(size)")
            #expect(reader.pendingBytes == 0)
        }
    }

    @Test(arguments: ["HTTP/1.1 400 Bad Request\r\n", ":12a\r\n", "$3\r\nabcd\r\n", ":1\n", "$-2\r\n", ":99999999999999999999\r\n"])
    func refusesWhatIsNotRESP(_ text: String) {
        var reader = RESPReader()
        reader.append(Array(text.utf8))
        #expect(throws: RESPProtocolError.self) { _ = try reader.next() }
    }

    @Test func encodesCommands() {
        #expect(String(decoding: RESPCommand.encode(["SET", "k", "vé"]), as: UTF8.self) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nvé\r\n")
        var out: [UInt8] = []
        RESPCommand.appendHeader(2, to: &out)
        RESPCommand.appendArgument(decimal: 0, to: &out)
        RESPCommand.appendArgument(decimal: UInt64.max, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "*2\r\n$1\r\n0\r\n$20\r\n18446744073709551615\r\n")
    }
}

@Suite struct RedisURLTests {
    @Test func parsesTheForms() throws {
        let plain = try RedisURL("redis://127.0.0.1:6380")
        #expect(plain.address == (try SocketAddress.hostPort("127.0.0.1:6380")) && plain.database == 0 && plain.password == nil)
        let full = try RedisURL("redis://user:p%40ss@localhost/3")
        #expect(full.user == "user" && full.password == "p@ss" && full.database == 3)
        #expect(full.address == (try SocketAddress.hostPort("127.0.0.1:6379")))
        #expect(full.description == "redis://user:***@127.0.0.1:6379/3")
        let passwordOnly = try RedisURL("REDIS://:secret@[::1]:7000/")
        #expect(passwordOnly.user == nil && passwordOnly.password == "secret")
    }

    @Test(arguments: ["http://127.0.0.1:6379", "redis://", "redis://127.0.0.1:6379/x", "redis://example.com:6379", "redis://1.2.3.4:99999"])
    func refusesOthers(_ text: String) {
        #expect(throws: RedisURL.ParseError.self) { try RedisURL(text) }
    }
}
