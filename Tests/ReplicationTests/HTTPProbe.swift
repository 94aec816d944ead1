import Foundation
import Glibc
import PaymentsPlatform

/// One HTTP/1.0 request over a real TCP connection: the status code and the body.
enum HTTPProbe {
    static func request(port: Int, _ method: String, _ path: String, body: String = "") throws -> (status: Int, body: String) {
        let fd = try Socket.connect(to: try SocketAddress.hostPort("127.0.0.1:\(port)"))
        defer { try? fd.close() }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd.rawValue, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = "\(method) \(path) HTTP/1.0\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        _ = Array(request.utf8).withUnsafeBytes { Glibc.send(fd.rawValue, $0.baseAddress, $0.count, 0) }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.recv(fd.rawValue, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response.append(contentsOf: chunk[0..<n])
        }
        let text = String(decoding: response, as: UTF8.self)
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (status, body)
    }
}
