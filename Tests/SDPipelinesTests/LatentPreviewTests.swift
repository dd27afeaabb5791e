// A1111's "Approx cheap" live preview (SDPipelines/LatentPreview.swift) against its Python twin
// (scripts/fixtures_preview.py → fixtures/preview/cheap.json: torch einsum, clamp, astype(uint8)).
import Foundation
import SDCore
import SDPipelines
import SDTestSupport
import XCTest

final class LatentPreviewTests: XCTestCase {
    func testCheapPreviewMatchesA1111() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("preview/cheap.json")))
        let j = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let shape = try XCTUnwrap(j["shape"] as? [Int])
        let latents = Tensor(shape: shape, storage: try XCTUnwrap(j["latents"] as? [Double]).map(Float.init))
        let want = try XCTUnwrap(j["rgb"] as? [Int])
        let image = LatentPreview.cheapRGB(latents)
        XCTAssertEqual([image.width, image.height, image.channels], [shape[3], shape[2], 3])
        XCTAssertEqual(image.samples8.map(Int.init), want)
    }
}
