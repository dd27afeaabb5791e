// Scratch-memory budget of the banded im2col, from the kernel plan (KernelPlan.im2colFloats).
// Tests shrink it to drive the banded path on small inputs; the CLI never changes it. (Attention
// blocks are fixed: CKernels/kernels_params.h.)
public enum Tuning {
    /// im2col scratch budget, in floats (default 32 MiB); one band holds at most half of it.
    public static var im2colFloats: Int { Backend.plan.im2colFloats }
}
