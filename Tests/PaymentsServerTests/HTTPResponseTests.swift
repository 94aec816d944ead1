// Response rendering: exact bytes, since clients parse them.

@testable import PaymentsServer
import Testing

@Suite struct HTTPResponseTests {
    private func render(_ body: (inout [UInt8]) -> Void) -> String {
        var out: [UInt8] = Array("previous".utf8)  // rendering appends, never overwrites
        body(&out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.hasPrefix("previous"))
        return String(text.dropFirst(8))
    }

    @Test func okWithJSONBody() {
        let text = render { HTTPResponse.append(.ok, contentType: .json, body: Array(#"{"result":"ok"}"#.utf8), close: false, to: &$0) }
        #expect(text == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"result\":\"ok\"}")
    }

    @Test func closingAndHTTP10KeepAlive() {
        let closing = render { HTTPResponse.append(.ok, contentType: .plainText, body: Array("OK".utf8), close: true, to: &$0) }
        #expect(closing == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK")
        let kept10 = render { HTTPResponse.append(.ok, contentType: nil, body: [UInt8](), close: false, requestVersion: .http10, to: &$0) }
        #expect(kept10 == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n")
    }

    @Test func headOmitsBodyButKeepsLength() {
        let text = render { HTTPResponse.append(.ok, contentType: .csv, body: Array("a,b\n".utf8), close: false, omitBody: true, to: &$0) }
        #expect(text == "HTTP/1.1 200 OK\r\nContent-Type: text/csv; charset=utf-8\r\nContent-Length: 4\r\n\r\n")
    }

    @Test func methodNotAllowedCarriesAllow() {
        let text = render { HTTPResponse.appendError(.methodNotAllowed, message: "method not allowed", close: false, allow: "GET, HEAD", to: &$0) }
        #expect(text == "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\nContent-Length: 30\r\nAllow: GET, HEAD\r\n\r\n{\"error\":\"method not allowed\"}")
    }

    @Test func errorBodyIsEscapedAndLengthMatches() {
        let message = "bad \"amount\" \\ here\nnext\t\u{01}\u{1F} é"
        let text = render { HTTPResponse.appendError(.badRequest, message: message, close: true, extraHeaders: Array("Date: x\r\n".utf8), to: &$0) }
        let body = #"{"error":"bad \"amount\" \\ here\nnext\t\u0001\u001f é"}"#
        #expect(text == "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\nDate: x\r\n\r\n" + body)
    }

    @Test func everyStatusHasAStatusLine() {
        for status in HTTPStatus.allCases {
            let line = status.statusLine.description
            #expect(line.hasPrefix("HTTP/1.1 \(status.rawValue) "))
            #expect(line.hasSuffix("\r\n"))
            #expect(line == "HTTP/1.1 \(status.rawValue) \(status.reasonPhrase)\r\n")
            #expect(!status.reasonPhrase.isEmpty)
            #expect(!HTTPResponse.defaultMessage(for: status).isEmpty)
        }
        #expect(HTTPStatus.allCases.map(\.rawValue) == [100, 200, 400, 401, 403, 404, 405, 408, 410, 411, 413, 422, 431, 500, 503, 505])
        #expect(HTTPStatus.requestHeaderFieldsTooLarge.reasonPhrase == "Request Header Fields Too Large")
    }

    @Test func continueBytes() {
        #expect(String(decoding: HTTPResponse.continueBytes, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
        #expect(render { HTTPResponse.appendContinue(to: &$0) } == "HTTP/1.1 100 Continue\r\n\r\n")
    }

    @Test func decimalRendering() {
        for value in [0, 7, 10, 99, 12345, Int.max, -1, Int.min] {
            var out: [UInt8] = []
            HTTPASCII.appendDecimal(value, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == String(value))
        }
        var out: [UInt8] = []
        HTTPASCII.appendDecimal(UInt64.max, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "18446744073709551615")
    }
}
