// The routes of SPEC §7: every route, its ids' bounds, 404s and 405s with Allow.

@testable import PaymentsServer
import Testing

@Suite struct HTTPRouterTests {
    private func route(_ method: HTTPMethod, _ path: String) -> HTTPRouteResult {
        HTTPRouter.route(method: method, path: ArraySlice(path.utf8))
    }

    @Test(arguments: [
        ("/healthz", HTTPRoute.healthz),
        ("/clients", .clients),
        ("/clients/0", .client(0)),
        ("/clients/65535", .client(65535)),
        ("/clients/007", .client(7)),
        ("/clients/12/transactions", .clientTransactions(12)),
        ("/transactions/0", .transaction(0)),
        ("/transactions/4294967295", .transaction(4_294_967_295)),
        ("/metrics", .metrics),
        ("/healthz/", .healthz),
        ("/clients/", .clients),
        ("/clients/3/transactions/", .clientTransactions(3)),
    ])
    func getRoutes(path: String, expected: HTTPRoute) {
        #expect(route(.get, path) == .route(expected, headOnly: false))
        #expect(route(.head, path) == .route(expected, headOnly: true))
        #expect(route(.post, path) == .methodNotAllowed(allow: "GET, HEAD"))
        #expect(route(.delete, path) == .methodNotAllowed(allow: "GET, HEAD"))
        #expect(route(.other, path) == .methodNotAllowed(allow: "GET, HEAD"))
    }

    @Test func postTransactions() {
        #expect(route(.post, "/transactions") == .route(.postTransactions, headOnly: false))
        #expect(route(.post, "/transactions/") == .route(.postTransactions, headOnly: false))
        #expect(route(.get, "/transactions") == .methodNotAllowed(allow: "POST"))
        #expect(route(.head, "/transactions") == .methodNotAllowed(allow: "POST"))
        #expect(route(.put, "/transactions") == .methodNotAllowed(allow: "POST"))
    }

    @Test(arguments: [
        "/", "", "healthz", "/healthz//", "//healthz", "/healthzz", "/Healthz", "/health", "/metrics/x",
        "/clients/65536", "/clients/-1", "/clients/1a", "/clients/%31", "/clients/99999999999999999999999",
        "/clients//transactions", "/clients/1/transaction", "/clients/1/transactions/2",
        "/transactions/4294967296", "/transactions/x", "/transactions/1/2", "/clients/+1", "*",
    ])
    func unknownPathsAre404(path: String) {
        #expect(route(.get, path) == .notFound)
        #expect(route(.post, path) == .notFound)
    }

    @Test func routesAParsedRequestIgnoringTheQuery() throws {
        let rs = HTTPTestFeed.requests("HEAD /clients/5/transactions?limit=3 HTTP/1.1\r\nHost: h\r\n\r\n")
        let r = try #require(rs.first)
        #expect(HTTPRouter.route(r) == .route(.clientTransactions(5), headOnly: true))
    }
}
