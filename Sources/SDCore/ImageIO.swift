// Image file IO: read with a size limit and EXIF orientation, atomic writes, "-" for stdin/stdout.
import CSDSystem
import Foundation

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
        let tmp = cText(template)
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
