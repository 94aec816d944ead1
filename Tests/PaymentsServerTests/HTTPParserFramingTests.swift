// Keep-alive, 100-continue, the limits of SPEC §7 and refusal of malformed input.

@testable import PaymentsServer
import Testing

@Suite struct HTTPParserFramingTests {
    // MARK: Keep-alive

    @Test(arguments: [
        ("HTTP/1.1", "", true),
        ("HTTP/1.1", "Connection: close\r\n", false),
        ("HTTP/1.1", "Connection: Keep-Alive, Upgrade\r\n", true),
        ("HTTP/1.1", "Connection: upgrade, CLOSE\r\n", false),
        ("HTTP/1.0", "", false),
        ("HTTP/1.0", "Connection: keep-alive\r\n", true),
        ("HTTP/1.0", "Connection: Keep-Alive\r\n", true),
        ("HTTP/1.0", "Connection: keep-alive, close\r\n", false),
    ])
    func keepAlive(version: String, header: String, expected: Bool) {
        let rs = HTTPTestFeed.requests("GET / \(version)\r\nHost: h\r\n\(header)\r\n")
        #expect(rs.map(\.keepAlive) == [expected])
        #expect(rs.map(\.version) == [version == "HTTP/1.0" ? .http10 : .http11])
    }

    // MARK: 100-continue

    @Test func continueIsSignalledOnceWhenHeadArrivesAlone() {
        var parser = HTTPRequestParser()
        parser.feed(Array("POST /transactions HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n".utf8))
        #expect(parser.next() == .sendContinue)
        #expect(parser.next() == .needMoreData)
        #expect(parser.next() == .needMoreData)
        parser.feed(Array("da".utf8))
        #expect(parser.next() == .needMoreData)
        parser.feed(Array("ta".utf8))
        guard case .request(let r) = parser.next() else {
            Issue.record("no request")
            return
        }
        #expect(r.expectsContinue)
        #expect(r.bodyText == "data")
        #expect(parser.next() == .needMoreData)
    }

    @Test func continueByteByByteComesExactlyOnceBeforeTheBody() {
        let input = Array("POST /t HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        let events = HTTPTestFeed.events(input + Array("2\r\nok\r\n0\r\n\r\n".utf8), pieceSize: 1)
        #expect(events.first == .sendContinue)
        #expect(events.filter { $0 == .sendContinue }.count == 1)
        #expect(events.count == 2)
    }

    @Test func noContinueWhenBodyAlreadyArrivedOrNone() {
        let withBody = "POST /t HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok"
        #expect(!HTTPTestFeed.events(Array(withBody.utf8)).contains(.sendContinue))
        let empty = "POST /t HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n"
        #expect(!HTTPTestFeed.events(Array(empty.utf8), pieceSize: 1).contains(.sendContinue))
        let http10 = "POST /t HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
        let events = HTTPTestFeed.events(Array(http10.utf8))
        #expect(!events.contains(.sendContinue))
        #expect(HTTPTestFeed.events(Array((http10 + "ok").utf8)).count == 1)
    }

    @Test func continueIsNotSentForARefusedBody() {
        let input = "POST /t HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 99999999999\r\n\r\n"
        #expect(HTTPTestFeed.events(Array(input.utf8)) == [.error(.contentTooLarge)])
    }

    // MARK: Limits

    /// A GET whose head is exactly `total` bytes long.
    private func getWithHeadBytes(_ total: Int) -> String {
        let fixed = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: \r\n\r\n".utf8.count
        return "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: " + String(repeating: "p", count: total - fixed) + "\r\n\r\n"
    }

    @Test func headerSectionAtTheLimitIsAcceptedOneOverIs431() {
        let limit = HTTPParserLimits.defaultMaxHeaderBytes
        let rs = HTTPTestFeed.requests(getWithHeadBytes(limit))
        #expect(rs.map(\.headerBytes) == [limit])
        #expect(HTTPTestFeed.errorStatus(getWithHeadBytes(limit + 1)) == .requestHeaderFieldsTooLarge)
    }

    @Test func manySmallHeadersOverTheLimitAre431() {
        let headers = String(repeating: "X-A: b\r\n", count: 2000)
        #expect(HTTPTestFeed.errorStatus("GET / HTTP/1.1\r\nHost: h\r\n\(headers)\r\n") == .requestHeaderFieldsTooLarge)
    }

    @Test func endlessHeaderLineFailsWithoutBufferingIt() {
        var parser = HTTPRequestParser()
        parser.feed(Array("GET / HTTP/1.1\r\nX: ".utf8))
        var fed = 0
        var status: HTTPStatus?
        while status == nil, fed < 1 << 20 {
            parser.feed([UInt8](repeating: 0x61, count: 1000))
            fed += 1000
            #expect(parser.bufferedBytes <= HTTPParserLimits.defaultMaxHeaderBytes + 1000)
            if case .error(let s) = parser.next() { status = s }
        }
        #expect(status == .requestHeaderFieldsTooLarge)
        #expect(fed <= HTTPParserLimits.defaultMaxHeaderBytes + 1000)
        #expect(parser.bufferedBytes == 0)
    }

    @Test func bodyBytesDoNotStayBuffered() {
        var parser = HTTPRequestParser()
        parser.feed(Array("POST /t HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n\r\n".utf8))
        #expect(parser.next() == .needMoreData)
        let piece = [UInt8](repeating: 0x41, count: 64 * 1024)
        for _ in 0..<15 {
            parser.feed(piece)
            #expect(parser.next() == .needMoreData)
            #expect(parser.bufferedBytes == 0)
            #expect(parser.hasPartialRequest)
        }
        parser.feed(piece + Array("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        guard case .request(let r) = parser.next() else {
            Issue.record("no request")
            return
        }
        #expect(r.body.count == 1_048_576)
        guard case .request(let g) = parser.next() else {
            Issue.record("no pipelined GET")
            return
        }
        #expect(g.method == .get)
        #expect(parser.next() == .needMoreData)
    }

    @Test func endlessLeadingEmptyLinesAre431() {
        #expect(HTTPTestFeed.errorStatus(String(repeating: "\r\n", count: 5000)) == .requestHeaderFieldsTooLarge)
    }

    @Test func trailersShareTheHeaderLimit() {
        let trailers = String(repeating: "T: x\r\n", count: 2000)
        let input = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\(trailers)\r\n"
        #expect(HTTPTestFeed.errorStatus(input) == .requestHeaderFieldsTooLarge)
    }

    @Test func bodyLimits() {
        let limits = HTTPParserLimits(maxBodyBytes: 10)
        #expect(HTTPTestFeed.requests("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", limits: limits).count == 1)
        #expect(HTTPTestFeed.errorStatus("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", limits: limits) == .contentTooLarge)
        let chunked = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(HTTPTestFeed.requests(chunked + "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", limits: limits).count == 1)
        #expect(HTTPTestFeed.errorStatus(chunked + "5\r\n01234\r\n6\r\n", limits: limits) == .contentTooLarge)
        #expect(HTTPTestFeed.errorStatus(chunked + "fffffffffffffffffffffffffff\r\n") == .contentTooLarge)
        #expect(HTTPTestFeed.errorStatus("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n") == .contentTooLarge)
    }

    @Test func defaultBodyLimitIs16MiB() {
        let limit = 16 * 1024 * 1024
        #expect(HTTPParserLimits().maxBodyBytes == limit)
        #expect(HTTPTestFeed.errorStatus("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \(limit + 1)\r\n\r\n") == .contentTooLarge)
        let events = HTTPTestFeed.events(Array("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \(limit)\r\n\r\n".utf8))
        #expect(events.isEmpty)  // accepted, waiting for the body
    }

    @Test(arguments: ["POST", "PUT"])
    func bodyWithoutLengthIs411(method: String) {
        #expect(HTTPTestFeed.errorStatus("\(method) /transactions HTTP/1.1\r\nHost: h\r\n\r\n") == .lengthRequired)
    }

    @Test(arguments: ["HTTP/2.0", "HTTP/2", "HTTP/3", "HTTP/1.2", "HTTP/0.9", "HTTP/10.0"])
    func unknownVersionIs505(version: String) {
        #expect(HTTPTestFeed.errorStatus("GET / \(version)\r\nHost: h\r\n\r\n") == .httpVersionNotSupported)
    }

    // MARK: Refusals

    @Test(arguments: [
        "GET\r\n\r\n",
        "GET /\r\n\r\n",  // HTTP/0.9
        "GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1 \r\nHost: h\r\n\r\n",
        " GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1 extra\r\nHost: h\r\n\r\n",
        "GET / http/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1x\r\nHost: h\r\n\r\n",
        "GET / HTTP/\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.\r\nHost: h\r\n\r\n",
        "GET / FTP/1.1\r\nHost: h\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET clients HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET ftp://x/ HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET http:// HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /a\u{7F}b HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",  // obs-fold
        "GET / HTTP/1.1\r\n Host: h\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\u{01}b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.1\r\nX: h\r\n\r\n",  // no Host
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1a\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3 x\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nnot a trailer\r\n\r\n",
    ])
    func malformedIs400(input: String) {
        #expect(HTTPTestFeed.errorStatus(input) == .badRequest)
    }

    @Test func longChunkSizeLineIs400() {
        let ext = String(repeating: "x", count: HTTPParserLimits.maxChunkSizeLineBytes)
        #expect(HTTPTestFeed.errorStatus("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;\(ext)\r\n") == .badRequest)
    }

    @Test func afterAnErrorTheParserStaysDead() {
        var parser = HTTPRequestParser()
        parser.feed(Array("BAD\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        #expect(parser.next() == .error(.badRequest))
        #expect(parser.failure == .badRequest)
        parser.feed(Array("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
        #expect(parser.next() == .error(.badRequest))
        #expect(parser.bufferedBytes == 0)
        #expect(!parser.hasPartialRequest)
    }

    @Test func requestsBeforeAnErrorAreStillDelivered() {
        let events = HTTPTestFeed.consistentEvents(Array("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/9.9\r\n\r\n".utf8))
        #expect(events.count == 2)
        #expect(events.last == .error(.httpVersionNotSupported))
    }

    @Test func partialRequestTracking() {
        var parser = HTTPRequestParser()
        #expect(!parser.hasPartialRequest)
        parser.feed(Array("GET / HT".utf8))
        #expect(parser.next() == .needMoreData)
        #expect(parser.hasPartialRequest)
        parser.feed(Array("TP/1.1\r\nHost: h\r\n\r\n".utf8))
        guard case .request = parser.next() else {
            Issue.record("no request")
            return
        }
        #expect(!parser.hasPartialRequest)
        #expect(parser.next() == .needMoreData)
    }
}
