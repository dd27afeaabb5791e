// Basic auth on every route (A1111's --api-auth, modules/api/api.py auth()) with a constant-time
// compare, and CORS for the listed origins (--cors-allow-origins), answered before auth so a
// browser's credential-less preflight succeeds.
import Foundation
import Hummingbird

struct BasicAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    /// "user:pass" as bytes.
    let expected: [UInt8]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.count > 6,
              header.prefix(6).lowercased() == "basic ",
              let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              Self.constantTimeEqual([UInt8](decoded), expected) else {
            throw APIError(.unauthorized, "Incorrect username or password")
        }
        return try await next(request, context)
    }

    /// Equal bytes, in time that depends on the lengths only (secrets.compare_digest's contract).
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt64(a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? a[i] : 0, y = i < b.count ? b[i] : 0
            diff |= UInt64(x ^ y)
        }
        return diff == 0
    }
}

struct CORSOriginsMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Allowed origins; "*" allows any.
    let origins: [String]

    /// A trailing slash is dropped: openOutpaint tells users to pass `--cors-allow-origins=http://host:port/`,
    /// while browsers send the Origin header without it.
    init(origins: [String]) {
        self.origins = origins.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        let allowed = origins.contains("*") ? "*" : origins.first { $0 == origin }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var headers: HTTPFields = [:]
            if let a = allowed {
                headers[.accessControlAllowOrigin] = a
                headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
                headers[.accessControlAllowHeaders] = "Authorization, Content-Type, Accept, Origin"
                headers[.accessControlMaxAge] = "600"
            }
            headers[.vary] = "Origin"
            return Response(status: .noContent, headers: headers)
        }
        var response = try await next(request, context)
        if let a = allowed {
            response.headers[.accessControlAllowOrigin] = a
            response.headers[.vary] = "Origin"
        }
        return response
    }
}
