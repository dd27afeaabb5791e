// GET /openapi.json: an OpenAPI 3.0 description of every route served (written here, not generated:
// the request types decode leniently, as pydantic does, and the document states what they accept),
// so schemathesis can fuzz the server. GET /docs: a page listing the routes.
import Foundation

enum OpenAPIDocument {
    static let json: String = {
        let data = (try? JSONEncoder().encode(document)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }()

    // MARK: Schema helpers

    static func obj(_ pairs: [(String, JSONValue)]) -> JSONValue { .object(pairs) }
    static func type(_ t: String) -> JSONValue { obj([("type", .string(t))]) }
    static func int(_ lo: Int? = nil, _ hi: Int? = nil) -> JSONValue {
        var p: [(String, JSONValue)] = [("type", .string("integer"))]
        if let lo { p.append(("minimum", .number(Double(lo)))) }
        if let hi { p.append(("maximum", .number(Double(hi)))) }
        return obj(p)
    }
    static func ref(_ name: String) -> JSONValue { obj([("$ref", .string("#/components/schemas/\(name)"))]) }
    static func array(_ items: JSONValue) -> JSONValue { obj([("type", .string("array")), ("items", items)]) }
    static func object(_ props: [(String, JSONValue)], required: [String] = []) -> JSONValue {
        var p: [(String, JSONValue)] = [("type", .string("object")), ("properties", obj(props))]
        if !required.isEmpty { p.append(("required", .array(required.map { .string($0) }))) }
        return obj(p)
    }
    static let string = type("string"), number = type("number"), boolean = type("boolean"), anyObject = type("object")

    static func json(_ schema: JSONValue) -> JSONValue { obj([("application/json", obj([("schema", schema)]))]) }

    /// An operation: a JSON body (when given), 200 with `answer`, and the JSON errors it can give.
    static func op(_ summary: String, body: JSONValue? = nil, answer: JSONValue, errors: [Int] = []) -> JSONValue {
        var responses: [(String, JSONValue)] = [("200", obj([("description", .string("OK")), ("content", json(answer))]))]
        for code in [401] + errors {
            responses.append(("\(code)", obj([("description", .string(errorText[code] ?? "error")), ("content", json(ref("HTTPError")))])))
        }
        var p: [(String, JSONValue)] = [("summary", .string(summary))]
        if let b = body { p.append(("requestBody", obj([("required", .bool(true)), ("content", json(b))]))) }
        p.append(("responses", obj(responses)))
        return obj(p)
    }

    static let errorText = [401: "--api-auth is set and the credentials are missing or wrong", 404: "unknown checkpoint",
                            413: "body larger than --max-body-mb", 422: "invalid request (detail says which field)",
                            503: "shutting down"]
    static let bodyErrors = [413, 422]
    static let jobErrors = [404, 413, 422, 503]

    // MARK: Schemas (modules/api/models.py)

    static let generationFields: [(String, JSONValue)] = [
        ("prompt", string), ("negative_prompt", string), ("seed", int()), ("batch_size", int(1, 64)),
        ("n_iter", int(1, 100)), ("steps", int(1, 1000)), ("cfg_scale", number), ("sampler_name", string),
        ("scheduler", string), ("width", int(8, 8192)), ("height", int(8, 8192)),
        ("override_settings", anyObject), ("styles", array(string)),
    ]
    static let img2imgFields: [(String, JSONValue)] = [
        ("init_images", array(string)), ("mask", string), ("mask_blur", int(0, 256)), ("inpainting_fill", int(0, 3)),
        ("inpaint_full_res", boolean), ("inpaint_full_res_padding", int(0, 4096)), ("inpainting_mask_invert", int(0, 1)),
        ("denoising_strength", number),
    ]

    static let schemas: [(String, JSONValue)] = [
        ("HTTPError", object([("detail", string)], required: ["detail"])),
        ("Txt2ImgRequest", object(generationFields)),
        ("Img2ImgRequest", object(generationFields + img2imgFields, required: ["init_images"])),
        ("GenerationResponse", object([("images", array(string)), ("parameters", anyObject), ("info", string)],
                                      required: ["images", "parameters", "info"])),
        ("Progress", object([("progress", number), ("eta_relative", number), ("state", anyObject),
                             ("current_image", obj([("type", .string("string")), ("nullable", .bool(true))])),
                             ("textinfo", obj([("type", .string("string")), ("nullable", .bool(true))]))])),
        ("PNGInfoRequest", object([("image", string)], required: ["image"])),
        ("PNGInfoResponse", object([("info", string), ("items", anyObject), ("parameters", anyObject)])),
        ("ExtrasSingleImageRequest", object([("image", string), ("upscaler_1", string), ("upscaling_resize", number)],
                                            required: ["image"])),
        ("ExtrasSingleImageResponse", object([("html_info", string), ("image", string)])),
    ]

    static let v1 = "/sdapi/v1"
    static let paths: [(String, JSONValue)] = [
        ("\(v1)/txt2img", obj([("post", op("Generate images from a prompt", body: ref("Txt2ImgRequest"),
                                           answer: ref("GenerationResponse"), errors: jobErrors))])),
        ("\(v1)/img2img", obj([("post", op("Edit init_images[0]; with a mask, inpaint (an inpainting checkpoint)",
                                           body: ref("Img2ImgRequest"), answer: ref("GenerationResponse"), errors: jobErrors))])),
        ("/sdedit/v1/depth2img", obj([("post", op("sdedit's depth2img: img2img fields, guided by the estimated depth (a depth checkpoint)",
                                                  body: ref("Img2ImgRequest"), answer: ref("GenerationResponse"), errors: jobErrors))])),
        ("\(v1)/progress", obj([("get", op("Progress of the running job", answer: ref("Progress")))])),
        ("\(v1)/interrupt", obj([("post", op("Stop the running job after its current step", answer: anyObject))])),
        ("\(v1)/skip", obj([("post", op("Stop the image in progress; the job goes on with the next", answer: anyObject))])),
        ("\(v1)/options", obj([("get", op("Options (sd_model_checkpoint and every key set)", answer: anyObject)),
                               ("post", op("Set options; sd_model_checkpoint loads that checkpoint", body: anyObject,
                                           answer: anyObject, errors: jobErrors))])),
        ("\(v1)/sd-models", obj([("get", op("Checkpoints in --models-dir and --model", answer: array(anyObject)))])),
        ("\(v1)/samplers", obj([("get", op("Samplers", answer: array(anyObject)))])),
        ("\(v1)/schedulers", obj([("get", op("Schedulers", answer: array(anyObject)))])),
        ("\(v1)/upscalers", obj([("get", op("Upscalers", answer: array(anyObject)))])),
        ("\(v1)/loras", obj([("get", op("LoRA files in --lora-dir", answer: array(anyObject)))])),
        ("\(v1)/embeddings", obj([("get", op("Textual-inversion words: --embeddings files and the loaded LoRAs' bundled ones", answer: anyObject))])),
        ("\(v1)/prompt-styles", obj([("get", op("Prompt styles (none)", answer: array(anyObject)))])),
        ("\(v1)/scripts", obj([("get", op("Scripts (none)", answer: anyObject))])),
        ("\(v1)/png-info", obj([("post", op("The text chunks of a PNG and its parsed A1111 parameters",
                                            body: ref("PNGInfoRequest"), answer: ref("PNGInfoResponse"), errors: bodyErrors))])),
        ("\(v1)/extra-single-image", obj([("post", op("Upscale an image ×4 with the x4 upscaler",
                                                      body: ref("ExtrasSingleImageRequest"), answer: ref("ExtrasSingleImageResponse"),
                                                      errors: jobErrors + [501]))])),
        ("/openapi.json", obj([("get", op("This document", answer: anyObject))])),
    ]

    static let document: JSONValue = obj([
        ("openapi", .string("3.0.3")),
        ("info", obj([("title", .string("sdedit serve")), ("version", .string("1")),
                      ("description", .string("The AUTOMATIC1111 web API subset sdedit serves (modules/api/api.py), plus /sdedit/v1/depth2img. Every route also answers with a trailing slash."))])),
        ("paths", obj(paths)),
        ("components", obj([("schemas", obj(schemas)),
                            ("securitySchemes", obj([("basic", obj([("type", .string("http")), ("scheme", .string("basic"))]))]))])),
    ])

    static let docsPage: String = {
        var html = "<!doctype html><html><head><meta charset=\"utf-8\"><title>sdedit serve</title></head><body>"
        html += "<h1>sdedit serve</h1><p>The AUTOMATIC1111 API subset sdedit serves. Machine-readable: <a href=\"/openapi.json\">/openapi.json</a>.</p><ul>"
        for (path, item) in paths {
            guard case .object(let ops) = item else { continue }
            for (method, o) in ops {
                html += "<li><code>\(method.uppercased()) \(path)</code> — \(o["summary"]?.stringValue ?? "")</li>"
            }
        }
        return html + "</ul></body></html>"
    }()
}
