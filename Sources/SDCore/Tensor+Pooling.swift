// Pooling op family: avg_pool2d (count_include_pad=True, PyTorch's default) and max_pool2d
// (padding acts as −∞), NCHW.

extension Tensor {
    public func avgPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        pool2d(kernel: kernel, stride: stride ?? kernel, padding: padding, isMax: false)
    }

    public func maxPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        pool2d(kernel: kernel, stride: stride ?? kernel, padding: padding, isMax: true)
    }

    func pool2d(kernel: Int, stride: Int, padding: Int, isMax: Bool) -> Tensor {
        precondition(rank == 4, "pool2d expects NCHW, got \(shape)")
        let n = shape[0], c = shape[1], h = shape[2], w = shape[3]
        let oh = (h + 2 * padding - kernel) / stride + 1, ow = (w + 2 * padding - kernel) / stride + 1
        return Tensor(shape: [n, c, oh, ow]) { o in
            self.withUnsafeBufferPointer { p in
                parallelFor(n * c) { pl in
                    let src = p.baseAddress! + pl * h * w, dst = o.baseAddress! + pl * oh * ow
                    for oy in 0..<oh { for ox in 0..<ow {
                        var acc: Float = isMax ? -.infinity : 0
                        for ky in 0..<kernel {
                            let iy = oy * stride - padding + ky
                            if iy < 0 || iy >= h { continue }
                            for kx in 0..<kernel {
                                let ix = ox * stride - padding + kx
                                if ix < 0 || ix >= w { continue }
                                let v = src[iy * w + ix]
                                acc = isMax ? Swift.max(acc, v) : acc + v
                            }
                        }
                        dst[oy * ow + ox] = isMax ? acc : acc / Float(kernel * kernel)
                    }}
                }
            }
        }
    }
}
