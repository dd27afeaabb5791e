// A reader of the EXIF UserComment in JPEG outputs, for the tests: independent of the writer under test.

/// The EXIF UserComment (Exif IFD tag 0x9286, "UNICODE\0" + UTF-16BE or "ASCII\0\0\0") of a JPEG, read
/// independently of the writer under test.
public func userComment(_ jpeg: [UInt8]) -> String? {
    var i = 2
    var tiff: [UInt8]? = nil
    while i + 4 <= jpeg.count, jpeg[i] == 0xFF, jpeg[i + 1] != 0xDA {
        let len = Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3])
        let body = Array(jpeg[(i + 4)..<min(jpeg.count, i + 2 + len)])
        if jpeg[i + 1] == 0xE1, body.starts(with: Array("Exif".utf8) + [0, 0]) { tiff = Array(body.dropFirst(6)); break }
        i += 2 + len
    }
    guard let t = tiff else { return nil }
    let le = t[0] == 0x49
    func u16(_ o: Int) -> Int { le ? Int(t[o]) | Int(t[o + 1]) << 8 : Int(t[o]) << 8 | Int(t[o + 1]) }
    func u32(_ o: Int) -> Int { le ? u16(o) | u16(o + 2) << 16 : u16(o) << 16 | u16(o + 2) }
    func entry(_ ifd: Int, _ tag: Int) -> Int? {
        (0..<u16(ifd)).map { ifd + 2 + 12 * $0 }.first { u16($0) == tag }
    }
    guard let exifPointer = entry(u32(4), 0x8769), let e = entry(u32(exifPointer + 8), 0x9286) else { return nil }
    let count = u32(e + 4), data = Array(t[u32(e + 8)..<(u32(e + 8) + count)])
    if data.starts(with: Array("UNICODE".utf8) + [0]) {
        let units = stride(from: 8, to: data.count - 1, by: 2).map { UInt16(data[$0]) << 8 | UInt16(data[$0 + 1]) }
        return String(decoding: units, as: UTF16.self)
    }
    return String(decoding: data.dropFirst(8), as: UTF8.self)
}
