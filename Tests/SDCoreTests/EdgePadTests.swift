// Image.edgePadded against numpy's np.pad(mode="edge"). The expected samples were printed by
// numpy (scripts/requirements.txt's pin) with:
//   a = (np.arange(12).reshape(2, 3, 2) * 7 % 251).astype(np.uint16)        # H 2, W 3, 2 channels
//   np.pad(a, ((1, 2), (2, 1), (0, 0)), mode="edge").flatten().tolist()     # top 1, bottom 2, left 2, right 1
import SDCore
import XCTest

final class EdgePadTests: XCTestCase {
    let image = Image(width: 3, height: 2, channels: 2, samples8: [0, 7, 14, 21, 28, 35, 42, 49, 56, 63, 70, 77])

    func testMatchesNumpyEdgePad() {
        let p = image.edgePadded(left: 2, top: 1, right: 1, bottom: 2)
        XCTAssertEqual([p.width, p.height, p.channels, p.bitDepth], [6, 5, 2, 8])
        XCTAssertEqual(p.samples8, [0, 7, 0, 7, 0, 7, 14, 21, 28, 35, 28, 35, 0, 7, 0, 7, 0, 7, 14, 21, 28, 35, 28, 35,
                                   42, 49, 42, 49, 42, 49, 56, 63, 70, 77, 70, 77, 42, 49, 42, 49, 42, 49, 56, 63, 70, 77, 70, 77,
                                   42, 49, 42, 49, 42, 49, 56, 63, 70, 77, 70, 77])
    }

    func testNoPaddingIsTheSameImage() {
        XCTAssertEqual(image.edgePadded(), image)
    }
}
