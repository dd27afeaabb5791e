// Errors as values with messages a user can act on: the file, the key, what was expected and found.

public enum SDError: Error, CustomStringConvertible, Equatable {
    /// An input could not be read (missing, a directory, no permission, not a regular file).
    case io(path: String, message: String)
    /// An output could not be written (no such directory, permission, disk full, closed stdout).
    case ioWrite(path: String, message: String)
    /// A file was read but its content is malformed or hostile (truncated, lying header).
    case badFile(path: String, message: String)
    /// Valid input that this program cannot use (wrong shape, unsupported variant, bad argument).
    case invalidInput(String)
    /// A model folder, file or key that is required but absent.
    case missingModel(String)
    /// A model computed NaN or Inf from valid inputs (its weights or config are degenerate).
    case nonFinite(String)

    public var description: String {
        switch self {
        case let .io(path, message), let .ioWrite(path, message): return "\(path): \(message)"
        case let .badFile(path, message): return "\(path): \(message)"
        case let .invalidInput(message): return message
        case let .missingModel(message): return message
        case let .nonFinite(message): return message
        }
    }
}
