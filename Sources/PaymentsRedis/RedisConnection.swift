public import PaymentsPlatform

/// Why talking to Redis failed, in one line for people, and whether trying again may help.
public struct RedisError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Nothing answered, the connection broke, or a time limit ran out: try again later.
        case unavailable
        /// The server refused a command (`-ERR`, `-MISCONF`, `-LOADING`, `-READONLY`).
        case refused
        /// The password or user was refused (`-WRONGPASS`, `-NOAUTH`): retrying will not help.
        case authentication
        /// The bytes were not RESP: something else listens there.
        case notRedis
    }
    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    /// The error for a `-...` reply to `command`.
    public static func reply(_ text: String, to command: String) -> RedisError {
        let code = text.prefix { $0 != " " }
        let kind: Kind = ["WRONGPASS", "NOAUTH", "NOPERM"].contains(String(code)) ? .authentication : .refused
        return RedisError(kind, "\(command): \(text)")
    }
}

/// One connection to a Redis server: connect (time-limited), `AUTH` and `SELECT` from the URL,
/// then commands written in pipelined batches and replies read as they come. Every blocking
/// read or write is bounded by `timeoutMilliseconds`.
public final class RedisConnection {
    public let url: RedisURL
    public let fd: FileDescriptor
    public let timeoutMilliseconds: Int
    private var reader = RESPReader()
    private var chunk = [UInt8](repeating: 0, count: 64 << 10)

    /// Connects and authenticates; throws `.unavailable` when nothing answers in time.
    public init(_ url: RedisURL, timeoutMilliseconds: Int = 5_000) throws(RedisError) {
        self.url = url
        self.timeoutMilliseconds = timeoutMilliseconds
        do throws(SystemError) {
            fd = try Socket.connect(to: url.address, timeoutMilliseconds: Int32(timeoutMilliseconds))
        } catch {
            throw RedisError(.unavailable, "cannot connect to Redis at \(url.address): \(error.message)")
        }
        do throws(RedisError) {
            do throws(SystemError) {
                try fd.setTimeouts(milliseconds: timeoutMilliseconds)
                if !url.address.isUnix { try fd.setNoDelay() }
            } catch { throw RedisError(.unavailable, "Redis at \(url.address): \(error.message)") }
            if let password = url.password {
                try expectOK(try command(url.user.map { ["AUTH", $0, password] } ?? ["AUTH", password]), "AUTH")
            }
            if url.database != 0 { try expectOK(try command(["SELECT", String(url.database)]), "SELECT \(url.database)") }
        } catch {
            close()
            throw error
        }
    }

    public func close() { try? fd.close() }

    /// Sends one command and waits for its reply. A `-ERR` reply is returned, not thrown.
    public func command(_ arguments: [String]) throws(RedisError) -> RESPValue {
        try send(RESPCommand.encode(arguments))
        return try receive()
    }

    /// Writes a pipeline of encoded commands, all of it (bounded by the send time limit).
    public func send(_ bytes: [UInt8]) throws(RedisError) {
        do throws(SystemError) {
            let fd = self.fd
            let sent: Result<Void, SystemError> = bytes.withUnsafeBytes { raw in
                do throws(SystemError) {
                    var done = 0
                    while done < raw.count { done += try fd.sendOnce(UnsafeRawBufferPointer(rebasing: raw[done...])) }
                    return .success(())
                } catch { return .failure(error) }
            }
            try sent.get()
        } catch {
            throw RedisError(.unavailable, "cannot send to Redis at \(url.address): " + (error.isWouldBlock ? "no progress within \(timeoutMilliseconds) ms" : error.message))
        }
    }

    /// The next reply, waiting at most the time limit for it.
    public func receive() throws(RedisError) -> RESPValue {
        while true {
            if let value = try takeReply() { return value }
            try readOnce()
        }
    }

    /// A reply already buffered, or nil.
    public func takeReply() throws(RedisError) -> RESPValue? {
        do throws(RESPProtocolError) { return try reader.next() } catch {
            throw RedisError(.notRedis, "not a Redis server at \(url.address): \(error)")
        }
    }

    /// Reads what has arrived (blocking at most the time limit when nothing has).
    public func readOnce() throws(RedisError) {
        let fd = self.fd
        let result: Result<Int, SystemError> = chunk.withUnsafeMutableBytes { raw in
            do throws(SystemError) { return .success(try fd.read(into: raw)) } catch { return .failure(error) }
        }
        switch result {
        case .success(0):
            throw RedisError(.unavailable, "Redis at \(url.address) closed the connection")
        case .success(let count):
            reader.append(chunk[..<count])
        case .failure(let error):
            let why = error.isWouldBlock ? "no reply within \(timeoutMilliseconds) ms" : error.message
            throw RedisError(.unavailable, "cannot read from Redis at \(url.address): \(why)")
        }
    }

    private func expectOK(_ reply: RESPValue, _ what: String) throws(RedisError) {
        if case .error(let text) = reply { throw RedisError.reply(text, to: what) }
        guard reply == .simple("OK") else { throw RedisError(.notRedis, "\(what): unexpected reply \(reply)") }
    }
}
