// Reading an input file whole, bounded: one place for images, configs and tokenizer files.
import Foundation

public enum FileInput {
    /// Bytes of `path`, or of stdin for "-", at most `limit` of them: a bigger regular file is
    /// refused from its size before any byte is read, a pipe or FIFO once it passes the limit. Read
    /// with read(2): FileHandle traps on a closed stdin. `regularOnly` (model files): a FIFO, device
    /// or socket is refused before anything can block on it, and a missing file is nil.
    public static func read(_ path: String, limit: Int = Int.max, regularOnly: Bool = false, limitNote: String = "") throws -> [UInt8] {
        guard let bytes = try readIfPresent(path, limit: limit, regularOnly: regularOnly, limitNote: limitNote) else {
            throw SDError.io(path: path, message: "no such file")
        }
        return bytes
    }

    /// As `read`, but nil when the file does not exist.
    /// `limitNote` is added to a too-large message (what the limit is for).
    public static func readIfPresent(_ path: String, limit: Int = Int.max, regularOnly: Bool = false,
                                     limitNote: String = "") throws -> [UInt8]? {
        let name = path == "-" ? "<stdin>" : path
        func ioError(_ what: String) -> SDError { .io(path: name, message: "\(what): \(String(cString: strerror(errno)))") }
        let fd = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC | (regularOnly ? O_NONBLOCK : 0))
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw ioError("cannot open")
        }
        defer { if path != "-" { close(fd) } }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ioError("cannot read") }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: throw SDError.io(path: name, message: "is a directory")
        case S_IFREG where Int(st.st_size) > limit:
            throw SDError.badFile(path: name, message: "file is \(st.st_size) bytes, more than the \(limit) allowed\(limitNote)")
        case S_IFREG: break
        default:
            if regularOnly {
                throw SDError.badFile(path: name, message: "not a regular file (a FIFO, device or socket)")
            }
        }
        var bytes: [UInt8] = []
        if (st.st_mode & S_IFMT) == S_IFREG { bytes.reserveCapacity(Int(st.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw ioError("cannot read") }
            if n == 0 { break }
            guard bytes.count + n <= limit else {
                throw SDError.badFile(path: name, message: "more than the \(limit) bytes allowed\(limitNote)")
            }
            bytes += chunk[0..<n]
        }
        return bytes
    }

    /// Model metadata files (config.json, vocab.json, merges.txt, …) are small; 64 MiB bounds them.
    public static let metadataLimit = 64 << 20
}
