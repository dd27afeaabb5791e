// Errors as HTTP answers: every failure a client can cause is a 4xx with a JSON {"detail": ...} body
// (FastAPI's shape, which A1111's clients read), never a 500 or a dropped connection.
import Foundation
import Hummingbird
import SDCore

public struct APIError: Error, CustomStringConvertible, Sendable {
    public let status: HTTPResponse.Status
    public let detail: String
    public init(_ status: HTTPResponse.Status, _ detail: String) { self.status = status; self.detail = detail }
    public var description: String { "\(status.code) \(detail)" }

    public static func unprocessable(_ detail: String) -> APIError { APIError(.unprocessableContent, detail) }
    public static func notFound(_ detail: String) -> APIError { APIError(.notFound, detail) }

    /// The answer to an error thrown by a job: bad input and unknown models are the client's (4xx);
    /// anything else is the server's, reported without a stack or a path outside the request.
    public static func from(_ error: Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as SDError:
            switch e {
            case .invalidInput, .badFile, .nonFinite: return .unprocessable("\(e)")
            // A file the request named (a LoRA tag, a checkpoint) that cannot be read.
            case .missingModel, .io: return APIError(.notFound, "\(e)")
            case .ioWrite: return APIError(.internalServerError, "\(e)")
            }
        case let e as HTTPResponseError where e.status == .contentTooLarge:
            return APIError(.contentTooLarge, "request body exceeds --max-body-mb")
        case let e as HTTPError: return APIError(e.status, e.body ?? e.status.reasonPhrase)
        case let e as HTTPResponseError: return APIError(e.status, e.status.reasonPhrase)
        case let e as DecodingError: return .unprocessable(describe(e))
        default: return APIError(.internalServerError, "\(error)")
        }
    }

    /// A DecodingError as "field: problem" (the JSON path, like FastAPI's `loc`).
    static func describe(_ e: DecodingError) -> String {
        func path(_ c: DecodingError.Context) -> String {
            let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "body" : p
        }
        switch e {
        case .typeMismatch(let t, let c): return "\(path(c)): expected \(t)"
        case .valueNotFound(let t, let c): return "\(path(c)): expected \(t), found null"
        case .keyNotFound(let k, let c): return "\(path(c)).\(k.stringValue): field required"
        case .dataCorrupted(let c): return "\(path(c)): \(c.debugDescription)"
        @unknown default: return "malformed request"
        }
    }

    var response: Response {
        let body = (try? JSONEncoder().encode(["detail": detail])) ?? Data("{\"detail\":\"error\"}".utf8)
        var headers: HTTPFields = [.contentType: "application/json"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Basic realm=\"sdedit\"" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Turns every error below it (routing's 404 and 405 included) into a JSON {detail} answer.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do { return try await next(request, context) } catch { return APIError.from(error).response }
    }
}
