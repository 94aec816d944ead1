import ChildProcessSupport
import Foundation

/// A test CA, a server certificate and a client certificate it signed, made by the real
/// `openssl` command in a directory of the caller's (each command time-limited, through
/// `ChildProcess`). P-256 keys: generated in milliseconds.
///
/// The server certificate names `localhost`, `127.0.0.1` and `::1`; the client certificate's
/// subject is `/CN=<clientName>`. Every file is PEM; keys are unencrypted.
///
///     let certificates = try TestCertificates.make(in: directory)
///     TLSContext.server(identity: TLSIdentity(certificateChain: certificates.serverCertificate,
///                                             privateKey: certificates.serverKey))
public struct TestCertificates: Sendable {
    public let directory: String
    public let caCertificate: String
    public let caKey: String
    public let serverCertificate: String
    public let serverKey: String
    public let clientCertificate: String
    public let clientKey: String

    /// How long one `openssl` command may take: reached only when something is broken.
    public static let commandSeconds = 30.0

    /// Makes the CA and both certificates in `directory` (which must exist), file names prefixed
    /// with `prefix` so that two sets (say, a trusted CA and a stranger) can share a directory.
    public static func make(
        in directory: String, prefix: String = "", serverName: String = "localhost", clientName: String = "client-1",
        caName: String = "payments test CA"
    ) throws -> TestCertificates {
        func path(_ name: String) -> String { "\(directory)/\(prefix)\(name)" }
        let config = path("openssl.cnf")
        try Data(configuration(serverName: serverName).utf8).write(to: URL(fileURLWithPath: config))
        let certificates = TestCertificates(
            directory: directory, caCertificate: path("ca.pem"), caKey: path("ca.key"),
            serverCertificate: path("server.pem"), serverKey: path("server.key"),
            clientCertificate: path("client.pem"), clientKey: path("client.key"))
        let newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try openssl(
            ["req", "-x509", "-config", config, "-extensions", "ca_ext", "-days", "3650", "-subj", "/CN=\(caName)"]
                + newKey + ["-keyout", certificates.caKey, "-out", certificates.caCertificate], in: directory)
        for (name, key, certificate, extensions, serial) in [
            (serverName, certificates.serverKey, certificates.serverCertificate, "server_ext", "2"),
            (clientName, certificates.clientKey, certificates.clientCertificate, "client_ext", "3"),
        ] {
            let request = certificate + ".csr"
            try openssl(
                ["req", "-new", "-config", config, "-subj", "/CN=\(name)"] + newKey + ["-keyout", key, "-out", request],
                in: directory)
            try openssl(
                [
                    "x509", "-req", "-in", request, "-CA", certificates.caCertificate, "-CAkey", certificates.caKey,
                    "-set_serial", serial, "-days", "3650", "-extfile", config, "-extensions", extensions,
                    "-out", certificate,
                ], in: directory)
        }
        return certificates
    }

    /// Runs `openssl` with `arguments`; a failure throws with its standard error.
    public static func openssl(_ arguments: [String], in directory: String) throws {
        let errors = "\(directory)/openssl-\(UUID().uuidString).err"
        defer { try? FileManager.default.removeItem(atPath: errors) }
        let child = try ChildProcess(opensslPath, arguments, stderrPath: errors)
        let status = try child.wait(seconds: commandSeconds, for: "openssl \(arguments.first ?? "")")
        guard status == 0 else {
            let text = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
            throw ChildProcessError("openssl \(arguments.joined(separator: " ")) exited \(status): \(text)")
        }
    }

    /// The `openssl` command: the first on `PATH`, usually /usr/bin/openssl.
    public static var opensslPath: String {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
        for directory in directories where FileManager.default.isExecutableFile(atPath: "\(directory)/openssl") {
            return "\(directory)/openssl"
        }
        return "/usr/bin/openssl"
    }

    private static func configuration(serverName: String) -> String {
        """
        [req]
        distinguished_name = dn
        prompt = no
        [dn]
        CN = unused
        [ca_ext]
        basicConstraints = critical,CA:TRUE
        keyUsage = critical,keyCertSign,cRLSign
        subjectKeyIdentifier = hash
        [server_ext]
        basicConstraints = CA:FALSE
        keyUsage = critical,digitalSignature,keyEncipherment
        extendedKeyUsage = serverAuth
        subjectAltName = DNS:\(serverName),IP:127.0.0.1,IP:::1
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid
        [client_ext]
        basicConstraints = CA:FALSE
        keyUsage = critical,digitalSignature
        extendedKeyUsage = clientAuth
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid

        """
    }
}
