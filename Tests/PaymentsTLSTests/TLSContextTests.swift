import Foundation
import Glibc
import PaymentsPlatform
import PaymentsTLS
import TLSTestSupport
import Testing

/// What `--tls-cert`, `--tls-key`, `--tls-client-ca` and `--cacert` refuse at start: one line
/// naming the file and what is wrong with it.
@Suite struct TLSContextTests {
    @Test func goodFilesMakeContexts() throws {
        let set = try Certificates.trusted.get()
        _ = try TLSContext.server(identity: Certificates.serverIdentity(set))
        _ = try TLSContext.server(identity: Certificates.serverIdentity(set), clientCA: set.caCertificate)
        _ = try TLSContext.client(caFile: set.caCertificate, identity: Certificates.clientIdentity(set))
        _ = try TLSContext.client()
    }

    @Test func missingKeyFileIsNamedWithErrnoText() throws {
        let set = try Certificates.trusted.get()
        let missing = set.directory + "/no-such.key"
        let error = #expect(throws: TLSError.self) {
            try TLSContext.server(identity: TLSIdentity(certificateChain: set.serverCertificate, privateKey: missing))
        }
        guard case .unreadableFile(.privateKey, missing, let systemError)? = error else {
            Issue.record("expected unreadableFile for the key, got \(String(describing: error))")
            return
        }
        #expect(systemError.errno == ENOENT)
        #expect(error?.description == "cannot read TLS private key \(missing): No such file or directory")
    }

    /// Root reads any file whatever its mode: there this test is skipped.
    @Test(.enabled(if: geteuid() != 0, "root reads files whatever their mode"))
    func unreadableKeyFileIsNamed() throws {
        let set = try Certificates.trusted.get()
        let directory = try temporaryDirectory()
        let key = directory + "/server.key"
        try FileManager.default.copyItem(atPath: set.serverKey, toPath: key)
        chmod(key, 0)
        let error = #expect(throws: TLSError.self) {
            try TLSContext.server(identity: TLSIdentity(certificateChain: set.serverCertificate, privateKey: key))
        }
        #expect(error?.description == "cannot read TLS private key \(key): Permission denied")
    }

    @Test func certificateThatIsNotPEMIsNamed() throws {
        let set = try Certificates.trusted.get()
        let directory = try temporaryDirectory()
        let garbage = directory + "/server.pem"
        try writeFile(garbage, "this is not a certificate\n")
        let error = #expect(throws: TLSError.self) {
            try TLSContext.server(identity: TLSIdentity(certificateChain: garbage, privateKey: set.serverKey))
        }
        guard case .invalidFile(.certificate, garbage, _)? = error else {
            Issue.record("expected invalidFile for the certificate, got \(String(describing: error))")
            return
        }
        #expect(error!.description.hasPrefix("TLS certificate \(garbage): not a usable PEM certificate chain ("))
        #expect(!error!.description.contains("\n"))
    }

    @Test func keyFileHoldingACertificateIsNamed() throws {
        let set = try Certificates.trusted.get()
        let error = #expect(throws: TLSError.self) {
            try TLSContext.server(
                identity: TLSIdentity(certificateChain: set.serverCertificate, privateKey: set.serverCertificate))
        }
        guard case .invalidFile(.privateKey, set.serverCertificate, _)? = error else {
            Issue.record("expected invalidFile for the key, got \(String(describing: error))")
            return
        }
    }

    /// The client's key with the server's certificate: both files named.
    @Test func keyNotMatchingCertificateIsRefused() throws {
        let set = try Certificates.trusted.get()
        let error = #expect(throws: TLSError.self) {
            try TLSContext.server(identity: TLSIdentity(certificateChain: set.serverCertificate, privateKey: set.clientKey))
        }
        guard case .keyMismatch(set.serverCertificate, set.clientKey, _)? = error else {
            Issue.record("expected keyMismatch, got \(String(describing: error))")
            return
        }
        let text = error!.description
        #expect(text.hasPrefix("TLS private key \(set.clientKey) does not match TLS certificate \(set.serverCertificate) ("))
    }

    /// An encrypted key fails at once: no passphrase prompt on the terminal of a daemon.
    @Test func encryptedKeyFailsWithoutPrompting() throws {
        let set = try Certificates.trusted.get()
        let directory = try temporaryDirectory()
        let encrypted = directory + "/encrypted.key"
        try TestCertificates.openssl(
            ["pkey", "-in", set.serverKey, "-aes256", "-passout", "pass:secret", "-out", encrypted], in: directory)
        let error = #expect(throws: TLSError.self) {
            try TLSContext.server(identity: TLSIdentity(certificateChain: set.serverCertificate, privateKey: encrypted))
        }
        guard case .invalidFile(.privateKey, encrypted, _)? = error else {
            Issue.record("expected invalidFile for the key, got \(String(describing: error))")
            return
        }
    }

    @Test func badClientCAFileIsNamed() throws {
        let set = try Certificates.trusted.get()
        let directory = try temporaryDirectory()
        let garbage = directory + "/client-ca.pem"
        try writeFile(garbage, "not a CA\n")
        let error = #expect(throws: TLSError.self) {
            try TLSContext.server(identity: Certificates.serverIdentity(set), clientCA: garbage)
        }
        guard case .invalidFile(.clientCA, garbage, _)? = error else {
            Issue.record("expected invalidFile for the client CA, got \(String(describing: error))")
            return
        }
        #expect(error!.description.hasPrefix("TLS client CA file \(garbage): not a usable file of PEM CA certificates ("))

        let missing = directory + "/missing-ca.pem"
        let missingError = #expect(throws: TLSError.self) {
            try TLSContext.server(identity: Certificates.serverIdentity(set), clientCA: missing)
        }
        #expect(missingError?.description == "cannot read TLS client CA file \(missing): No such file or directory")
    }

    @Test func badClientTrustFileIsNamed() throws {
        let directory = try temporaryDirectory()
        let empty = directory + "/empty.pem"
        try writeFile(empty, "")
        let error = #expect(throws: TLSError.self) { try TLSContext.client(caFile: empty) }
        guard case .invalidFile(.trustedCA, empty, _)? = error else {
            Issue.record("expected invalidFile for the CA file, got \(String(describing: error))")
            return
        }
    }
}
