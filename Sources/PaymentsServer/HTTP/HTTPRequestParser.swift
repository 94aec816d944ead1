// The incremental HTTP/1.1 request parser: bytes in, complete requests out, in order.
// Socket-free: the server feeds it what it read and acts on the events it returns.

/// Parses requests from bytes fed in any split: one byte at a time, or many pipelined requests
/// in one read, give the same requests.
///
/// Driving it, per connection:
///
///     parser.feed(bytesJustRead)
///     loop: switch parser.next() {
///     case .request(let r):  route and answer r, in order; if !r.keepAlive, answer and close
///                            after it (ignore whatever follows it)
///     case .sendContinue:    queue HTTPResponse.continueBytes (after earlier responses)
///     case .needMoreData:    stop; read again (408 on idle timeout if hasPartialRequest)
///     case .error(let s):    queue HTTPResponse.appendError(s, ..., close: true); close after
///     }
///
/// Feed again only after `next()` said `.needMoreData`: the parser then holds at most one read
/// plus the unfinished head of one request (≤ `maxHeaderBytes`); body bytes move into the
/// request's body as they arrive, bounded by `maxBodyBytes`. A server applying backpressure
/// (too many responses pending) simply stops calling `next()` and stops reading.
public struct HTTPRequestParser: Sendable {
    public let limits: HTTPParserLimits

    private var buffer: [UInt8] = []
    /// First byte of `buffer` not yet consumed.
    private var readIndex = 0
    /// Where the search for the next line feed resumes, so that a line fed one byte at a time
    /// is scanned once, not once per byte.
    private var scanIndex = 0
    private var state = State.head
    private var head = HTTPHeadBuilder()
    private var body: [UInt8] = []

    private enum State: Sendable {
        case head
        case body(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers(bytes: Int)
        case failed(HTTPStatus)
    }

    public init(limits: HTTPParserLimits = HTTPParserLimits()) {
        precondition(limits.maxHeaderBytes > 0 && limits.maxHeaderBytes <= HTTPParserLimits.maxSupportedHeaderBytes,
                     "maxHeaderBytes must be in 1...\(HTTPParserLimits.maxSupportedHeaderBytes)")
        precondition(limits.maxBodyBytes >= 0, "maxBodyBytes must not be negative")
        self.limits = limits
    }

    /// Appends bytes read from the connection. Ignored once the parser has failed.
    public mutating func feed(_ bytes: some Collection<UInt8>) {
        if case .failed = state { return }
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Bytes fed but not yet consumed by `next()`.
    public var bufferedBytes: Int { buffer.count - readIndex }

    /// Whether some of a request has arrived but not all of it: an idle timeout now means 408
    /// rather than a quiet close of an idle keep-alive connection.
    public var hasPartialRequest: Bool {
        switch state {
        case .head: head.headerBytes > 0 || bufferedBytes > 0
        case .failed: false
        default: true
        }
    }

    /// The status the parser failed with, if it did.
    public var failure: HTTPStatus? {
        if case .failed(let status) = state { return status }
        return nil
    }

    /// The next event: a request, a 100-continue to send, an error, or a call for more bytes.
    public mutating func next() -> HTTPParserEvent {
        while true {
            let step: Step
            switch state {
            case .failed(let status): return .error(status)
            case .head: step = stepHead()
            case .body(let remaining): step = stepBody(remaining)
            case .chunkSize: step = stepChunkSize()
            case .chunkData(let remaining): step = stepChunkData(remaining)
            case .chunkDataEnd: step = stepChunkDataEnd()
            case .trailers(let bytes): step = stepTrailers(bytes)
            }
            switch step {
            case .again: continue
            case .event(let event): return event
            case .fail(let status): return fail(status)
            }
        }
    }

    private enum Step {
        case again
        case event(HTTPParserEvent)
        case fail(HTTPStatus)
    }

    private mutating func fail(_ status: HTTPStatus) -> HTTPParserEvent {
        state = .failed(status)
        buffer = []
        body = []
        head = HTTPHeadBuilder()
        readIndex = 0
        scanIndex = 0
        return .error(status)
    }

    /// Drops consumed bytes when that halves the buffer or more, keeping compaction amortised.
    private mutating func compact() {
        guard readIndex > 0 else { return }
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
        } else if readIndex * 2 >= buffer.count {
            buffer.removeSubrange(0..<readIndex)
        } else {
            return
        }
        scanIndex -= readIndex
        readIndex = 0
    }

    // MARK: Lines

    private enum LineResult {
        case line(Range<Int>, consumed: Int)
        case needMore
        case tooLong
    }

    /// The next line (without its `\n` or `\r\n`), if complete within `limit` bytes including
    /// its line end. A bare `\n` ends a line too (RFC 9112 §2.2 allows it); a stray `\r`
    /// stays in the line and is refused by whoever parses it.
    private mutating func takeLine(limit: Int) -> LineResult {
        let end = buffer.count
        var i = scanIndex
        let found: Bool = buffer.withUnsafeBufferPointer { p in
            while i < end {
                if p[i] == HTTPASCII.lf { return true }
                i += 1
            }
            return false
        }
        guard found else {
            scanIndex = end
            return end - readIndex > limit ? .tooLong : .needMore
        }
        let consumed = i + 1 - readIndex
        guard consumed <= limit else { return .tooLong }
        var lineEnd = i
        if lineEnd > readIndex, buffer[lineEnd - 1] == HTTPASCII.cr { lineEnd -= 1 }
        let line = readIndex..<lineEnd
        readIndex = i + 1
        scanIndex = readIndex
        return .line(line, consumed: consumed)
    }

    // MARK: Head

    private mutating func stepHead() -> Step {
        switch takeLine(limit: limits.maxHeaderBytes - head.headerBytes) {
        case .needMore: return .event(.needMoreData)
        case .tooLong: return .fail(.requestHeaderFieldsTooLarge)
        case .line(let line, let consumed):
            head.headerBytes += consumed
            if !head.hasRequestLine {
                // RFC 9112 §2.2: empty lines before a request line (a CRLF some clients send
                // after a POST body) are skipped; they still count against the header limit.
                if line.isEmpty { return .again }
                let status = buffer.withUnsafeBufferPointer { HTTPHeadParser.parseRequestLine($0, line, into: &head) }
                return status.map(Step.fail) ?? .again
            }
            if line.isEmpty { return finishHead() }
            let status = buffer.withUnsafeBufferPointer { HTTPHeadParser.parseHeaderLine($0, line, into: &head) }
            return status.map(Step.fail) ?? .again
        }
    }

    /// The head is complete: check the framing it declares and choose how to read the body.
    private mutating func finishHead() -> Step {
        if head.version == .http11, limits.requireHostInHTTP11, head.fields[.host] == nil { return .fail(.badRequest) }
        if head.isChunked {
            // Both lengths at once is the classic request smuggling (RFC 9112 §6.1 lets a
            // server refuse it); chunked in HTTP/1.0 is faulty framing by the same section.
            guard head.contentLength == nil, head.version == .http11 else { return .fail(.badRequest) }
            state = .chunkSize
        } else if let length = head.contentLength {
            guard length <= limits.maxBodyBytes else { return .fail(.contentTooLarge) }
            if length == 0 { return .event(emit()) }
            body.reserveCapacity(min(length, HTTPParserLimits.bodyReserveBytes))
            state = .body(remaining: length)
        } else if head.method.requiresBodyLength {
            return .fail(.lengthRequired)
        } else {
            return .event(emit())
        }
        if head.version == .http10 { head.expectsContinue = false }  // RFC 9110 §10.1.1
        if head.expectsContinue && bufferedBytes == 0 { return .event(.sendContinue) }
        return .again
    }

    /// Hands out the finished request and resets for the next one.
    private mutating func emit() -> HTTPParserEvent {
        let h = head
        head = HTTPHeadBuilder()
        let requestBody = body
        body = []
        state = .head
        let keepAlive = h.version == .http11 ? !h.connectionClose : (h.connectionKeepAlive && !h.connectionClose)
        return .request(HTTPRequest(
            method: h.method, version: h.version, keepAlive: keepAlive,
            expectsContinue: h.expectsContinue && h.version == .http11,
            isChunked: h.isChunked, contentLength: h.contentLength, headerBytes: h.headerBytes,
            body: requestBody, storage: h.storage, pathRange: h.pathRange, queryRange: h.queryRange,
            fieldRanges: h.fields))
    }

    // MARK: Bodies

    /// Moves up to `remaining` buffered bytes into the body; how many it moved.
    private mutating func takeBody(_ remaining: Int) -> Int {
        let n = min(remaining, bufferedBytes)
        if n > 0 {
            body.append(contentsOf: buffer[readIndex..<(readIndex + n)])
            readIndex += n
            scanIndex = readIndex
        }
        return n
    }

    private mutating func stepBody(_ remaining: Int) -> Step {
        let left = remaining - takeBody(remaining)
        if left == 0 { return .event(emit()) }
        state = .body(remaining: left)
        return .event(.needMoreData)
    }

    /// `chunk-size [ chunk-ext ] CRLF` (RFC 9112 §7.1); extensions are ignored.
    private mutating func stepChunkSize() -> Step {
        switch takeLine(limit: HTTPParserLimits.maxChunkSizeLineBytes) {
        case .needMore: return .event(.needMoreData)
        case .tooLong: return .fail(.badRequest)
        case .line(let line, _):
            guard let size = buffer.withUnsafeBufferPointer({ HTTPChunkSize.parse($0, line) }) else { return .fail(.badRequest) }
            if size == 0 {
                state = .trailers(bytes: 0)
            } else {
                guard size <= limits.maxBodyBytes - body.count else { return .fail(.contentTooLarge) }
                state = .chunkData(remaining: size)
            }
            return .again
        }
    }

    private mutating func stepChunkData(_ remaining: Int) -> Step {
        let left = remaining - takeBody(remaining)
        state = left == 0 ? .chunkDataEnd : .chunkData(remaining: left)
        return left == 0 ? .again : .event(.needMoreData)
    }

    /// The CRLF after a chunk's data: exactly an empty line.
    private mutating func stepChunkDataEnd() -> Step {
        switch takeLine(limit: 2) {
        case .needMore: return .event(.needMoreData)
        case .tooLong: return .fail(.badRequest)
        case .line(let line, _):
            guard line.isEmpty else { return .fail(.badRequest) }
            state = .chunkSize
            return .again
        }
    }

    /// Trailer fields are read and dropped (RFC 9112 §7.1.2 lets a recipient discard them);
    /// they share the header limit, so a stream of trailers cannot grow memory.
    private mutating func stepTrailers(_ bytes: Int) -> Step {
        switch takeLine(limit: limits.maxHeaderBytes - bytes) {
        case .needMore: return .event(.needMoreData)
        case .tooLong: return .fail(.requestHeaderFieldsTooLarge)
        case .line(let line, let consumed):
            if line.isEmpty { return .event(emit()) }
            guard buffer.withUnsafeBufferPointer({ HTTPChunkSize.isPlausibleField($0, line) }) else { return .fail(.badRequest) }
            state = .trailers(bytes: bytes + consumed)
            return .again
        }
    }
}
