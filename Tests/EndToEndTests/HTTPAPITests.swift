// The HTTP API of SPEC §7 against the real `paymentsd`, over real sockets: every route and
// status with `curl`, the framing corners with a raw socket, the original service's tests
// replayed, durability across SIGKILL, and the metrics page. Helpers: HTTPTestSupport.swift.

import Foundation
import Testing

@Suite struct HTTPAPITests {
    // MARK: Routes and statuses, with curl

    @Test func healthzAndHead() throws {
        let d = try HTTPTestDaemon()
        let r = try d.request("GET", "/healthz")
        #expect(r.status == 200)
        #expect(r.text == "OK")
        #expect(r.hasCurrentDate, "\(r.header("date") ?? "no Date header")")
        let head = try d.request("HEAD", "/healthz")
        #expect(head.status == 200)
        #expect(head.header("content-length") == "2", "HEAD gives the length the GET body has")
        #expect(head.body.isEmpty)
    }

    @Test func accountsTransactionsAndTheirNotFounds() throws {
        let d = try HTTPTestDaemon()
        // No accounts yet: an empty array, and the CSV is the header alone.
        #expect(try d.request("GET", "/clients").text == "[]")
        #expect(try d.request("GET", "/clients", headers: ["Accept: text/csv"]).text == "client,available,held,total,locked\n")

        for (body, status) in [
            (#"{"type":"deposit","client":2,"tx":1,"amount":"2.5"}"#, 200),
            (#"{"type":"deposit","client":1,"tx":2,"amount":1.25}"#, 200),
            (#"{"type":"withdrawal","client":1,"tx":3,"amount":0.25}"#, 200),
            (#"{"type":"dispute","client":2,"tx":1,"amount":0.0}"#, 200),
        ] {
            #expect(try d.request("POST", "/transactions", headers: ["Content-Type: application/json"], body: Data(body.utf8)).status == status, "\(body)")
        }

        let all = try d.request("GET", "/clients")
        #expect(all.status == 200)
        #expect(all.header("content-type")?.hasPrefix("application/json") == true)
        #expect(all.text == #"[{"client":1,"available":"1.0000","held":"0.0000","total":"1.0000","locked":false},"#
            + #"{"client":2,"available":"0.0000","held":"2.5000","total":"2.5000","locked":false}]"#)
        let csv = try d.request("GET", "/clients", headers: ["Accept: text/csv"])
        #expect(csv.status == 200)
        #expect(csv.header("content-type")?.hasPrefix("text/csv") == true)
        #expect(csv.text == "client,available,held,total,locked\n1,1.0000,0.0000,1.0000,false\n2,0.0000,2.5000,2.5000,false\n")

        let one = try d.request("GET", "/clients/1")
        #expect(one.status == 200)
        #expect(one.text == #"{"client":1,"available":"1.0000","held":"0.0000","total":"1.0000","locked":false}"#)
        let missing = try d.request("GET", "/clients/3")
        #expect(missing.status == 404)
        #expect(missing.isOneLineJSONError, "\(missing.text)")
        #expect(try d.request("GET", "/clients/65536").status == 404, "a client id out of range is an unknown id")

        let history = try d.request("GET", "/clients/1/transactions")
        #expect(history.status == 200)
        let entries = try #require(try history.json() as? [[String: Any]])
        #expect(entries.count == 2)
        #expect(entries.first?["type"] as? String == "deposit")
        #expect(entries.first?["tx"] as? Int == 2)
        #expect(entries.first?["amount"] as? String == "1.2500")
        #expect(entries.first?["outcome"] as? String == "ok")
        #expect(entries.last?["type"] as? String == "withdrawal")
        #expect(try d.request("GET", "/clients/7/transactions").text == "[]", "a client with no transactions has []")

        let tx = try d.request("GET", "/transactions/1")
        #expect(tx.status == 200)
        #expect(tx.text == #"{"type":"deposit","client":2,"tx":1,"amount":"2.5000","state":"disputed"}"#)
        let unknownTx = try d.request("GET", "/transactions/99")
        #expect(unknownTx.status == 404)
        #expect(unknownTx.isOneLineJSONError)

        // HEAD on every GET route: the GET's headers and length, no body.
        for path in ["/clients", "/clients/1", "/clients/1/transactions", "/transactions/1", "/metrics"] {
            let get = try d.request("GET", path), head = try d.request("HEAD", path)
            #expect(head.status == 200, "\(path)")
            #expect(head.body.isEmpty, "\(path)")
            if path != "/metrics" { #expect(head.header("content-length") == "\(get.body.count)", "\(path)") }
        }
        #expect(try d.request("HEAD", "/clients/3").status == 404)
    }

    @Test func postOneJSONTransaction() throws {
        let d = try HTTPTestDaemon()
        func post(_ body: String) throws -> HTTPTestResponse {
            try d.request("POST", "/transactions", headers: ["Content-Type: application/json"], body: Data(body.utf8))
        }
        let ok = try post(#"{"type":"deposit","client":1,"tx":1,"amount":1.0}"#)
        #expect(ok.status == 200)
        #expect(ok.text == #"{"result":"ok"}"#)
        #expect(try post(#"{"amount":"0.0001","tx":2,"client":1,"type":"deposit","note":"keys in any order"}"#).status == 200)

        let poor = try post(#"{"type":"withdrawal","client":1,"tx":3,"amount":"5"}"#)
        #expect(poor.status == 422)
        #expect(poor.text == #"{"result":"rejected","reason":"insufficient funds"}"#)
        let duplicate = try post(#"{"type":"deposit","client":1,"tx":1,"amount":1.0}"#)
        #expect(duplicate.status == 422)
        #expect(try duplicate.jsonObject()["reason"] as? String == "duplicate")

        for bad in [
            #"{"type":"deposit","client":1,"tx":4,"amount":-1}"#,
            #"{"type":"deposit","client":1,"tx":5,"amount":1e2}"#,
            #"{"type":"deposit","client":1,"tx":6,"amount":"1.00001"}"#,
            #"{"type":"deposit","client":70000,"tx":7,"amount":1}"#,
            #"{"type":"deposit","client":1,"tx":8}"#,
            #"{"type":"deposit","#,
            "",
        ] {
            let r = try post(bad)
            #expect(r.status == 400, "\(bad) -> \(r.status) \(r.text)")
            #expect(r.isOneLineJSONError, "\(bad) -> \(r.text)")
        }
        // Exact decimals from a number: 0.1 + 0.2 is 0.3000, not a float's approximation.
        #expect(try post(#"{"type":"deposit","client":2,"tx":10,"amount":0.1}"#).status == 200)
        #expect(try post(#"{"type":"deposit","client":2,"tx":11,"amount":0.2}"#).status == 200)
        #expect(try d.request("GET", "/clients/2").text.contains(#""total":"0.3000""#))
        #expect(try d.request("GET", "/clients/1").text.contains(#""available":"1.0001""#), "refused lines changed nothing")
    }

    @Test func postManyLinesAsCSVAndNDJSON() throws {
        let d = try HTTPTestDaemon()
        let csv = "type,client,tx,amount\ndeposit,1,1,10\r\nwithdrawal,1,2,20\n\nbogus,1,3,1\ndeposit,1,1,5\ndeposit, 2 ,4, 1.5"
        let r = try d.request("POST", "/transactions", headers: ["Content-Type: text/csv"], body: Data(csv.utf8))
        #expect(r.status == 200)
        let summary = try r.jsonObject()
        #expect(summary["applied"] as? Int == 2)
        #expect(summary["rejected"] as? Int == 2)
        #expect(summary["malformed"] as? Int == 1)
        let errors = try #require(summary["errors"] as? [[String: Any]])
        #expect(errors.map { $0["line"] as? Int } == [3, 5, 6], "errors by line number, header and blank lines counted")
        #expect((errors[0]["reply"] as? String)?.hasPrefix("REJECTED insufficient") == true)
        #expect((errors[1]["reply"] as? String)?.hasPrefix("ERR") == true)
        #expect(errors[2]["reply"] as? String == "REJECTED duplicate")

        let ndjson = """
            {"type":"deposit","client":3,"tx":10,"amount":1.0}
            {"type":"deposit","client":3,"tx":11,"amount":"2"}
            {"type":"dispute","client":3,"tx":10,"amount":0.0}
            {"type":"dispute","client":3,"tx":99}
            GET 3
            {"type":"deposit","client":3,"tx":12,"amount":"x"}

            """
        let n = try d.request("POST", "/transactions", headers: ["Content-Type: application/x-ndjson"], body: Data(ndjson.utf8))
        #expect(n.status == 200)
        let s = try n.jsonObject()
        #expect(s["applied"] as? Int == 3)
        #expect(s["rejected"] as? Int == 1)
        #expect(s["malformed"] as? Int == 2, "a command line is not a transaction in a POST body")
        #expect((s["errors"] as? [[String: Any]])?.map { $0["line"] as? Int } == [4, 5, 6])
        #expect(try d.request("GET", "/clients/3").text
            == #"{"client":3,"available":"2.0000","held":"1.0000","total":"3.0000","locked":false}"#)

        // At most 1000 errors are listed; the counts stay exact.
        let many = (1...1005).map { "withdrawal,9,\(1000 + $0),1" }.joined(separator: "\n")
        let m = try d.request("POST", "/transactions", headers: ["Content-Type: text/csv"], body: Data(many.utf8)).jsonObject()
        #expect(m["rejected"] as? Int == 1005)
        #expect((m["errors"] as? [Any])?.count == 1000)
        #expect(m["errors_truncated"] as? Bool == true)
    }

    @Test func errorStatuses() throws {
        let d = try HTTPTestDaemon()
        let unknown = try d.request("GET", "/nowhere")
        #expect(unknown.status == 404)
        #expect(unknown.isOneLineJSONError)
        #expect(unknown.hasCurrentDate)
        #expect(try d.request("GET", "/").status == 404)

        let wrongMethod = try d.request("DELETE", "/clients")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.header("allow") == "GET, HEAD")
        #expect(wrongMethod.isOneLineJSONError)
        let getPost = try d.request("GET", "/transactions")
        #expect(getPost.status == 405)
        #expect(getPost.header("allow") == "POST")
        #expect(try d.request("PUT", "/transactions/1", body: Data("{}".utf8)).header("allow") == "GET, HEAD")

        // 411: a POST without Content-Length or chunked framing (curl sends no length when told to).
        let noLength = try d.curl(["-i", "-X", "POST", "-H", "Content-Length:", d.baseURL + "/transactions"])
        var reader = HTTPTestResponseReader()
        reader.buffer = Array(noLength.stdout)
        let r411 = try #require(try reader.next())
        #expect(r411.status == 411)
        #expect(r411.isOneLineJSONError)

        // 431: headers over 8 KiB.
        let big = try d.request("GET", "/healthz", headers: ["X-Filler: " + String(repeating: "a", count: 9000)])
        #expect(big.status == 431)
        #expect(big.hasCurrentDate, "a parser error has a Date too")
        #expect(big.isOneLineJSONError)
        // Just under the limit is fine.
        #expect(try d.request("GET", "/healthz", headers: ["X-Filler: " + String(repeating: "a", count: 7000)]).status == 200)
    }

    @Test func bodyOverTheLimitIs413() throws {
        let d = try HTTPTestDaemon(["--max-body-bytes", "1000"])
        let small = Data(#"{"type":"deposit","client":1,"tx":1,"amount":1}"#.utf8)
        #expect(try d.request("POST", "/transactions", body: small).status == 200)
        let lines = (2...200).map { "deposit,1,\($0),1" }.joined(separator: "\n")
        let r = try d.request("POST", "/transactions", headers: ["Content-Type: text/csv"], body: Data(lines.utf8))
        #expect(r.status == 413)
        #expect(r.isOneLineJSONError)
        // Chunked: the limit applies to the decoded body, found while reading it.
        let chunked = try d.curl(["-i", "-X", "POST", "-H", "Content-Type: text/csv", "-T", "-", d.baseURL + "/transactions"], stdin: Data(lines.utf8))
        #expect(chunked.out.hasPrefix("HTTP/1.1 413") || chunked.out.contains("\r\n\r\nHTTP/1.1 413"), "\(chunked.out)")
        // Nothing of the refused bodies was applied.
        #expect(try d.request("GET", "/clients/1").text.contains(#""total":"1.0000""#))
    }

    // MARK: Connections, with curl

    @Test func keepAliveReusesOneConnection() throws {
        let d = try HTTPTestDaemon()
        let u = d.baseURL
        var urls: [String] = []
        for path in ["/healthz", "/clients", "/nowhere", "/clients/1"] { urls += ["-o", "/dev/null", u + path] }
        let r = try d.curl(["-w", "%{num_connects} %{http_code}\n"] + urls)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out == "1 200\n0 200\n0 404\n0 404\n", "one connection for four requests, a 404 does not close it")
        // POSTs too (curl --next keeps the connection).
        var args: [String] = ["-o", "/dev/null", "-w", "%{num_connects} %{http_code}\n"]
        for tx in 1...3 {
            if tx > 1 { args += ["--next", "-o", "/dev/null", "-w", "%{num_connects} %{http_code}\n"] }
            args += ["--data-binary", httpTestOriginalClientJSON(type: "deposit", client: 1, tx: tx, amount: "1.0"), u + "/transactions"]
        }
        let posts = try d.curl(args)
        #expect(posts.out == "1 200\n0 200\n0 200\n", "\(posts.out) \(posts.err)")
    }

    @Test func chunkedUploadFromStandardInput() throws {
        let d = try HTTPTestDaemon()
        let lines = (1...500).map { "deposit,\($0 % 7),\($0),1.5" }.joined(separator: "\n") + "\n"
        let r = try d.curl(["-v", "-X", "POST", "-H", "Content-Type: text/csv", "-T", "-", d.baseURL + "/transactions"], stdin: Data(lines.utf8))
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("Transfer-Encoding: chunked"), "curl sent the body chunked")
        let summary = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], "\(r.out)")
        #expect(summary["applied"] as? Int == 500)
        let accounts = try httpTestAccounts(json: try d.request("GET", "/clients"))
        #expect(accounts.reduce(Decimal(0)) { $0 + $1.total } == Decimal(750))
        // One JSON transaction, chunked.
        let one = try d.curl(["-X", "POST", "-T", "-", d.baseURL + "/transactions"], stdin: Data(#"{"type":"deposit","client":9,"tx":900,"amount":2}"#.utf8))
        #expect(one.out == #"{"result":"ok"}"#)
    }

    @Test func expect100Continue() throws {
        let d = try HTTPTestDaemon()
        let body = Data(#"{"type":"deposit","client":1,"tx":1,"amount":"3"}"#.utf8)
        // curl waits up to --expect100-timeout for the interim response; a long timeout makes
        // a missing 100 fail the check below rather than pass quietly.
        let r = try d.curl(["-v", "--expect100-timeout", "15", "-H", "Expect: 100-continue", "--data-binary", "@-", d.baseURL + "/transactions"], stdin: body)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("< HTTP/1.1 100 Continue"), "\(r.err)")
        #expect(r.out == #"{"result":"ok"}"#)
        // curl sends Expect by itself for a body over 1 MiB, and for an upload of unknown size.
        let lines = (2...80_000).map { "deposit,1,\($0),1" }.joined(separator: "\n")
        let big = try d.curl(["-v", "--expect100-timeout", "15", "-H", "Content-Type: text/csv", "--data-binary", "@-", d.baseURL + "/transactions"], stdin: Data(lines.utf8))
        #expect(big.err.contains("< HTTP/1.1 100 Continue"))
        let bigSummary = try JSONSerialization.jsonObject(with: big.stdout) as? [String: Any]
        #expect(bigSummary?["applied"] as? Int == 79_999)

        // Raw: the 100 comes before the body is sent, then the final response.
        let s = try d.connect()
        let rawBody = #"{"type":"deposit","client":1,"tx":900000,"amount":"3"}"#
        s.send("POST /transactions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: \(rawBody.utf8.count)\r\n\r\n")
        let interim = try s.response()
        #expect(interim.status == 100)
        s.send(rawBody)
        let final = try s.response()
        #expect(final.status == 200, "\(final.text)")
        // A body sent without waiting for the 100 is fine too (the 100 may then be skipped).
        let eager = #"{"type":"deposit","client":1,"tx":900001,"amount":"3"}"#
        s.send("POST /transactions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: \(eager.utf8.count)\r\n\r\n\(eager)")
        var next = try s.response()
        if next.status == 100 { next = try s.response() }
        #expect(next.status == 200)
    }

    // MARK: Raw sockets

    @Test func pipelinedRequestsInOneWriteAnswerInOrder() throws {
        let d = try HTTPTestDaemon()
        let s = try d.connect()
        let requests = [
            httpTestRequest("POST", "/transactions", body: #"{"type":"deposit","client":5,"tx":1,"amount":"1"}"#),
            httpTestRequest("GET", "/clients/5"),
            httpTestRequest("GET", "/nowhere"),
            httpTestRequest("POST", "/transactions", body: #"{"type":"withdrawal","client":5,"tx":2,"amount":"9"}"#),
            httpTestRequest("GET", "/transactions/2"),
            httpTestRequest("HEAD", "/healthz"),
            httpTestRequest("POST", "/transactions", headers: ["Content-Type: text/csv"], body: "deposit,5,3,2\ndeposit,5,4,2\n"),
            httpTestRequest("GET", "/healthz"),
            httpTestRequest("GET", "/clients/5"),
        ]
        #expect(s.send(requests.joined()))
        var responses: [HTTPTestResponse] = []
        for i in requests.indices {
            s.reader.headOnly = i == 5
            responses.append(try s.response())
        }
        #expect(responses.map(\.status) == [200, 200, 404, 422, 200, 200, 200, 200, 200])
        #expect(responses[1].text.contains(#""total":"1.0000""#), "the GET saw the POST before it")
        #expect(responses[4].text.contains(#""state":"rejected""#))
        #expect(responses[6].text.hasPrefix(#"{"applied":2,"#))
        #expect(responses[7].text == "OK")
        #expect(responses[8].text.contains(#""total":"5.0000""#))
        #expect(s.reader.buffer.isEmpty)
    }

    /// Backpressure: one write of many pipelined requests for a large response must not make
    /// the daemon render them all at once (300 × 170 KB here); it answers them as the client
    /// reads, every one in order, also when the client has shut down its sending side.
    @Test func pipelinedLargeResponsesKeepMemoryBounded() throws {
        let d = try HTTPTestDaemon()
        let seed = (1...2000).map { "deposit,\($0),\($0),\($0).1234" }.joined(separator: "\n")
        #expect(try d.request("POST", "/transactions", headers: ["Content-Type: text/csv"], body: Data(seed.utf8)).status == 200)
        let one = try d.request("GET", "/clients")
        #expect(one.body.count > 150_000)
        func peakRSSKiB() throws -> Int {
            let status = try String(contentsOfFile: "/proc/\(d.pid)/status", encoding: .utf8)
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])!
        }
        for halfClose in [false, true] {
            let before = try peakRSSKiB()
            let s = try d.connect()
            let count = 300
            s.send(String(repeating: httpTestRequest("GET", "/clients"), count: count))
            if halfClose { s.shutdownWrite() }
            let first = try s.response()
            #expect(first.body == one.body)
            let grown = try peakRSSKiB() - before
            #expect(grown < 25_000, "peak RSS grew by \(grown) KiB on one read of \(count) pipelined requests")
            var expected = count
            var i = 1
            while i < expected {
                if i == 100 && !halfClose {  // more requests while the first ones wait: all answered, in order
                    s.send(String(repeating: httpTestRequest("GET", "/clients"), count: 50) + httpTestRequest("GET", "/healthz"))
                    expected += 51
                }
                let r = try s.response()
                if i == count + 50 {
                    #expect(r.text == "OK", "the last request is answered last")
                } else if r.status != 200 || r.body.count != one.body.count {
                    Issue.record("response \(i): \(r.status), \(r.body.count) bytes")
                    break
                }
                i += 1
            }
            if halfClose {
                #expect(s.waitForClose(), "closed once every response is written")
            } else {
                #expect(try s.exchange(httpTestRequest("GET", "/healthz")).status == 200, "the connection goes on")
            }
        }
    }

    @Test func requestFedOneByteAtATime() throws {
        let d = try HTTPTestDaemon()
        let s = try d.connect()
        let request = httpTestRequest("POST", "/transactions", headers: ["Content-Type: application/json"],
                                      body: #"{"type":"deposit","client":4,"tx":1,"amount":"7.5"}"#)
            + httpTestRequest("GET", "/clients/4")
        for byte in request.utf8 {
            #expect(s.send([byte]))
            usleep(200)  // pacing, so the daemon sees many small reads
        }
        #expect(try s.response().status == 200)
        let get = try s.response()
        #expect(get.text.contains(#""available":"7.5000""#))
        // Chunked framing one byte at a time too.
        let chunked = "POST /transactions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: text/csv\r\n\r\n"
            + "d\r\ndeposit,4,2,1\r\n3;ext=1\r\n\nde\r\nb\r\nposit,4,3,1\r\n0\r\nTrailer: x\r\n\r\n"
        for byte in chunked.utf8 { s.send([byte]); usleep(100) }
        let r = try s.response()
        #expect(r.text.hasPrefix(#"{"applied":2,"#), "\(r.text)")
    }

    @Test func rawLimitsAndBadRequests() throws {
        let d = try HTTPTestDaemon(["--max-body-bytes", "100"])
        // Headers over 8 KiB: 431, then the connection closes.
        var s = try d.connect()
        s.send("GET /healthz HTTP/1.1\r\nHost: x\r\n" + String(repeating: "X-A: \(String(repeating: "b", count: 100))\r\n", count: 90))
        #expect(try s.response().status == 431)
        #expect(s.waitForClose())
        // A request target alone over the limit counts too.
        s = try d.connect()
        s.send("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try s.response().status == 431)

        // Body over the limit: 413 from Content-Length, before the body is sent.
        s = try d.connect()
        s.send("POST /transactions HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n")
        let r413 = try s.response()
        #expect(r413.status == 413)
        #expect(r413.header("connection") == "close")
        #expect(s.waitForClose())

        // A bad request line: 400 and close, whatever was pipelined after it.
        for bad in ["GET  /healthz HTTP/1.1", "GET /healthz", "GET /healthz HTTP/1.1 extra", "\u{1}\u{2}\u{3}", "GET /healthz FTP/1.0"] {
            s = try d.connect()
            s.send(bad + "\r\nHost: x\r\n\r\n" + httpTestRequest("GET", "/healthz"))
            let r = try s.response()
            #expect(r.status == 400, "\(bad.debugDescription)")
            #expect(r.isOneLineJSONError)
            #expect(s.waitForClose(), "\(bad.debugDescription): the connection closes after a 400")
            #expect(s.reader.buffer.isEmpty, "\(bad.debugDescription): nothing answered after the 400")
        }
        // Other framing faults: 400.
        for head in ["Content-Length: 5\r\nContent-Length: 6", "Content-Length: -1", "Transfer-Encoding: gzip",
                     "Content-Length: 3\r\nTransfer-Encoding: chunked", " folded: header"] {
            s = try d.connect()
            s.send("POST /transactions HTTP/1.1\r\nHost: x\r\n\(head)\r\n\r\n")
            #expect(try s.response().status == 400, "\(head.debugDescription)")
        }
        // An HTTP/1.1 request without Host: 400.
        s = try d.connect()
        #expect(try s.exchange("GET /healthz HTTP/1.1\r\n\r\n").status == 400)

        // Versions: 1.x other than 0 and 1, and 2.0, are 505.
        for version in ["HTTP/1.2", "HTTP/2.0", "HTTP/3"] {
            s = try d.connect()
            let r = try s.exchange("GET /healthz \(version)\r\nHost: x\r\n\r\n")
            #expect(r.status == 505, "\(version)")
            #expect(r.isOneLineJSONError)
        }
        // The daemon is fine after all that.
        #expect(try d.request("GET", "/healthz").status == 200)
    }

    /// Methods are case-sensitive tokens (RFC 9110 §9.1). The router's rule: a method it does
    /// not serve on a known path is 405 with `Allow` (so `FOO` and lowercase `get` are 405);
    /// on an unknown path it is 404; a method with characters outside `tchar` is not a request
    /// line at all: 400.
    @Test func unknownMethods() throws {
        let d = try HTTPTestDaemon()
        let s = try d.connect()
        let foo = try s.exchange(httpTestRequest("FOO", "/clients"))
        #expect(foo.status == 405)
        #expect(foo.header("allow") == "GET, HEAD")
        #expect(try s.exchange(httpTestRequest("get", "/healthz")).status == 405)
        #expect(try s.exchange(httpTestRequest("BREW", "/transactions", body: "{}")).header("allow") == "POST")
        #expect(try s.exchange(httpTestRequest("FOO", "/nowhere")).status == 404)
        #expect(try s.exchange(httpTestRequest("GET", "/healthz")).status == 200, "the connection stays open after 405 and 404")
        #expect(try s.exchange(httpTestRequest("GET", "http://127.0.0.1/healthz?probe=1")).text == "OK", "absolute-form target, query ignored")
        let t = try d.connect()
        #expect(try t.exchange("G(T /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status == 400)
        #expect(t.waitForClose())
    }

    /// A response to HEAD never has a body, errors included (RFC 9110 §9.3.2): a body there
    /// would be read by the client as the start of the next response on the connection.
    @Test func headErrorsHaveNoBody() throws {
        let d = try HTTPTestDaemon()
        let s = try d.connect()
        s.reader.headOnly = true
        s.send(httpTestRequest("HEAD", "/nowhere") + httpTestRequest("HEAD", "/transactions") + httpTestRequest("HEAD", "/clients/5")
               + httpTestRequest("HEAD", "/transactions/5"))
        let heads = try s.responses(4)
        #expect(heads.map(\.status) == [404, 405, 404, 404])
        #expect(heads[1].header("allow") == "POST")
        for head in heads { #expect(Int(head.header("content-length") ?? "") ?? 0 > 0, "the length the body would have") }
        s.reader.headOnly = false
        let after = try s.exchange(httpTestRequest("GET", "/healthz"))
        #expect(after.status == 200)
        #expect(after.text == "OK", "no stray body bytes before the next response")
    }

    /// HTTP connections count against `--max-connections`; one over it is refused and closed.
    @Test func connectionLimitCoversHTTP() throws {
        let d = try HTTPTestDaemon(["--max-connections", "2"])
        // The daemon may not have seen the start-up probe's connection close yet: retry until served.
        func served() throws -> HTTPTestSocket {
            let deadline = Date().addingTimeInterval(httpTestPatienceSeconds)
            while true {
                let s = try d.connect()
                if let r = try? s.exchange(httpTestRequest("GET", "/healthz")), r.status == 200 { return s }
                guard Date() < deadline else { throw HTTPTestFailure("never served under the limit") }
                usleep(10_000)
            }
        }
        let a = try served(), b = try served()
        let refusedBefore = try #require(try HTTPTestPrometheusPage(try a.exchange(httpTestRequest("GET", "/metrics")).text)
            .value("payments_connections_refused_total"))
        let refused = try d.connect()
        refused.send(httpTestRequest("GET", "/healthz"))
        #expect(refused.waitForClose(), "one over the limit is closed")
        do {
            #expect(String(decoding: refused.reader.buffer, as: UTF8.self).hasPrefix("HTTP/1.1 503"))
        }
        let metrics = try HTTPTestPrometheusPage(try a.exchange(httpTestRequest("GET", "/metrics")).text)
        #expect(metrics.value("payments_connections_refused_total") == refusedBefore + 1)
        #expect(metrics.value("payments_connections", ["protocol": "http"]) == 2)
    }

    @Test func http10ClosesAfterTheResponse() throws {
        let d = try HTTPTestDaemon()
        var s = try d.connect()
        let r = try s.exchange("GET /healthz HTTP/1.0\r\n\r\n")
        #expect(r.status == 200)
        #expect(r.text == "OK")
        #expect(s.waitForClose(), "HTTP/1.0 without keep-alive closes after the response")
        // HTTP/1.0 POST with Content-Length.
        s = try d.connect()
        let body = #"{"type":"deposit","client":1,"tx":1,"amount":1}"#
        #expect(try s.exchange("POST /transactions HTTP/1.0\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)").status == 200)
        #expect(s.waitForClose())
        // HTTP/1.0 with Connection: keep-alive stays open and says so.
        s = try d.connect()
        let kept = try s.exchange("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(kept.header("connection")?.lowercased() == "keep-alive")
        #expect(try s.exchange("GET /clients/1 HTTP/1.0\r\n\r\n").status == 200)
        #expect(s.waitForClose())
        // HTTP/1.1 with Connection: close.
        s = try d.connect()
        let closing = try s.exchange(httpTestRequest("GET", "/healthz", headers: ["Connection: close"]))
        #expect(closing.header("connection") == "close")
        #expect(s.waitForClose())
    }

    @Test func idleAndSlowClientsTimeOutWhileOthersAreServed() throws {
        let d = try HTTPTestDaemon(["--http-idle-timeout", "1"])
        let silent = try d.connect()
        let partial = try d.connect()
        partial.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")  // never finished
        let partialBody = try d.connect()
        partialBody.send("POST /transactions HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"type\"")
        let busy = try d.connect()
        // The busy client is served while the others wait to be timed out.
        for tx in 1...20 {
            let r = try busy.exchange(httpTestRequest("POST", "/transactions", body: httpTestOriginalClientJSON(type: "deposit", client: 1, tx: tx, amount: "1.0")))
            #expect(r.status == 200)
        }
        #expect(silent.waitForClose(), "a silent connection is closed after the idle timeout")
        #expect(silent.reader.buffer.isEmpty, "quietly: no response to a request never started")
        let timedOut = try partial.response()
        #expect(timedOut.status == 408)
        #expect(timedOut.hasCurrentDate)
        #expect(timedOut.isOneLineJSONError)
        #expect(partial.waitForClose())
        #expect(try partialBody.response().status == 408)
        #expect(partialBody.waitForClose())
        // A new client is served after the timeouts, and the half body was not applied.
        let fresh = try d.connect()
        #expect(try fresh.exchange(httpTestRequest("GET", "/clients/1")).text.contains(#""total":"20.0000""#))
        #expect(d.isRunning)
    }

    /// The timeout bounds a request from its first byte, not from the end of the previous
    /// response: a keep-alive connection that idled for most of the timeout and then sends a
    /// request in two parts is answered. (Margins of a second and more either side.)
    @Test func idleTimeBeforeARequestIsNotChargedToIt() throws {
        let d = try HTTPTestDaemon(["--http-idle-timeout", "3"])
        let s = try d.connect()
        #expect(try s.exchange(httpTestRequest("GET", "/healthz")).status == 200)
        usleep(2_300_000)
        s.send("GET /clients HTTP/1.1\r\n")
        usleep(1_500_000)  // now past 3 s since the last response, 1.5 s into this request
        let r = try s.exchange("Host: x\r\n\r\n")
        #expect(r.status == 200, "\(r.status) \(r.text)")
    }

    @Test func randomBytesDoNotHurtTheDaemon() throws {
        // A 1 s idle timeout closes connections that random bytes left waiting for more.
        let d = try HTTPTestDaemon(["--http-idle-timeout", "1"])
        var rng = SystemRandomNumberGenerator()
        var sockets: [HTTPTestSocket] = []
        for round in 0..<40 {
            let s = try d.connect()
            sockets.append(s)
            var bytes = (0..<Int.random(in: 1...3000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if round % 4 == 1 { bytes = Array("POST /transactions HTTP/1.1\r\nHost: x\r\n".utf8) + bytes }
            if round % 4 == 2 { bytes = Array("POST /transactions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".utf8) + bytes }
            s.send(bytes)
            if round % 2 == 0 { s.shutdownWrite() }
        }
        // Whatever comes back must be well-formed HTTP, and every connection ends.
        for (round, s) in sockets.enumerated() {
            #expect(s.waitForClose(), "round \(round): still open")
            while let r = try s.reader.next() {
                #expect([400, 404, 405, 408, 411, 413, 431, 505].contains(r.status), "round \(round): \(r.status)")
            }
        }
        #expect(d.isRunning)
        #expect(try d.request("GET", "/healthz").status == 200)
        #expect(try d.request("POST", "/transactions", body: Data(#"{"type":"deposit","client":1,"tx":1,"amount":1}"#.utf8)).status == 200)
    }

    // MARK: The original service's tests, replayed

    /// Each `seed_X.csv` posted one line per request as the original clients' JSON (numbers,
    /// `0.0` on disputes), then `GET /clients` equals `seed_X_expected.csv` as numbers.
    @Test(arguments: ["seed_deposit_withdrawal", "seed_dispute", "seed_dispute_resolve", "seed_dispute_chargeback", "seed_chungus"])
    func originalServiceTestsReplayed(_ name: String) throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures")
        let input = try String(contentsOf: fixtures.appendingPathComponent("\(name).csv"), encoding: .utf8)
        let expected = try httpTestAccounts(csv: try String(contentsOf: fixtures.appendingPathComponent("\(name)_expected.csv"), encoding: .utf8))
        let d = try HTTPTestDaemon()
        let s = try d.connect()
        var posted = 0
        for line in input.split(whereSeparator: \.isNewline) where !line.hasPrefix("type,") {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let amount = f.count > 3 && !f[3].isEmpty ? f[3] : "0.0"
            let body = httpTestOriginalClientJSON(type: f[0], client: Int(f[1])!, tx: Int(f[2])!, amount: amount)
            let r = try s.exchange(httpTestRequest("POST", "/transactions", headers: ["Content-Type: application/json"], body: body))
            #expect([200, 422].contains(r.status), "\(line): \(r.status) \(r.text)")
            posted += 1
        }
        #expect(posted > 0)
        let got = try httpTestAccounts(json: try s.exchange(httpTestRequest("GET", "/clients")))
        #expect(got == expected, "\(name)")
        let csv = try s.exchange(httpTestRequest("GET", "/clients", headers: ["Accept: text/csv"]))
        #expect(try httpTestAccounts(csv: csv.text) == expected, "\(name) as CSV")
    }

    // MARK: Durability

    /// Under `--fsync always` a POST's response leaves only once its records are synced: the
    /// metrics page read right after the response shows them durable. (Were responses sent at
    /// once, the next request would often arrive before the sync finished.)
    @Test func postResponsesWaitForTheSync() throws {
        let d = try HTTPTestDaemon()
        let s = try d.connect()
        for tx in 1...150 {
            let body = tx % 3 == 0
                ? "deposit,1,\(tx),1\nwithdrawal,1,\(tx + 100_000),0.5\n"
                : httpTestOriginalClientJSON(type: "deposit", client: 1, tx: tx, amount: "1.0")
            let post = try s.exchange(httpTestRequest("POST", "/transactions", headers: tx % 3 == 0 ? ["Content-Type: text/csv"] : [], body: body))
            #expect(post.status == 200)
            let page = try HTTPTestPrometheusPage(try s.exchange(httpTestRequest("GET", "/metrics")).text)
            let last = try #require(page.value("payments_journal_last_record"))
            let durable = try #require(page.value("payments_journal_durable_record"))
            #expect(durable >= last, "after POST \(tx): record \(last) answered before it was durable (\(durable))")
            if durable < last { break }
        }
    }

    /// A GET that observed a transaction not yet synced is held until it is: whenever another
    /// connection's read shows the deposit, the journal says it is durable by then.
    @Test func readsWaitForTheRecordsTheyObserved() throws {
        let d = try HTTPTestDaemon()
        let writer = try d.connect(), reader = try d.connect()
        var observed = 0
        for tx in 1...150 {
            writer.send(httpTestRequest("POST", "/transactions", body: httpTestOriginalClientJSON(type: "deposit", client: 1, tx: tx, amount: "1.0")))
            let account = try reader.exchange(httpTestRequest("GET", "/clients/1"))
            let page = try HTTPTestPrometheusPage(try reader.exchange(httpTestRequest("GET", "/metrics")).text)
            if account.text.contains(#""total":"\#(tx).0000""#) {
                observed += 1
                let durable = try #require(page.value("payments_journal_durable_record"))
                #expect(durable >= Double(tx), "a read showed deposit \(tx) before it was durable (\(durable))")
            }
            #expect(try writer.response().status == 200)
        }
        #expect(observed > 0, "no read raced a write: the check above never ran")
    }

    /// A multi-line POST, SIGKILL as soon as its response arrives, restart on the same data:
    /// every line the response counted as applied is there, and nothing else changed.
    @Test func acknowledgedBatchSurvivesSIGKILL() throws {
        let d = try HTTPTestDaemon()
        var lines: [String] = []
        var amounts: [Int: Decimal] = [:]  // line number -> amount, for applied-candidate deposits
        var clientOf: [Int: Int] = [:]
        for i in 1...3000 {
            let client = i % 50
            if i % 97 == 0 {
                lines.append("withdrawal,\(client),\(i),1000000")  // insufficient funds
            } else if i % 101 == 0 {
                lines.append("deposit,\(client),\(i),not-a-number")
            } else {
                lines.append("deposit,\(client),\(i),\(i).\(i % 10)")
                amounts[i] = Decimal(string: "\(i).\(i % 10)")!
                clientOf[i] = client
            }
        }
        let s = try d.connect()
        let response = try s.exchange(httpTestRequest("POST", "/transactions", headers: ["Content-Type: text/csv"], body: lines.joined(separator: "\n")))
        d.kill9()
        #expect(response.status == 200)
        let summary = try response.jsonObject()
        let errorLines = Set((summary["errors"] as? [[String: Any]] ?? []).compactMap { $0["line"] as? Int })
        let applied = summary["applied"] as? Int ?? -1
        #expect(applied == amounts.count)
        #expect(errorLines.count == 3000 - amounts.count)
        var expected: [Int: Decimal] = [:]
        for (line, amount) in amounts where !errorLines.contains(line) { expected[clientOf[line]!, default: 0] += amount }

        try d.restart()
        #expect(d.log.contains("recovered"))
        let accounts = try httpTestAccounts(json: try d.request("GET", "/clients"))
        #expect(accounts.count == expected.count)
        for account in accounts {
            #expect(account.total == expected[account.client], "client \(account.client)")
            #expect(account.available == account.total && !account.locked)
        }
        #expect(try d.request("GET", "/transactions/2999").status == 200)
        #expect(try d.request("GET", "/transactions/97").text.contains(#""state":"rejected""#), "a rejected id is journaled too")
        #expect(try d.request("GET", "/transactions/101").status == 404, "a malformed line is not")
    }

    /// The same for single POSTs from many connections at once: every 200 is there after SIGKILL.
    @Test func acknowledgedSinglePostsSurviveSIGKILL() throws {
        let d = try HTTPTestDaemon()
        let sockets = try (0..<8).map { _ in try d.connect() }
        var tx = 0
        for _ in 0..<25 {
            for s in sockets { tx += 1; s.send(httpTestRequest("POST", "/transactions", body: httpTestOriginalClientJSON(type: "deposit", client: tx % 8, tx: tx, amount: "1.0"))) }
        }
        for s in sockets { #expect(try s.responses(25).allSatisfy { $0.status == 200 }) }
        d.kill9()
        try d.restart()
        let accounts = try httpTestAccounts(json: try d.request("GET", "/clients"))
        #expect(accounts.reduce(Decimal(0)) { $0 + $1.total } == Decimal(tx))
    }

    // MARK: Metrics

    @Test func metricsPageParsesAndCountsWhatWasSent() throws {
        let d = try HTTPTestDaemon()
        let fresh = try HTTPTestPrometheusPage(try d.request("GET", "/metrics").text)
        #expect(fresh.value("payments_transactions_total", ["outcome": "applied"]) == 0)

        let s = try d.connect()
        for tx in 1...5 {
            #expect(try s.exchange(httpTestRequest("POST", "/transactions", body: httpTestOriginalClientJSON(type: "deposit", client: tx % 3, tx: tx, amount: "2.0"))).status == 200)
        }
        #expect(try s.exchange(httpTestRequest("POST", "/transactions", body: httpTestOriginalClientJSON(type: "withdrawal", client: 1, tx: 6, amount: "99"))).status == 422)
        #expect(try s.exchange(httpTestRequest("POST", "/transactions", body: #"{"type":"deposit"}"#)).status == 400)
        let batch = "deposit,7,10,1\ndeposit,7,10,1\nwithdrawal,7,11,5\nnonsense\n"
        #expect(try s.exchange(httpTestRequest("POST", "/transactions", headers: ["Content-Type: text/csv"], body: batch)).status == 200)
        // One line-protocol connection, open while the page is read.
        let line = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(line) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in d.unixSocketPath.utf8.enumerated() { raw[i] = b }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(line, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(connected == 0)
        _ = send(line, "PING\n", 5, Int32(MSG_NOSIGNAL))
        var pong = [UInt8](repeating: 0, count: 16)
        #expect(recv(line, &pong, 16, 0) == 5, "the line connection is accepted before the page is read")

        let metrics = try s.exchange(httpTestRequest("GET", "/metrics"))
        #expect(metrics.status == 200)
        #expect(metrics.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
        let page = try HTTPTestPrometheusPage(metrics.text)
        #expect(page.value("payments_transactions_total", ["outcome": "applied"]) == 6)
        #expect(page.value("payments_transactions_total", ["outcome": "rejected"]) == 3)
        #expect(page.value("payments_transactions_total", ["outcome": "malformed"]) == 2)
        #expect(page.value("payments_accounts") == 4)
        #expect(page.value("payments_transaction_ids") == 8)
        #expect(page.value("payments_connections", ["protocol": "http"]) == 1)
        #expect(page.value("payments_connections", ["protocol": "line"]) == 1)
        #expect(page.value("payments_journal_last_record") == 9, "every well-formed transaction is a record")
        #expect(page.value("payments_journal_durable_record") == 9, "every answered POST is durable under --fsync always")
        #expect((page.value("payments_journal_bytes") ?? 0) > 0)
        let syncs = try #require(page.value("payments_journal_syncs_total"))
        let observed = try #require(page.value("payments_journal_sync_seconds_count"))
        #expect(syncs >= 1 && observed >= 1 && observed <= syncs, "syncs \(syncs), observed \(observed)")
        #expect((page.value("payments_journal_sync_seconds_sum") ?? 0) > 0)
        #expect(page.types["payments_journal_sync_seconds"] == "histogram")
        #expect(page.value("payments_snapshots_total") == 0)
        #expect(page.value("payments_uptime_seconds") != nil)
    }

    /// The checker itself must be able to fail.
    @Test func prometheusCheckerRefusesBrokenPages() {
        let good = "# TYPE a_total counter\na_total{x=\"1\"} 3\n"
        #expect(throws: Never.self) { try HTTPTestPrometheusPage(good) }
        for bad in [
            "a_total 3\n",  // no TYPE
            "# TYPE a counter\na 3\n",  // counter without _total
            "# TYPE a_total counter\na_total{x=1} 3\n",  // unquoted label
            "# TYPE a_total counter\na_total three\n",
            "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",  // not cumulative
            "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",  // no +Inf
            "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",  // no _sum
            "# TYPE g gauge\ng 1",  // no final newline
        ] {
            #expect(throws: HTTPTestFailure.self, "\(bad)") { try HTTPTestPrometheusPage(bad) }
        }
    }
}
