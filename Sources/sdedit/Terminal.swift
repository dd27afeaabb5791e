// stderr output: messages and progress never go to stdout, which may carry image bytes ("-o -").
import Foundation

enum FileHandleStderr {
    static func write(_ s: String) {
        FileHandle.standardError.write(s.data(using: .utf8) ?? Data())
    }
}
