import Testing
@testable import PaymentsReplication

// The time limits added to an operator's connection string: only those it does not name, in
// the form it is written in (URI query parameters or keywords).
@Suite struct ConnectionDefaultsTests {
    @Test func uriGainsMissingParametersAndKeepsTheOperatorsOwn() {
        let uri = ConnectionDefaults.apply(to: "postgresql://u@h1,h2/db?target_session_attrs=read-write&connect_timeout=30")
        #expect(uri.hasPrefix("postgresql://u@h1,h2/db?target_session_attrs=read-write&connect_timeout=30&"))
        #expect(uri.components(separatedBy: "connect_timeout=").count == 2, "the operator's 30 stays the only one: \(uri)")
        #expect(uri.contains("&tcp_user_timeout=10000") && uri.contains("&keepalives_idle=5"))
        #expect(ConnectionDefaults.apply(to: "postgres://h/db").hasPrefix("postgres://h/db?connect_timeout=5&"))
    }

    @Test func keywordStringGainsMissingKeywords() {
        let keywords = ConnectionDefaults.apply(to: "host=h dbname=payments tcp_user_timeout = 2000")
        #expect(keywords.hasPrefix("host=h dbname=payments tcp_user_timeout = 2000 connect_timeout=5"))
        #expect(!keywords.contains("tcp_user_timeout=10000"), "\(keywords)")
        #expect(ConnectionDefaults.apply(to: "") == "connect_timeout=5 tcp_user_timeout=10000 keepalives_idle=5 keepalives_interval=2 keepalives_count=3")
    }
}
