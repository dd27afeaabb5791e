// What `sdedit serve` was started with, apart from the model options (those belong to the jobs).
import Foundation
import SDCore

public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 7860
    /// "user:pass" for HTTP basic auth on every route; nil = no auth.
    public var apiAuth: String?
    /// Origins a browser page may call from; empty = no CORS headers.
    public var corsOrigins: [String] = []
    public var maxPixels = Image.defaultMaxPixels
    public var maxBodyBytes = 64 << 20
    /// Where every generated PNG is also written; nil = nowhere (no file is written).
    public var outdir: String?

    public init() {}

    /// --api-auth must be USER:PASS with a non-empty user.
    public static func checkAuth(_ s: String) throws {
        guard let colon = s.firstIndex(of: ":"), colon != s.startIndex else {
            throw SDError.invalidInput("--api-auth must be USER:PASS")
        }
    }
}
