// Deliberate damage: random bytes and mutated requests, fed in random splits, never crash the
// parser, never make it buffer past its limits, and parse the same whatever the split.

@testable import PaymentsServer
import Testing

/// xorshift64*: deterministic, so a failure reproduces from its seed.
struct HTTPFuzzRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

@Suite struct HTTPParserFuzzTests {
    static let seeds: [String] = [
        "GET /clients/1 HTTP/1.1\r\nHost: h\r\n\r\n",
        "POST /transactions HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
        "POST /transactions HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nabcd\r\n0\r\nT: v\r\n\r\n",
        "GET /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /healthz HTTP/1.1\r\nHost: h\r\n\r\n",
    ]

    /// Interesting bytes more often than uniform random ones, so mutations hit the grammar.
    static let alphabet: [UInt8] = Array("\r\n :;/?0123456789aAfFzZ-\t\"HTTP/1.1chunked".utf8) + [0, 0x7F, 0x80, 0xFF]

    private func mutate(_ input: [UInt8], _ rng: inout HTTPFuzzRandom) -> [UInt8] {
        var bytes = input
        for _ in 0...rng.below(4) {
            let position = rng.below(bytes.count + 1)
            let byte = rng.below(4) == 0 ? UInt8(truncatingIfNeeded: rng.next()) : Self.alphabet[rng.below(Self.alphabet.count)]
            switch rng.below(3) {
            case 0: bytes.insert(byte, at: position)
            case 1: if position < bytes.count { bytes[position] = byte }
            default: if position < bytes.count { bytes.remove(at: position) }
            }
        }
        return bytes
    }

    /// Feeds in random splits, checking the memory bound after every feed.
    private func feedRandomly(_ input: [UInt8], limits: HTTPParserLimits, _ rng: inout HTTPFuzzRandom) -> [HTTPParserEvent] {
        var parser = HTTPRequestParser(limits: limits)
        var events: [HTTPParserEvent] = []
        var start = 0
        while start < input.count {
            let end = min(input.count, start + 1 + rng.below(16))
            parser.feed(input[start..<end])
            start = end
            #expect(parser.bufferedBytes <= limits.maxHeaderBytes + 16 + limits.maxBodyBytes)
            drain: while true {
                let event = parser.next()
                switch event {
                case .needMoreData: break drain
                case .sendContinue: continue
                case .error: events.append(event); return events
                case .request: events.append(event)
                }
            }
        }
        return events
    }

    @Test func mutatedRequestsParseTheSameInAnySplit() {
        var rng = HTTPFuzzRandom(seed: 7)
        let limits = HTTPParserLimits(maxHeaderBytes: 256, maxBodyBytes: 64)
        for i in 0..<3000 {
            let input = mutate(Array(Self.seeds[i % Self.seeds.count].utf8), &rng)
            let whole = HTTPTestFeed.withoutContinue(HTTPTestFeed.events(input, limits: limits))
            let split = feedRandomly(input, limits: limits, &rng)
            #expect(whole == split, "input \(i) parsed differently when split: \(input)")
        }
    }

    @Test func randomBytesNeverCrash() {
        var rng = HTTPFuzzRandom(seed: 2026)
        let limits = HTTPParserLimits(maxHeaderBytes: 512, maxBodyBytes: 128)
        var errors = 0
        for _ in 0..<3000 {
            let length = rng.below(600)
            var input: [UInt8] = []
            for _ in 0..<length {
                input.append(rng.below(2) == 0 ? UInt8(truncatingIfNeeded: rng.next()) : Self.alphabet[rng.below(Self.alphabet.count)])
            }
            let events = feedRandomly(input, limits: limits, &rng)
            if case .error(let status)? = events.last {
                errors += 1
                #expect([.badRequest, .lengthRequired, .contentTooLarge, .requestHeaderFieldsTooLarge, .httpVersionNotSupported].contains(status))
            }
        }
        #expect(errors > 2000)  // random bytes are almost never a request
    }
}
