import PaymentsTLS

extension HTTPRoute {
    /// The role a route needs on a listener with tokens (§9); nil for the probes that load
    /// balancers and orchestrators call without credentials.
    var requiredRole: Role? {
        switch self {
        case .healthz, .leader: nil
        case .postTransactions: .write
        default: .read
        }
    }
}

/// `Authorization: Bearer` on one HTTP connection: the token that last passed is kept, so a
/// keep-alive client sending the same header on every request is hashed once, not per request.
struct HTTPAccess {
    var token: [UInt8] = []
    var role: Role?
    var generation: UInt64 = 0
    /// Requests without a valid token: past `LineProtocol.maxAuthFailures` the connection closes.
    var failures = 0

    /// A refusal: its status, message and the `WWW-Authenticate` challenge to add.
    struct Denial {
        let failure: AuthFailure
        let status: HTTPStatus
        let message: String
        let headers: [UInt8]
    }

    /// Nil when `request` may be served; the refusal otherwise. Routes that do not exist are
    /// left to the router (their 404 says nothing about the ledger).
    mutating func check(_ request: HTTPRequest, _ tokens: Tokens) -> Denial? {
        guard case .route(let route, _) = HTTPRouter.route(request), let needed = route.requiredRole else { return nil }
        guard let header = request.header(.authorization), let presented = Self.bearerToken(header) else {
            failures += 1
            return Denial(
                failure: .required, status: .unauthorized, message: "authentication required: send Authorization: Bearer <token>",
                headers: Array("WWW-Authenticate: Bearer realm=\"paymentsd\"\r\n".utf8))
        }
        if role == nil || generation != tokens.generation || !constantTimeEquals(token, Array(presented)) {
            role = Tokens.hash(presented).flatMap { tokens.entry(forHash: $0) }?.role
            token = role == nil ? [] : Array(presented)
            generation = tokens.generation
        }
        guard let role else {
            failures += 1
            return Denial(
                failure: .failed, status: .unauthorized, message: "auth failed",
                headers: Array("WWW-Authenticate: Bearer realm=\"paymentsd\", error=\"invalid_token\"\r\n".utf8))
        }
        guard role >= needed else {
            return Denial(
                failure: .forbidden, status: .forbidden,
                message: "forbidden: the \(role.name) role may not do this (needs \(needed.name))", headers: [])
        }
        return nil
    }

    /// The token of `Bearer <token>` (scheme in any case, RFC 9110 §11.1), or nil.
    static func bearerToken(_ value: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        let scheme = Array("bearer".utf8)
        guard value.count > scheme.count + 1 else { return nil }
        let start = value.startIndex
        for (i, c) in scheme.enumerated() where value[start + i] | 0x20 != c { return nil }
        var rest = value.dropFirst(scheme.count)
        guard rest.first == 0x20 || rest.first == 0x09 else { return nil }
        while rest.first == 0x20 || rest.first == 0x09 { rest = rest.dropFirst() }
        return rest.isEmpty ? nil : rest
    }
}
