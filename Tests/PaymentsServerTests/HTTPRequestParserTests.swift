// The request forms of SPEC §7, each parsed whole and in pieces down to single bytes.

@testable import PaymentsServer
import Testing

@Suite struct HTTPRequestParserTests {
    @Test func simpleGet() throws {
        let rs = HTTPTestFeed.requests("GET /clients/42 HTTP/1.1\r\nHost: localhost\r\nAccept: text/csv\r\nUser-Agent: t\r\n\r\n")
        let r = try #require(rs.count == 1 ? rs[0] : nil)
        #expect(r.method == .get)
        #expect(r.pathString == "/clients/42")
        #expect(r.query == nil)
        #expect(r.version == .http11)
        #expect(r.keepAlive)
        #expect(r.body.isEmpty)
        #expect(r.header(.host)?.text == "localhost")
        #expect(r.header(named: "HOST")?.text == "localhost")
        #expect(r.header(named: "aCcEpT")?.text == "text/csv")
        #expect(r.header(named: "User-Agent") == nil)  // not kept
        #expect(r.acceptsCSV)
        #expect(r.headerBytes == 26 + 17 + 18 + 15 + 2)
    }

    @Test func headerNamesAndValuesAreCaseInsensitiveAndTrimmed() throws {
        let rs = HTTPTestFeed.requests(
            "POST /transactions HTTP/1.1\r\nhOsT:\t h \t\r\nCONTENT-TYPE:  Application/X-NDJSON; charset=utf-8 \r\ncontent-LENGTH: 2\r\n\r\nab")
        let r = try #require(rs.first)
        #expect(r.header(.host)?.text == "h")
        #expect(r.contentTypeIs("application/x-ndjson"))
        #expect(!r.contentTypeIs("text/csv"))
        #expect(r.contentLength == 2)
        #expect(r.bodyText == "ab")
    }

    @Test func queryIsSplitFromPath() throws {
        let rs = HTTPTestFeed.requests(
            "GET /clients?x=1&y=%20 HTTP/1.1\r\nHost: h\r\n\r\nGET /a? HTTP/1.1\r\nHost: h\r\n\r\nGET /b?c?d HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(rs.map(\.pathString) == ["/clients", "/a", "/b"])
        #expect(rs.map(\.queryString) == ["x=1&y=%20", "", "c?d"])
    }

    @Test func absoluteFormAndAsteriskTargets() {
        let rs = HTTPTestFeed.requests(
            "GET http://example.com:7380/healthz?q HTTP/1.1\r\nHost: h\r\n\r\n"
                + "GET HTTP://example.com HTTP/1.1\r\nHost: h\r\n\r\n"
                + "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(rs.map(\.pathString) == ["/healthz", "/", "*"])
        #expect(rs.map(\.queryString) == ["q", nil, nil])
        #expect(rs.map(\.method) == [.get, .get, .options])
    }

    @Test func methodsAreRecognisedCaseSensitively() {
        let methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT", "get", "BREW"]
        let input = methods.map { "\($0) / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n" }.joined()
        let rs = HTTPTestFeed.requests(input)
        #expect(rs.map(\.method) == [.get, .head, .post, .put, .delete, .options, .patch, .trace, .connect, .other, .other])
    }

    @Test func contentLengthBody() throws {
        let rs = HTTPTestFeed.requests(
            "POST /transactions HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 52\r\n\r\n"
                + #"{"type":"deposit","client":1,"tx":7,"amount":"2.5"}"# + "\n")
        let r = try #require(rs.first)
        #expect(r.method == .post)
        #expect(r.bodyText == #"{"type":"deposit","client":1,"tx":7,"amount":"2.5"}"# + "\n")
        #expect(r.contentTypeIs("application/json"))
        #expect(!r.isChunked)
    }

    @Test func repeatedIdenticalContentLengthIsAccepted() {
        let rs = HTTPTestFeed.requests("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc")
        #expect(rs.map(\.bodyText) == ["abc"])
    }

    @Test func pipelinedRequestsComeOutInOrder() {
        let input = "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n"
            + "POST /transactions HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
            + "POST /transactions HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            + "GET /metrics HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        let rs = HTTPTestFeed.requests(input)
        #expect(rs.map(\.pathString) == ["/healthz", "/transactions", "/transactions", "/metrics"])
        #expect(rs.map(\.bodyText) == ["", "hello", "abc", ""])
        #expect(rs.map(\.keepAlive) == [true, true, true, false])
    }

    @Test func manyPipelinedGetsInOneRead() {
        let one = "GET /clients/7 HTTP/1.1\r\nHost: h\r\n\r\n"
        let rs = HTTPTestFeed.requests(String(repeating: one, count: 500))
        #expect(rs.count == 500)
        #expect(rs.allSatisfy { $0.pathString == "/clients/7" })
    }

    @Test func chunkedBodyWithExtensionsAndTrailers() throws {
        let input = "POST /transactions HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n"
            + "6 ; a=\"b c\";d\r\n world\r\n"
            + "A\r\n0123456789\r\n"
            + "0;last\r\nX-Checksum: abc\r\nExpires: never\r\n\r\n"
            + "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n"
        let rs = HTTPTestFeed.requests(input)
        #expect(rs.count == 2)
        let r = try #require(rs.first)
        #expect(r.isChunked)
        #expect(r.contentLength == nil)
        #expect(r.bodyText == "hello world0123456789")
        #expect(rs.last?.pathString == "/healthz")
    }

    @Test func chunkedWithoutTrailersAndLowercaseHex() {
        let rs = HTTPTestFeed.requests(
            "PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1f\r\n" + String(repeating: "z", count: 31) + "\r\n0\r\n\r\n")
        #expect(rs.map(\.body.count) == [31])
    }

    @Test func leadingEmptyLinesAreSkipped() {
        let rs = HTTPTestFeed.requests("\r\n\r\nGET /healthz HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(rs.map(\.pathString) == ["/healthz"])
    }

    @Test func bareLineFeedsAreAccepted() {
        let rs = HTTPTestFeed.requests("POST /t HTTP/1.1\nHost: h\nContent-Length: 2\n\nok")
        #expect(rs.map(\.bodyText) == ["ok"])
    }

    @Test func hostRequirementCanBeSwitchedOff() {
        var limits = HTTPParserLimits()
        limits.requireHostInHTTP11 = false
        #expect(HTTPTestFeed.requests("GET /healthz HTTP/1.1\r\n\r\n", limits: limits).count == 1)
        #expect(HTTPTestFeed.errorStatus("GET /healthz HTTP/1.1\r\n\r\n") == .badRequest)
        #expect(HTTPTestFeed.requests("GET /healthz HTTP/1.0\r\n\r\n").count == 1)  // 1.0 needs no Host
    }
}
