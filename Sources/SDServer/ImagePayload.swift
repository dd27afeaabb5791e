// Images in JSON bodies: base64 PNG/JPEG, with or without a `data:image/...;base64,` prefix (A1111's
// decode_base64_to_image in modules/api/api.py strips one), refused from the header when larger than
// --max-pixels before any pixel is decoded (SDCore's Image.decode reads the header first).
import Foundation
import SDCore

enum ImagePayload {
    /// The image in `text` (field `field` of the request), or a 422 naming the field.
    static func decode(_ text: String, field: String, maxPixels: Int) throws -> Image {
        do {
            return try Image.decode(try bytes(text, field: field), name: field, maxPixels: maxPixels)
        } catch let e as SDError {
            throw APIError.unprocessable("\(e)")
        }
    }

    /// The bytes of a base64 (or base64 data: URL) field.
    static func bytes(_ text: String, field: String) throws -> [UInt8] {
        var body = Substring(text)
        if body.hasPrefix("data:") {
            guard let comma = body.firstIndex(of: ",") else {
                throw APIError.unprocessable("\(field): a data: URL without a comma")
            }
            guard body[..<comma].hasSuffix(";base64") else {
                throw APIError.unprocessable("\(field): only base64 data: URLs are accepted")
            }
            body = body[body.index(after: comma)...]
        }
        // Python's base64.b64decode (validate=False), which A1111 calls, skips characters outside
        // the alphabet (line breaks of wrapped base64) but needs the padding.
        guard let data = Data(base64Encoded: String(body), options: .ignoreUnknownCharacters), !data.isEmpty else {
            throw APIError.unprocessable("\(field): not valid base64")
        }
        return [UInt8](data)
    }

    /// PNG bytes as the plain base64 A1111 answers with (no data: prefix).
    static func encode(_ png: [UInt8]) -> String { Data(png).base64EncodedString() }
}
