// Scratch-memory budgets of the blocked kernels. Tests shrink them to drive the banded/chunked
// paths on small inputs; the CLI never changes them.
public enum Tuning {
    /// im2col scratch per band, in floats (default 32 MiB).
    nonisolated(unsafe) public static var im2colFloats = 8 << 20
    /// Attention score block per thread (queries × keys), in floats (default 4 MiB: 256 queries × 4096 keys).
    nonisolated(unsafe) public static var attentionScoreFloats = 1 << 20
}
