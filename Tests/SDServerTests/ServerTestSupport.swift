// In-process requests to an SDServer on FakeJobs (HummingbirdTesting's .router mode: no socket).
import Foundation
import Hummingbird
import HummingbirdTesting
import SDCore
@testable import SDServer
import XCTest

struct Answer {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: Data
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    var array: [[String: Any]] { (try? JSONSerialization.jsonObject(with: body)) as? [[String: Any]] ?? [] }
    var detail: String? { json["detail"] as? String }
}

func testServer(_ configure: (inout ServerConfiguration) -> Void = { _ in }, jobs: FakeJobs = FakeJobs()) -> SDServer {
    var config = ServerConfiguration()
    configure(&config)
    return SDServer(config: config, jobs: jobs)
}

/// Run `body` with a client of `server`.
func withClient(_ server: SDServer, _ body: @escaping @Sendable (TestClientProtocol) async throws -> Void) async throws {
    let app = Application(router: server.makeRouter())
    try await app.test(.router) { client in try await body(client) }
}

extension TestClientProtocol {
    func send(_ method: HTTPRequest.Method, _ uri: String, json: Any? = nil, raw: String? = nil, bytes: [UInt8]? = nil,
              headers: HTTPFields = [:]) async throws -> Answer {
        var buffer: ByteBuffer? = nil
        if let j = json { buffer = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: j)) }
        if let r = raw { buffer = ByteBuffer(string: r) }
        if let b = bytes { buffer = ByteBuffer(bytes: b) }
        var h = headers
        if buffer != nil && h[.contentType] == nil { h[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: h, body: buffer) { r in
            Answer(status: r.status, headers: r.headers, body: Data(r.body.readableBytesView))
        }
    }
}

/// A base64 PNG of `w`×`h` grey pixels.
func pngBase64(_ w: Int, _ h: Int, value: UInt8 = 128) throws -> String {
    Data(try Image(width: w, height: h, channels: 3, samples8: [UInt8](repeating: value, count: w * h * 3)).encodePNG()).base64EncodedString()
}

/// The `info` string of a generation answer, parsed.
func info(_ a: Answer) -> [String: Any] {
    guard let s = a.json["info"] as? String else { return [:] }
    return (try? JSONSerialization.jsonObject(with: Data(s.utf8))) as? [String: Any] ?? [:]
}
