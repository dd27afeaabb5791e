// Convolution op family: conv2d as im2col + GEMM (PyTorch OIHW weights, no transpose), in fp32
// (sgemm) or bf16 (weights stored bf16, input rounded to bf16, fp32 accumulation: BF16GEMM).
// - 1×1, stride 1, no padding: one GEMM per image, no im2col.
// - small feature maps (≤ 32² outputs): the batch is folded into GEMM's N, so 8×8 levels run one
//   [O, K]×[K, B·64] GEMM instead of B skinny ones.
// - large maps: im2col in bands of output rows, so the scratch stays bounded (VAE 512² at 128
//   channels would need 1.2 GB for a full im2col).
// - 3×3 stride-1 convs with padding 1 on maps where it pays: Winograd F(4×4, 3×3)
//   (Tensor+Winograd.swift), the filter transformed once and kept with the layer.
// Every GEMM is split into tiles fixed by the shape (BLAS.parallelSgemm, or the bands below), so the
// result does not depend on the thread count.

public struct Padding2D: Equatable {
    public var top: Int, bottom: Int, left: Int, right: Int
    public init(top: Int, bottom: Int, left: Int, right: Int) {
        self.top = top; self.bottom = bottom; self.left = left; self.right = right
    }
    public static func symmetric(_ p: Int) -> Padding2D { Padding2D(top: p, bottom: p, left: p, right: p) }
}

import CKernels

extension Tensor {
    /// F.conv2d. x [N, C, H, W], weight [O, C/groups, kh, kw], bias [O].
    public func conv2d(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Padding2D = .symmetric(0),
                       groups: Int = 1) -> Tensor {
        conv2d(weight: LayerWeight(weight), bias: bias, stride: stride, padding: padding, groups: groups)
    }

    /// "C→O kh×kw sS @HxW bN" and the conv's FLOPs, for SDEDIT_PROFILE=shapes.
    static func convProfileShape(_ x: [Int], _ w: [Int], _ stride: Int, _ groups: Int) -> (String, Double) {
        let oh = x[2] / stride, ow = x[3] / stride
        return ("\(x[1])→\(w[0]) \(w[2])×\(w[3]) s\(stride) @\(x[2])x\(x[3]) b\(x[0])",
                2 * Double(x[0] * w[0] * oh * ow) * Double(w[1] * w[2] * w[3]))
    }

    /// F.conv2d with the weight in its stored precision.
    public func conv2d(weight: LayerWeight, bias: Tensor?, stride: Int = 1, padding: Padding2D = .symmetric(0),
                       groups: Int = 1) -> Tensor {
        conv2d(weight: weight, bias: bias, stride: stride, padding: padding, groups: groups, residual: nil, relu: false)
    }

    /// F.conv2d, then `+ residual` and ReLU where asked: in the Winograd output transform when the conv
    /// takes that path, else as the separate ops (the same bits either way).
    public func conv2d(weight: LayerWeight, bias: Tensor?, stride: Int = 1, padding: Padding2D = .symmetric(0),
                       groups: Int = 1, residual: Tensor?, relu: Bool) -> Tensor {
        var fused = false
        var y = OpProfile.measure("conv2d", shape: Tensor.convProfileShape(shape, weight.shape, stride, groups)) {
            switch weight.storage {
            case .fp32, .mapped:
                if Winograd.chosen(x: shape, weight: weight.shape, stride: stride, padding: padding, groups: groups),
                   let f = Winograd.filter(for: weight, x: shape) {
                    fused = true
                    return conv2dWinograd(filter: f, bias: bias, residual: residual, relu: relu)
                }
                return weight.withFloats {
                    conv2dImpl(x: storage, weight: $0.baseAddress!, wShape: weight.shape, bias: bias, stride: stride, padding: padding, groups: groups)
                }!
            case .bf16(let wt):
                return wt.storage.withUnsafeBufferPointer {
                    conv2dImpl(x: bf16Bits(), weight: $0.baseAddress!, wShape: wt.shape, bias: bias, stride: stride, padding: padding, groups: groups)
                }
            case .bf16Packed(let p) where groups == 1:
                return conv2dPacked(weight: p, bias: bias, stride: stride, padding: padding)
            case .bf16Packed(let p):
                return p.plain.storage.withUnsafeBufferPointer {
                    conv2dImpl(x: bf16Bits(), weight: $0.baseAddress!, wShape: p.shape, bias: bias, stride: stride, padding: padding, groups: groups)
                }
            }
        }
        if fused { return y }
        if let r = residual { y.add(r) }
        return relu ? y.relu() : y
    }

    // x: self's shape [N, C, H, W] with values as T; weight: [O, C/groups, kh, kw] as T
    func conv2dImpl<T: GemmOperand>(x xs: [T], weight wt: UnsafePointer<T>, wShape: [Int], bias: Tensor?, stride: Int,
                                    padding: Padding2D, groups: Int) -> Tensor {
        precondition(rank == 4 && wShape.count == 4, "conv2d: input \(shape), weight \(wShape)")
        let n = shape[0], c = shape[1], h = shape[2], w = shape[3]
        let o = wShape[0], cg = wShape[1], kh = wShape[2], kw = wShape[3]
        precondition(c == cg * groups && o % groups == 0, "conv2d: input \(shape), weight \(wShape), groups \(groups)")
        let oh = (h + padding.top + padding.bottom - kh) / stride + 1
        let ow = (w + padding.left + padding.right - kw) / stride + 1
        precondition(oh > 0 && ow > 0, "conv2d: output would be empty for input \(shape)")
        let og = o / groups
        let kdim = cg * kh * kw
        let plane = oh * ow
        let pointwise = kh == 1 && kw == 1 && stride == 1 && padding == .symmetric(0)

        var out = Tensor(shape: [n, o, oh, ow]) { ob in
            // Bias first; every GEMM below accumulates with beta = 1.
            bias?.withUnsafeBufferPointer { pb in
                for b in 0..<n { for ch in 0..<o {
                    (ob.baseAddress! + (b * o + ch) * plane).update(repeating: pb[ch], count: plane)
                } }
            }
            if bias == nil { ob.baseAddress!.update(repeating: 0, count: ob.count) }
        }
        out.withUnsafeMutableBufferPointer { ob in
            xs.withUnsafeBufferPointer { px in
                let x = px.baseAddress!, y = ob.baseAddress!
                if pointwise {
                    // [O/g, C/g] × [C/g, HW] per image and group.
                    for b in 0..<n { for g in 0..<groups {
                        T.gemm(parallel: true, transB: false, m: og, n: plane, k: cg, a: wt + g * og * cg, lda: cg,
                               b: x + (b * c + g * cg) * h * w, ldb: plane, beta: 1,
                               c: y + (b * o + g * og) * plane, ldc: plane)
                    } }
                    return
                }
                let geo = ConvGeometry(c: cg, h: h, w: w, kh: kh, kw: kw, stride: stride, pad: padding, oh: oh, ow: ow)
                if plane <= 1024 && n > 1 {
                    // Fold batch into N: col [K, n·plane], GEMM into tmp [O/g, n·plane], scatter.
                    let cols = n * plane
                    let col = UnsafeMutablePointer<T>.allocate(capacity: kdim * cols)
                    let tmp = UnsafeMutablePointer<Float>.allocate(capacity: og * cols)
                    defer { col.deallocate(); tmp.deallocate() }
                    for g in 0..<groups {
                        for b in 0..<n {
                            im2col(geo, src: x + (b * c + g * cg) * h * w, rows: 0..<oh,
                                   dst: col + b * plane, ldd: cols)
                        }
                        T.gemm(parallel: true, transB: false, m: og, n: cols, k: kdim, a: wt + g * og * kdim, lda: kdim,
                               b: col, ldb: cols, beta: 0, c: tmp, ldc: cols)
                        for b in 0..<n {
                            for ch in 0..<og {
                                let dst = y + (b * o + g * og + ch) * plane
                                let src = tmp + ch * cols + b * plane
                                for i in 0..<plane { dst[i] += src[i] }
                            }
                        }
                    }
                    return
                }
                // Bands of output rows; each thread takes whole bands (its own im2col scratch and a
                // single-threaded sgemm into its own rows). The band height depends only on the shape
                // and the scratch budget, never on the thread count, so every output is computed the
                // same way on any --threads.
                let perBand = Swift.max(1, Tuning.im2colFloats / 2)
                let bandRows = Swift.max(1, Swift.min((oh + 3) / 4, perBand / Swift.max(1, kdim * ow)))
                let bandsPerImage = (oh + bandRows - 1) / bandRows
                let jobs = n * groups * bandsPerImage
                parallelChunks(jobs) { range in
                    let col = UnsafeMutablePointer<T>.allocate(capacity: kdim * bandRows * ow)
                    defer { col.deallocate() }
                    for job in range {
                        let band = job % bandsPerImage, g = (job / bandsPerImage) % groups, b = job / (bandsPerImage * groups)
                        let r0 = band * bandRows, r1 = Swift.min(oh, r0 + bandRows)
                        let cols = (r1 - r0) * ow
                        im2col(geo, src: x + (b * c + g * cg) * h * w, rows: r0..<r1, dst: col, ldd: cols, parallel: false)
                        T.gemm(parallel: false, transB: false, m: og, n: cols, k: kdim, a: wt + g * og * kdim, lda: kdim,
                               b: col, ldb: cols, beta: 1,
                               c: y + (b * o + g * og) * plane + r0 * ow, ldc: plane)
                    }
                }
            }
        }
        return out
    }
}

extension Tensor {
    /// bf16 conv on a packed weight as a GEMM over output pixels: NHWC bf16 copy of the input, then
    /// per band of output rows the taps of each pixel as one row (CKernels/conv_bf16.c), rows · Wᵀ on
    /// oneDNN's packed layout, added transposed into the NCHW output. Bands are fixed by the shape
    /// (≥ 4 per image, ≥ 256 pixels where the image has them), so results do not depend on --threads.
    // x: self [N, C, H, W] fp32; weight: [O, C, kh, kw] packed → [N, O, OH, OW]
    func conv2dPacked(weight p: PackedBF16Weight, bias: Tensor?, stride: Int, padding: Padding2D) -> Tensor {
        precondition(rank == 4 && p.shape.count == 4 && p.shape[1] == shape[1], "conv2d: input \(shape), weight \(p.shape)")
        let n = shape[0], c = shape[1], h = shape[2], w = shape[3]
        let o = p.shape[0], kh = p.shape[2], kw = p.shape[3]
        let oh = (h + padding.top + padding.bottom - kh) / stride + 1
        let ow = (w + padding.left + padding.right - kw) / stride + 1
        precondition(oh > 0 && ow > 0, "conv2d: output would be empty for input \(shape)")
        let plane = oh * ow, k = p.k
        let pointwise = kh == 1 && kw == 1 && stride == 1 && padding == .symmetric(0)
        // NHWC bf16 copy, in blocks of pixels of each image.
        let block = 4096, blocks = (h * w + block - 1) / block
        let nhwc = [UInt16](unsafeUninitializedCapacity: n * h * w * c) { dst, count in
            withUnsafeBufferPointer { src in
                parallelFor(n * blocks) { job in
                    let b = job / blocks, p0 = (job % blocks) * block
                    sd_nchw_to_nhwc_bf16(src.baseAddress! + b * c * h * w, dst.baseAddress! + b * h * w * c, c, h * w,
                                         p0, Swift.min(h * w, p0 + block))
                }
            }
            count = n * h * w * c
        }
        let budgetRows = Swift.max(1, Tuning.im2colFloats / Swift.max(1, k * ow))
        let bandRows = Swift.max(1, Swift.min(oh, budgetRows, Swift.max((oh + 3) / 4, (256 + ow - 1) / ow)))
        let bands = (oh + bandRows - 1) / bandRows
        let biasValues = bias?.storage
        // Every output element is stored once, by the band that holds it.
        return Tensor(shape: [n, o, oh, ow]) { ob in
            nhwc.withUnsafeBufferPointer { px in biasValues.withUnsafeOptionalPointer { pbias in
                parallelChunks(n * bands) { jobs in
                    let rows = pointwise ? nil : UnsafeMutablePointer<UInt16>.allocate(capacity: bandRows * ow * k)
                    let tmp = UnsafeMutablePointer<Float>.allocate(capacity: bandRows * ow * o)
                    defer { rows?.deallocate(); tmp.deallocate() }
                    for job in jobs {
                        let b = job / bands, r0 = (job % bands) * bandRows, r1 = Swift.min(oh, r0 + bandRows)
                        let image = px.baseAddress! + b * h * w * c
                        var a = UnsafePointer(image + r0 * ow * c)
                        if let rows = rows {
                            sd_im2row_bf16(image, Int32(h), Int32(w), Int32(c), Int32(kh), Int32(kw), Int32(stride),
                                           Int32(padding.top), Int32(padding.left), Int32(r0), Int32(r1), Int32(ow), rows)
                            a = UnsafePointer(rows)
                        }
                        BF16GEMM.tilePacked(m: (r1 - r0) * ow, a: a, weight: p, bias: pbias, c: tmp)
                        sd_store_transposed(tmp, (r1 - r0) * ow, o, ob.baseAddress! + b * o * plane + r0 * ow, plane)
                    }
                }
            } }
        }
    }
}

struct ConvGeometry {
    let c: Int, h: Int, w: Int, kh: Int, kw: Int, stride: Int, pad: Padding2D, oh: Int, ow: Int
}

/// im2col for output rows `rows` of one image and one group.
// src: [C, H, W] → dst: [C·kh·kw, rows.count·OW] with row stride ldd
func im2col<T: GemmOperand>(_ g: ConvGeometry, src: UnsafePointer<T>, rows: Range<Int>,
                             dst: UnsafeMutablePointer<T>, ldd: Int, parallel: Bool = true) {
    let kk = g.kh * g.kw
    let each = { (row: Int) in
        let ch = row / kk, ky = (row % kk) / g.kw, kx = row % g.kw
        let plane = src + ch * g.h * g.w
        var d = dst + row * ldd
        for oy in rows {
            let iy = oy * g.stride - g.pad.top + ky
            if iy < 0 || iy >= g.h {
                d.update(repeating: T.zero, count: g.ow)
                d += g.ow
                continue
            }
            let line = plane + iy * g.w
            if g.stride == 1 {
                // Valid ox range where 0 <= ox - padLeft + kx < W.
                let lo = Swift.max(0, g.pad.left - kx), hi = Swift.min(g.ow, g.w + g.pad.left - kx)
                if lo > 0 { d.update(repeating: T.zero, count: lo) }
                if hi > lo { (d + lo).update(from: line + (lo - g.pad.left + kx), count: hi - lo) }
                if hi < g.ow { (d + Swift.max(hi, lo)).update(repeating: T.zero, count: g.ow - Swift.max(hi, lo)) }
            } else {
                // Valid ox range where 0 <= ox·stride - padLeft + kx < W, then a strided copy.
                let s = g.stride, a = g.pad.left - kx, last = g.w - 1 + g.pad.left - kx
                let lo = Swift.min(g.ow, a > 0 ? (a + s - 1) / s : 0)
                let hi = Swift.max(lo, last >= 0 ? Swift.min(g.ow, last / s + 1) : 0)
                if lo > 0 { d.update(repeating: T.zero, count: lo) }
                var from = line + (lo * s - a)
                for ox in lo..<hi {
                    d[ox] = from.pointee
                    from += s
                }
                if hi < g.ow { (d + hi).update(repeating: T.zero, count: g.ow - hi) }
            }
            d += g.ow
        }
    }
    if parallel { parallelFor(g.c * kk, minChunk: 4, each) } else { for row in 0..<(g.c * kk) { each(row) } }
}

extension Optional where Wrapped == [Float] {
    /// body(pointer to the values, or nil when there are none).
    func withUnsafeOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let a): return a.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: return body(nil)
        }
    }
}
