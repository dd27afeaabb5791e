// Images: decode PNG/JPEG (format from magic bytes, not the extension), encode PNG with tEXt chunks or
// JPEG with a quality, and atomic file IO where "-" means stdin/stdout.
import CImageCodecs
import CSDSystem
import Foundation

public enum ImageFormat: String, CaseIterable { case png, jpeg }

/// Interleaved samples, row-major; `bitDepth` 8 or 16 (16-bit values span 0...65535).
public struct Image: Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var bitDepth: Int
    public var samples: [UInt16]

    public init(width: Int, height: Int, channels: Int, bitDepth: Int = 8, samples: [UInt16]) {
        precondition(samples.count == width * height * channels, "image samples do not match \(width)x\(height)x\(channels)")
        self.width = width; self.height = height; self.channels = channels
        self.bitDepth = bitDepth; self.samples = samples
    }

    public var maxValue: Int { bitDepth == 16 ? 65535 : 255 }

    /// The format named by the leading bytes, or nil.
    public static func sniff(_ bytes: [UInt8]) -> ImageFormat? {
        if bytes.count >= 8 && bytes[0..<8] == [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] { return .png }
        if bytes.count >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff { return .jpeg }
        return nil
    }

    /// Decode PNG or JPEG bytes; `name` is used in error messages.
    /// Images above this many pixels are refused unless the caller raises it (--max-pixels). Pillow's
    /// decompression-bomb threshold (Image.MAX_IMAGE_PIXELS, ≈ 9459²): a 16-bit RGBA image this big
    /// already needs ~2 GB once decoded and converted.
    public static let defaultMaxPixels = 89_478_485

    public static func decode(_ bytes: [UInt8], name: String, maxPixels: Int = Image.defaultMaxPixels) throws -> Image {
        guard let format = sniff(bytes) else {
            throw SDError.badFile(path: name, message: "not a PNG or JPEG file")
        }
        var img = sd_image()
        var err = [CChar](repeating: 0, count: 256)
        let rc = bytes.withUnsafeBufferPointer { p in
            format == .png ? sd_png_decode(p.baseAddress, p.count, Int64(maxPixels), &img, &err, err.count)
                           : sd_jpeg_decode(p.baseAddress, p.count, Int64(maxPixels), &img, &err, err.count)
        }
        if rc != 0 {
            let msg = String(cString: err)
            throw SDError.badFile(path: name, message: "cannot decode \(format == .png ? "PNG" : "JPEG"): \(msg)")
        }
        defer { sd_free(img.pixels) }
        let n = Int(img.width) * Int(img.height) * Int(img.channels)
        let samples: [UInt16]
        if img.bit_depth == 16 {
            let p = img.pixels.assumingMemoryBound(to: UInt16.self)
            samples = Array(UnsafeBufferPointer(start: p, count: n))
        } else {
            let p = img.pixels.assumingMemoryBound(to: UInt8.self)
            samples = UnsafeBufferPointer(start: p, count: n).map { UInt16($0) }
        }
        return Image(width: Int(img.width), height: Int(img.height), channels: Int(img.channels),
                     bitDepth: Int(img.bit_depth), samples: samples)
    }

    /// PNG bytes, with optional tEXt chunks (key, value) written in order.
    public func encodePNG(text: [(String, String)] = []) throws -> [UInt8] {
        var bytes8: [UInt8] = []
        var bytes16: [UInt16] = []
        if bitDepth == 16 { bytes16 = samples } else { bytes8 = samples.map { UInt8(truncatingIfNeeded: $0) } }
        let keys = text.map { strdup($0.0) }, values = text.map { strdup($0.1) }
        defer { keys.forEach { free($0) }; values.forEach { free($0) } }
        var out: UnsafeMutablePointer<UInt8>? = nil
        var len = 0
        var err = [CChar](repeating: 0, count: 256)
        let rc: Int32 = keys.map { UnsafePointer($0) }.withUnsafeBufferPointer { kp in
            values.map { UnsafePointer($0) }.withUnsafeBufferPointer { vp in
                func run(_ px: UnsafeMutableRawPointer) -> Int32 {
                    var img = sd_image(width: Int32(width), height: Int32(height), channels: Int32(channels),
                                       bit_depth: Int32(bitDepth), pixels: px)
                    return sd_png_encode(&img, kp.baseAddress, vp.baseAddress, Int32(text.count), &out, &len, &err, err.count)
                }
                return bitDepth == 16 ? bytes16.withUnsafeMutableBytes { run($0.baseAddress!) }
                                      : bytes8.withUnsafeMutableBytes { run($0.baseAddress!) }
            }
        }
        guard rc == 0, let o = out else { throw SDError.invalidInput("cannot encode PNG: \(String(cString: err))") }
        defer { sd_free(o) }
        return Array(UnsafeBufferPointer(start: o, count: len))
    }

    /// JPEG bytes (8-bit gray or RGB; alpha is dropped, 16-bit is reduced to 8-bit).
    public func encodeJPEG(quality: Int = 95) throws -> [UInt8] {
        let src = self.to8Bit().droppingAlpha()
        var bytes = src.samples.map { UInt8(truncatingIfNeeded: $0) }
        var out: UnsafeMutablePointer<UInt8>? = nil
        var len = 0
        var err = [CChar](repeating: 0, count: 256)
        let rc = bytes.withUnsafeMutableBytes { p -> Int32 in
            var img = sd_image(width: Int32(width), height: Int32(height), channels: Int32(src.channels),
                               bit_depth: 8, pixels: p.baseAddress!)
            return sd_jpeg_encode(&img, Int32(Swift.max(1, Swift.min(100, quality))), &out, &len, &err, err.count)
        }
        guard rc == 0, let o = out else { throw SDError.invalidInput("cannot encode JPEG: \(String(cString: err))") }
        defer { free(o) }
        return Array(UnsafeBufferPointer(start: o, count: len))
    }

    /// Same image with 8-bit samples (16-bit values rounded: v·255/65535).
    public func to8Bit() -> Image {
        if bitDepth == 8 { return self }
        return Image(width: width, height: height, channels: channels, bitDepth: 8,
                     samples: samples.map { UInt16((UInt32($0) * 255 + 32767) / 65535) })
    }

    /// Drop an alpha channel (gray+alpha → gray, RGBA → RGB), as Pillow's convert("RGB") drops alpha.
    public func droppingAlpha() -> Image {
        guard channels == 2 || channels == 4 else { return self }
        let c = channels - 1
        var out = [UInt16](repeating: 0, count: width * height * c)
        for i in 0..<(width * height) { for k in 0..<c { out[i * c + k] = samples[i * channels + k] } }
        return Image(width: width, height: height, channels: c, bitDepth: bitDepth, samples: out)
    }

    /// 8-bit RGB (Pillow's convert("RGB"): gray is replicated, alpha dropped).
    public func rgb8() -> Image {
        let s = to8Bit().droppingAlpha()
        if s.channels == 3 { return s }
        var out = [UInt16](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) { let v = s.samples[i]; out[3 * i] = v; out[3 * i + 1] = v; out[3 * i + 2] = v }
        return Image(width: width, height: height, channels: 3, bitDepth: 8, samples: out)
    }

    /// 8-bit luminance with Pillow's integer formula for RGB → L (ITU-R 601-2: L = R·299/1000 + …,
    /// computed as (R·19595 + G·38470 + B·7471 + 0x8000) >> 16 in libImaging/Convert.c).
    public func luminance8() -> Image {
        let s = to8Bit().droppingAlpha()
        if s.channels == 1 { return s }
        var out = [UInt16](repeating: 0, count: width * height)
        for i in 0..<(width * height) {
            let r = UInt32(s.samples[3 * i]), g = UInt32(s.samples[3 * i + 1]), b = UInt32(s.samples[3 * i + 2])
            out[i] = UInt16((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
        }
        return Image(width: width, height: height, channels: 1, bitDepth: 8, samples: out)
    }
}

// MARK: - Files

public enum ImageIO {
    /// Bytes of `path`, or of stdin for "-", at most `limit` of them (FileInput.read).
    public static func readBytes(_ path: String, limit: Int = Int.max) throws -> [UInt8] {
        try FileInput.read(path, limit: limit)
    }

    /// Largest file that can hold an image of `maxPixels`: 16-bit RGBA stored uncompressed, plus room
    /// for metadata (EXIF, ICC, text chunks).
    public static func byteLimit(maxPixels: Int) -> Int {
        let (raw, overflow) = maxPixels.multipliedReportingOverflow(by: 9)
        return overflow ? Int.max : raw + 64 << 20
    }

    /// The image at `path` ("-": stdin), refused before decoding when over `maxPixels`, turned upright
    /// by its EXIF orientation.
    public static func read(_ path: String, maxPixels: Int = Image.defaultMaxPixels) throws -> Image {
        let bytes = try FileInput.read(path, limit: byteLimit(maxPixels: maxPixels),
                                       limitNote: " for an image within the pixel limit (see --max-pixels)")
        let image = try Image.decode(bytes, name: path == "-" ? "<stdin>" : path, maxPixels: maxPixels)
        return EXIF.orientation(in: bytes).map { image.transposed(orientation: $0) } ?? image
    }

    /// Write bytes atomically: a temporary file in the same directory, then rename.
    /// "-" writes to stdout. A failure leaves no partial file behind.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        func failure(_ what: String, _ p: String = path) -> SDError {
            .ioWrite(path: p, message: "\(what): \(String(cString: strerror(errno)))")
        }
        // write(2), not FileHandle: FileHandle traps on a closed or full stdout (EBADF, EPIPE, ENOSPC).
        if path == "-" {
            guard writeAll(1, bytes) else { throw failure("cannot write", "<stdout>") }
            return
        }
        // An existing output that is not a regular file (/dev/null, a FIFO, a terminal) is written
        // in place: renaming a temporary file over it would replace the device node or the pipe.
        var st = stat()
        if stat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFREG {
            if (st.st_mode & S_IFMT) == S_IFDIR { throw SDError.ioWrite(path: path, message: "is a directory") }
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            if fd < 0 { throw failure("cannot open output") }
            defer { close(fd) }
            guard writeAll(fd, bytes) else { throw failure("cannot write") }
            return
        }
        // A short random name in the same directory (rename must not cross filesystems): it fits
        // beside any legal output name, and a terminating signal removes it (CSystem).
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        var template = Array(((dir.isEmpty ? "." : dir) + "/.sdedit-XXXXXX").utf8CString)
        sd_cleanup_install()
        let fd = mkstemp(&template)
        if fd < 0 { throw failure("cannot create output") }
        let tmp = String(cString: template)
        sd_cleanup_set(tmp)
        defer { sd_cleanup_set(nil) }
        let mask = umask(0)
        umask(mask)
        var ok = fchmod(fd, 0o666 & ~mask) == 0 && writeAll(fd, bytes) && fsync(fd) == 0
        var message = ok ? "" : String(cString: strerror(errno))
        close(fd)
        if ok && rename(tmp, path) != 0 { ok = false; message = String(cString: strerror(errno)) }
        if !ok {
            unlink(tmp)
            throw SDError.ioWrite(path: path, message: "cannot write output: \(message)")
        }
    }

    /// Format to write for `path`: by extension (.jpg/.jpeg → JPEG), PNG otherwise and for stdout.
    public static func format(forPath path: String) -> ImageFormat {
        let ext = (path as NSString).pathExtension.lowercased()
        return ext == "jpg" || ext == "jpeg" ? .jpeg : .png
    }

    public static func write(_ image: Image, to path: String, format: ImageFormat? = nil,
                             text: [(String, String)] = [], jpegQuality: Int = 95) throws {
        let f = format ?? self.format(forPath: path)
        var bytes = f == .png ? try image.encodePNG(text: text) : try image.encodeJPEG(quality: jpegQuality)
        // JPEG has no text chunks: A1111 keeps "parameters" in the EXIF UserComment.
        if f == .jpeg, let p = text.first(where: { $0.0 == "parameters" })?.1 {
            bytes = EXIF.inserting(EXIF.userCommentSegment(p), intoJPEG: bytes) ?? bytes
        }
        try writeAtomically(bytes, to: path)
    }
}

/// write(2) all of `bytes` to `fd`, retrying on EINTR and short writes. false (errno set) on failure.
public func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { raw in
        var off = 0
        while off < raw.count {
            let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            off += n
        }
        return true
    }
}
