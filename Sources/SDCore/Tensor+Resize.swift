// Resize op family matching torch.nn.functional.interpolate on NCHW float tensors:
// nearest (legacy "nearest"), bilinear (align_corners true/false) and bicubic (A = −0.75).
// Index arithmetic follows ATen/native/UpSample.h (area_pixel_compute_scale,
// area_pixel_compute_source_index, nearest_idx), computed in Float as ATen does for float input.
import Foundation

public enum InterpolationMode: String, CaseIterable { case nearest, bilinear, bicubic }

extension Tensor {
    /// F.interpolate(x, size=(outH, outW), mode=…, align_corners=…) for x [N, C, H, W].
    public func interpolated(height oh: Int, width ow: Int, mode: InterpolationMode,
                             alignCorners: Bool = false) -> Tensor {
        OpProfile.measure("interpolate") { () -> Tensor in
            precondition(rank == 4, "interpolate expects NCHW, got \(shape)")
            let n = shape[0], c = shape[1], h = shape[2], w = shape[3]
            let planes = n * c
            switch mode {
            case .nearest:
                let ys = (0..<oh).map { nearestIndex($0, inSize: h, outSize: oh) }
                let xs = (0..<ow).map { nearestIndex($0, inSize: w, outSize: ow) }
                return Tensor(shape: [n, c, oh, ow]) { o in
                    self.withUnsafeBufferPointer { p in
                        parallelFor(planes) { pl in
                            let src = p.baseAddress! + pl * h * w, dst = o.baseAddress! + pl * oh * ow
                            for y in 0..<oh { for x in 0..<ow { dst[y * ow + x] = src[ys[y] * w + xs[x]] } }
                        }
                    }
                }
            case .bilinear:
                let ty = linearTaps(inSize: h, outSize: oh, alignCorners: alignCorners)
                let tx = linearTaps(inSize: w, outSize: ow, alignCorners: alignCorners)
                return Tensor(shape: [n, c, oh, ow]) { o in
                    self.withUnsafeBufferPointer { p in
                        parallelFor(planes) { pl in
                            let src = p.baseAddress! + pl * h * w, dst = o.baseAddress! + pl * oh * ow
                            for y in 0..<oh {
                                let (y0, y1, ly) = ty[y]
                                let hy = 1 - ly
                                for x in 0..<ow {
                                    let (x0, x1, lx) = tx[x]
                                    let hx = 1 - lx
                                    // Same association as ATen's upsample_bilinear2d kernel.
                                    dst[y * ow + x] = hy * (hx * src[y0 * w + x0] + lx * src[y0 * w + x1])
                                        + ly * (hx * src[y1 * w + x0] + lx * src[y1 * w + x1])
                                }
                            }
                        }
                    }
                }
            case .bicubic:
                let ty = cubicTaps(inSize: h, outSize: oh, alignCorners: alignCorners)
                let tx = cubicTaps(inSize: w, outSize: ow, alignCorners: alignCorners)
                return Tensor(shape: [n, c, oh, ow]) { o in
                    self.withUnsafeBufferPointer { p in
                        parallelFor(planes) { pl in
                            let src = p.baseAddress! + pl * h * w, dst = o.baseAddress! + pl * oh * ow
                            for y in 0..<oh {
                                let (iy, wy) = ty[y]
                                for x in 0..<ow {
                                    let (ix, wx) = tx[x]
                                    @inline(__always) func row(_ k: Int) -> Float {
                                        let r = src + iy[k] * w
                                        return r[ix[0]] * wx[0] + r[ix[1]] * wx[1] + r[ix[2]] * wx[2] + r[ix[3]] * wx[3]
                                    }
                                    dst[y * ow + x] = row(0) * wy[0] + row(1) * wy[1] + row(2) * wy[2] + row(3) * wy[3]
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// ATen area_pixel_compute_scale for an explicit output size (no scale_factor given).
func pixelScale(inSize: Int, outSize: Int, alignCorners: Bool) -> Float {
    if alignCorners { return outSize > 1 ? Float(inSize - 1) / Float(outSize - 1) : 0 }
    return outSize > 0 ? Float(inSize) / Float(outSize) : 0
}

/// ATen nearest_idx (mode="nearest": floor, not rounding).
func nearestIndex(_ dst: Int, inSize: Int, outSize: Int) -> Int {
    if outSize == inSize { return dst }
    if outSize == 2 * inSize { return dst >> 1 }
    let scale = Float(inSize) / Float(outSize)
    return Swift.min(Int((Float(dst) * scale).rounded(.down)), inSize - 1)
}

func linearTaps(inSize: Int, outSize: Int, alignCorners: Bool) -> [(Int, Int, Float)] {
    let scale = pixelScale(inSize: inSize, outSize: outSize, alignCorners: alignCorners)
    return (0..<outSize).map { d in
        var src = alignCorners ? scale * Float(d) : scale * (Float(d) + 0.5) - 0.5
        if src < 0 { src = 0 }
        let i0 = Swift.min(Int(src), inSize - 1)
        let i1 = i0 + (i0 < inSize - 1 ? 1 : 0)
        let l = src - Float(i0)
        return (i0, i1, l)
    }
}

/// Bicubic taps with ATen's cubic convolution (A = −0.75) and clamped border access.
func cubicTaps(inSize: Int, outSize: Int, alignCorners: Bool) -> [([Int], [Float])] {
    let scale = pixelScale(inSize: inSize, outSize: outSize, alignCorners: alignCorners)
    let a: Float = -0.75
    func c1(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
    func c2(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
    return (0..<outSize).map { d in
        let src = alignCorners ? scale * Float(d) : scale * (Float(d) + 0.5) - 0.5
        let fl = src.rounded(.down)
        let i = Int(fl)
        let t = src - fl
        let wts = [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)]
        let idx = (-1...2).map { Swift.min(Swift.max(i + $0, 0), inSize - 1) }
        return (idx, wts)
    }
}
