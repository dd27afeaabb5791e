// Basic layers loaded by their PyTorch parameter names (weight, bias).
import SDCore

public struct Linear {
    public let weight: LayerWeight  // [out, in], in the store's precision
    public let bias: Tensor?

    public init(_ w: Weights, _ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) throws {
        weight = try w.gemm("weight", [outFeatures, inFeatures])
        self.bias = bias ? try w("bias", [outFeatures]) : nil
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight: weight, bias: bias) }
}

public struct Conv2d {
    public let weight: LayerWeight  // [out, in, k, k], in the store's precision
    public let bias: Tensor?
    public let stride: Int
    public let padding: Padding2D

    public init(_ w: Weights, _ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1,
                padding: Int = 0, bias: Bool = true) throws {
        weight = try w.gemm("weight", [outChannels, inChannels, kernel, kernel])
        self.bias = bias ? try w("bias", [outChannels]) : nil
        self.stride = stride
        self.padding = .symmetric(padding)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.conv2d(weight: weight, bias: bias, stride: stride, padding: padding)
    }

    /// relu(conv(x) + residual) (either part optional), fused into the conv where it can be.
    public func callAsFunction(_ x: Tensor, residual: Tensor?, relu: Bool) -> Tensor {
        x.conv2d(weight: weight, bias: bias, stride: stride, padding: padding, residual: residual, relu: relu)
    }
}

public struct GroupNorm {
    public let weight: Tensor, bias: Tensor
    public let groups: Int
    public let eps: Float

    public init(_ w: Weights, groups: Int, channels: Int, eps: Float) throws {
        guard groups > 0, channels % groups == 0 else {
            throw SDError.badFile(path: w.store.name + "/config.json", message: "norm_num_groups \(groups) does not divide "
                                  + "the \(channels) channels of \(w.prefix.dropLast())")
        }
        weight = try w("weight", [channels])
        bias = try w("bias", [channels])
        self.groups = groups
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor, silu: Bool = false) -> Tensor {
        x.groupNorm(groups: groups, weight: weight, bias: bias, eps: eps, silu: silu)
    }
}

public struct LayerNorm {
    public let weight: Tensor, bias: Tensor
    public let eps: Float

    public init(_ w: Weights, _ dim: Int, eps: Float) throws {
        weight = try w("weight", [dim])
        bias = try w("bias", [dim])
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: eps) }
}
